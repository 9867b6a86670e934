"""Resynthesis quality of a codec (encode -> decode) or a vocoder (mel -> waveform).

This is the ceiling every acoustic model built on the codec or vocoder lives under:
a model can at best reproduce the codes or mels of real speech. For each utterance:

* ``mel_l1``: mean absolute difference of Vocos log-mels (24 kHz, 100 bins) between
  the original and the resynthesis;
* WER of the resynthesis and of the original (Whisper), DNSMOS of both, SIM of the
  resynthesis vs the original (does the voice survive?);
* encode and decode real-time factors on the device used.

With ``codebooks=k`` a codec decodes only the first ``k`` of its residual codebooks:
how much of the speech (the words: WER; the voice: SIM) the coarse codebooks carry,
which is what a codec language model's first stage (VALL-E's AR, MaskGCT's T2S when
its "semantic" stream is codebook 1) has to work with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..audio import save
from ..data.manifests import speaker_of
from ..mel import MelFeatures
from .cases import save_cut_audio, spread_over_speakers
from .manifest import EvalItem, write_manifest
from .report import Evaluator
from .zero_shot import prepare_out_dir


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def run_resynthesis(cuts, out_dir: str | os.PathLike, codec=None, vocoder=None, evaluator=None,
                    limit: int | None = None, overwrite: bool = False,
                    progress: Callable[[str, int, int], None] | None = None, codebooks: int | None = None):
    """Resynthesize up to ``limit`` cuts with ``codec`` or ``vocoder`` and evaluate them.

    ``codebooks``: decode only the codec's first ``codebooks`` codebooks (None: all).

    Returns:
        An :class:`EvalReport` whose rows also hold ``mel_l1``, ``encode_rtf``,
        ``decode_rtf`` and ``dnsmos_ovrl_ref`` (DNSMOS of the original), and whose
        summary holds their means.
    """
    if (codec is None) == (vocoder is None):
        raise ValueError("Give exactly one of codec= or vocoder=.")
    model = codec or vocoder
    if codebooks is not None and (codec is None or not 1 <= codebooks <= codec.n_codebooks):
        raise ValueError(f"codebooks= takes 1..{getattr(codec, 'n_codebooks', 0)} with a codec, got {codebooks}")
    out = prepare_out_dir(out_dir, overwrite)
    for sub in ("reference", "audio"):
        (out / sub).mkdir(exist_ok=True)
    evaluator = evaluator or Evaluator()
    mel = MelFeatures()
    cuts = sorted(cuts, key=lambda c: c.id)
    if limit is not None and limit < len(cuts):
        cuts = sorted(spread_over_speakers(cuts, limit, key=lambda c: speaker_of(c, "")), key=lambda c: c.id)
    items, extra = [], {}
    for k, cut in enumerate(cuts):
        ref = save_cut_audio(cut, out / "reference" / f"{cut.id}.wav", model.sample_rate)
        wav = torch.from_numpy(cut.resample(model.sample_rate).load_audio()[0])[None]
        with torch.inference_mode():
            t0 = time.perf_counter()
            hidden = codec.encode(wav) if codec is not None else vocoder.mel(wav)
            if codebooks is not None:
                hidden = hidden[:, :codebooks]
            t1 = time.perf_counter()
            recon = (codec.decode(hidden) if codec is not None else vocoder.decode(hidden))[0].float().cpu()
            t2 = time.perf_counter()
        seconds = wav.shape[-1] / model.sample_rate
        n = min(recon.numel(), wav.shape[-1])
        a, b = mel(wav[:, :n].float()), mel(recon[None, :n])
        path = Path(out / "audio" / f"{cut.id}.wav")
        save(path, recon, model.sample_rate, overwrite=True)
        text = " ".join(s.text or "" for s in cut.supervisions).strip()
        items.append(EvalItem(cut.id, audio=str(path), text=text, prompt=ref, reference=ref, rtf=(t2 - t0) / seconds))
        extra[cut.id] = {"mel_l1": float((a - b).abs().mean()), "encode_rtf": (t1 - t0) / seconds,
                         "decode_rtf": (t2 - t1) / seconds}
        if progress:
            progress("resynthesize", k + 1, len(cuts))
    write_manifest(items, out / "manifest.jsonl")
    report = evaluator.evaluate(items, progress=(lambda d, t, _i: progress("evaluate", d, t)) if progress else None)
    for row in report.rows:
        row.update(extra[row["id"]])
        # The original is both the prompt and the reference here, so "SIM of ground truth"
        # would be the original against itself (1.0): not a measurement, leave it out.
        row["sim_ref"] = None
        if evaluator.dnsmos is not None:
            row["dnsmos_ovrl_ref"] = evaluator.dnsmos.score(row["reference"]).ovrl
    report.summary["sim_ref"] = None
    for key in ("mel_l1", "encode_rtf", "decode_rtf", "dnsmos_ovrl_ref"):
        report.summary[key] = _mean(report.rows, key)
    report.summary["model"] = str(getattr(model, "path", None) or type(model).__name__)
    if codec is not None:
        report.summary["codebooks"] = codebooks or codec.n_codebooks
    report.write(out, items)
    return report
