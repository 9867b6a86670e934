"""Evaluate generated utterances: per-item rows and a summary.

Example::

    from tts.eval import Evaluator, load_manifest

    items = load_manifest("runs/tiny-flow/manifest.jsonl")
    report = Evaluator().evaluate(items)           # Whisper-base, Resemblyzer, DNSMOS
    report.summary["wer"], report.summary["sim"]
    report.write("runs/tiny-flow/eval", items)     # report.json, report.md, PNG plots

Each row holds, for one item: the transcript and WER of the generated audio,
SIM of generated vs prompt, DNSMOS of the generated audio, and, when the item has
a ground-truth ``reference``, that recording's transcript, WER and SIM vs the
same prompt (so "how far from the real speaker" is visible next to "how far
from the prompt"). The summary has the corpus WER (all errors over all words,
the number papers report) beside the mean of per-item WERs, and means of the rest.
"""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Sequence

from ..errors import TTSError
from .asr import WhisperASR
from .errors import EvalError
from .inputs import EVAL_SAMPLE_RATE, describe, is_path, to_mono_numpy
from .intelligibility import missed_by_position, wer
from .manifest import EvalItem
from .quality import DNSMOS
from .similarity import SpeakerSimilarity, cosine_similarity
from .writers import EvalReport

# Row columns that are averaged in the summary (None values are skipped).
MEAN_COLUMNS = ("sim", "sim_ref", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808", "rtf")


def _mean(values: list[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def _std(values: list[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    if len(vals) < 2:
        return None
    m = sum(vals) / len(vals)
    return math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))


def summarize(rows: Sequence[dict[str, Any]], language: str | None = "en") -> dict[str, Any]:
    """Summary of evaluation rows: corpus WERs and means.

    Args:
        rows: rows as made by :meth:`Evaluator.evaluate`.
        language: selects the WER text normalizer.

    Returns:
        ``{"items", "references", "audio_seconds", "wer", "wer_mean", "ref_wer",
        "ref_wer_mean", "missed_by_quarter", "ref_missed_by_quarter", "sim", "sim_std",
        "sim_ref", "dnsmos_*", "rtf"}``; a metric that was not computed is ``None``.
        ``missed_by_quarter`` is :func:`~tts.eval.intelligibility.missed_by_position` in
        four slices (the reference words Whisper did not hear, by place in the sentence).
    """
    summary: dict[str, Any] = {
        "items": len(rows),
        "references": sum(1 for r in rows if r.get("reference_transcript") is not None),
        "audio_seconds": sum(r.get("duration") or 0.0 for r in rows),
    }
    for prefix, text_key, hyp_key in (("", "text", "transcript"), ("ref_", "text", "reference_transcript")):
        scored = [r for r in rows if r.get(hyp_key) is not None]
        if scored:
            scores = wer([r[text_key] for r in scored], [r[hyp_key] for r in scored], language=language)
            summary[f"{prefix}wer"], summary[f"{prefix}wer_mean"] = scores.wer, scores.mean_item_wer
            summary[f"{prefix}missed_by_quarter"] = missed_by_position(
                [r[text_key] for r in scored], [r[hyp_key] for r in scored], 4, language=language)
        else:
            summary[f"{prefix}wer"] = summary[f"{prefix}wer_mean"] = None
            summary[f"{prefix}missed_by_quarter"] = None
    for col in MEAN_COLUMNS:
        summary[col] = _mean([r.get(col) for r in rows])
    summary["sim_std"] = _std([r.get("sim") for r in rows])
    return summary


class Evaluator:
    """Computes WER, SIM and DNSMOS for evaluation items; models load on first use.

    Args:
        asr: ``None`` for the packaged Whisper-base, a model name or folder for
            :class:`~tts.eval.asr.WhisperASR`, a ready ``WhisperASR``, or ``False``
            to skip WER.
        speaker: ``"resemblyzer"`` (default), ``"ecapa"``, ``"wavlm"``, a ready
            :class:`~tts.eval.similarity.SpeakerSimilarity`, or ``False`` to skip SIM.
        speaker_path: the local model folder for ``"ecapa"`` / ``"wavlm"``.
        dnsmos: ``True``, a ready :class:`~tts.eval.quality.DNSMOS`, or ``False``.
        language: language of the texts (Whisper decoding and WER normalization).
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"`` for the ASR and speaker models.
    """

    def __init__(
        self,
        *,
        asr: Any = None,
        speaker: Any = "resemblyzer",
        speaker_path: str | os.PathLike | None = None,
        dnsmos: Any = True,
        language: str = "en",
        device: str = "auto",
    ) -> None:
        self._asr_arg, self._speaker_arg, self._dnsmos_arg = asr, speaker, dnsmos
        self.speaker_path = speaker_path
        self.language = language
        self.device = device
        self._asr = self._speaker = self._dnsmos = None

    @property
    def asr(self):
        """The ``WhisperASR`` (created on first use), or ``None`` when WER is off."""
        if self._asr is None and self._asr_arg is not False:
            arg = self._asr_arg
            # Anything with .transcribe(wav, sample_rate) -> str will do (duck typing
            # lets a caller plug in another recognizer, and tests a stub).
            self._asr = (
                arg if hasattr(arg, "transcribe") else WhisperASR(arg, device=self.device, language=self.language)
            )
        return self._asr

    @property
    def speaker(self):
        """The ``SpeakerSimilarity`` (created on first use), or ``None`` when SIM is off."""
        if self._speaker is None and self._speaker_arg not in (False, None):
            arg = self._speaker_arg
            # A SpeakerSimilarity-like object (.embed, .name) is used as is.
            self._speaker = arg if hasattr(arg, "embed") else SpeakerSimilarity(arg, self.speaker_path, self.device)
        return self._speaker

    @property
    def dnsmos(self):
        """The ``DNSMOS`` predictor (created on first use), or ``None`` when off."""
        if self._dnsmos is None and self._dnsmos_arg not in (False, None):
            self._dnsmos = self._dnsmos_arg if hasattr(self._dnsmos_arg, "score") else DNSMOS()
        return self._dnsmos

    def config(self) -> dict[str, Any]:
        """The models and options in use (loads them if not loaded yet)."""
        asr, speaker, mos = self.asr, self.speaker, self.dnsmos
        asr_info = None
        if asr is not None:
            asr_info = {
                "model": getattr(asr, "model_name", type(asr).__name__),
                "path": str(getattr(asr, "model_path", "")) or None,
                "device": getattr(asr, "device", None),
                "compute_type": getattr(asr, "compute_type", None),
            }
        return {
            "language": self.language,
            "asr": asr_info,
            "speaker_encoder": None if speaker is None else getattr(speaker, "name", type(speaker).__name__),
            "dnsmos": None if mos is None else ("personalized" if getattr(mos, "personalized", False) else "p835"),
            "sample_rate": EVAL_SAMPLE_RATE,
        }

    def evaluate_item(self, item: EvalItem) -> dict[str, Any]:
        """One row (see :meth:`evaluate`); WER columns are filled by ``evaluate``.

        Raises:
            EvalError: naming the item, when one of its files or waveforms cannot be used.
        """
        try:
            return self._row(item)
        except TTSError as err:
            raise EvalError(f"Item '{item.id}': {err}") from err

    def _row(self, item: EvalItem) -> dict[str, Any]:
        sr = EVAL_SAMPLE_RATE
        gen = to_mono_numpy(item.audio, item.sample_rate, sr)
        row: dict[str, Any] = {
            "id": item.id,
            "text": item.text,
            "audio": str(item.audio) if is_path(item.audio) else describe(item.audio),
            "prompt": str(item.prompt) if is_path(item.prompt) else describe(item.prompt),
            "reference": None,
            "duration": len(gen) / sr,
            "transcript": None,
            "wer": None,
            "reference_transcript": None,
            "ref_wer": None,
            "sim": None,
            "sim_ref": None,
            "dnsmos_ovrl": None,
            "dnsmos_sig": None,
            "dnsmos_bak": None,
            "dnsmos_p808": None,
            "rtf": item.rtf,
        }
        ref = None
        if item.reference is not None:
            row["reference"] = str(item.reference) if is_path(item.reference) else describe(item.reference)
            ref = to_mono_numpy(item.reference, item.sample_rate, sr)
        if self.asr is not None:
            row["transcript"] = self.asr.transcribe(gen, sr)
            if ref is not None:
                row["reference_transcript"] = self.asr.transcribe(ref, sr)
        if self.speaker is not None:
            # The prompt goes in as given: a path is embedded once and cached.
            prompt_emb = self.speaker.embed(item.prompt, item.sample_rate)
            row["sim"] = cosine_similarity(self.speaker.embed(gen, sr), prompt_emb)
            if ref is not None:
                row["sim_ref"] = cosine_similarity(self.speaker.embed(ref, sr), prompt_emb)
        if self.dnsmos is not None:
            score = self.dnsmos.score(gen, sr)
            row.update(dnsmos_ovrl=score.ovrl, dnsmos_sig=score.sig, dnsmos_bak=score.bak, dnsmos_p808=score.p808)
        return row

    def evaluate(
        self,
        items: Sequence[EvalItem],
        progress: Callable[[int, int, str], None] | None = None,
    ) -> EvalReport:
        """Evaluate every item.

        Args:
            items: :class:`~tts.eval.manifest.EvalItem` s (e.g. from
                :func:`~tts.eval.manifest.load_manifest`).
            progress: called as ``progress(done, total, item_id)`` after each item.

        Returns:
            An :class:`EvalReport` whose rows have the columns ``id, text, audio,
            prompt, reference, duration, transcript, wer, reference_transcript,
            ref_wer, sim, sim_ref, dnsmos_ovrl, dnsmos_sig, dnsmos_bak, dnsmos_p808,
            rtf`` (``None`` where not computed).

        Raises:
            EvalError: no items, duplicate ids, or an item that cannot be evaluated.
        """
        items = list(items)
        if not items:
            raise EvalError("Nothing to evaluate: give at least one item.")
        ids = [it.id for it in items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise EvalError(f"Item ids must be unique; repeated: {', '.join(dupes[:5])}.")
        rows = []
        for n, item in enumerate(items, 1):
            if not isinstance(item, EvalItem):
                raise EvalError(f"Item #{n} is a {type(item).__name__}, not an EvalItem: build EvalItem(id=..., ...).")
            rows.append(self.evaluate_item(item))
            if progress is not None:
                progress(n, len(items), item.id)
        self._fill_wer(rows)
        return EvalReport(rows=rows, summary=summarize(rows, self.language), config=self.config())

    def _fill_wer(self, rows: list[dict[str, Any]]) -> None:
        for hyp_key, wer_key in (("transcript", "wer"), ("reference_transcript", "ref_wer")):
            scored = [r for r in rows if r[hyp_key] is not None]
            if scored:
                scores = wer([r["text"] for r in scored], [r[hyp_key] for r in scored], language=self.language)
                for r, w in zip(scored, scores.item_wers):
                    r[wer_key] = w


def evaluate(items: Sequence[EvalItem], **kwargs: Any) -> EvalReport:
    """``Evaluator(**kwargs).evaluate(items)``."""
    return Evaluator(**kwargs).evaluate(items)
