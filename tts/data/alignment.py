"""Phone alignments in the manifests: ``tts prepare align`` and reading them back.

The aligner (``aligner.PhoneAligner``, a checkpoint of family ``aligner``) gives every
symbol of a cut's boundary-wrapped phoneme sequence (``[" "] + phonemes + [" "]``)
a whole number of mel frames (Vocos 24 kHz: hop 256, 93.75 frames/s); together they
cover every frame. They are stored as lhotse alignments on the cut's supervision::

    supervision.alignment["phone"] = [AlignmentItem(symbol, start, duration), ...]   # seconds
    supervision.custom["align"] = {"score": ..., "per": ..., "aligner": ..., "frame_rate": 93.75}

and :func:`tts.data.manifests.frame_durations` turns them back into frame counts that sum
exactly to the mel length (the aligner itself is loaded by :mod:`tts.aligner`). Cuts the aligner cannot align (transcript that cannot be phonemized,
audio too short for its symbols, a path score below ``min_score``, or a recognizer
phone error rate above ``max_per``: the transcript likely does not match the audio)
are written to a skip file with the reason and counted, never silently kept.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from aligner import edit_distance, fold_stress, phone_ids, phone_table, with_boundaries

from ..aligner import load_aligner
from ..mel import MelFeatures
from .dataset import TTSDataset
from .manifests import ALIGNMENT_KEY, DataError, alignment_items, duration_batches, load_cuts
from .textgrid import TextGridError, durations_from_intervals, read_intervals


class AlignedWriter:
    """Writes ``<stem>_aligned.jsonl.gz`` and ``<stem>_align_skipped.jsonl`` for a manifest, resumably.

    Use as a context manager; :attr:`todo` lists the cuts not done by an earlier run.
    """

    def __init__(self, cuts_path: str | os.PathLike, out: str | os.PathLike | None) -> None:
        self.cuts_path = Path(cuts_path)
        out = Path(out) if out is not None else self.cuts_path.parent
        stem = self.cuts_path.name.removesuffix(".jsonl.gz").removesuffix(".jsonl")
        self.manifest, self.skip_file = out / f"{stem}_aligned.jsonl.gz", out / f"{stem}_align_skipped.jsonl"
        if self.manifest.resolve() == self.cuts_path.resolve():
            raise DataError(f"The output manifest would overwrite the input '{cuts_path}': choose another --out.")
        self.cuts = list(load_cuts(self.cuts_path))
        out.mkdir(parents=True, exist_ok=True)
        self.skipped_before = set()
        if self.skip_file.is_file():
            self.skipped_before = {json.loads(line)["id"] for line in self.skip_file.read_text(encoding="utf-8")
                                   .splitlines() if line.strip()}
        self.reasons: dict[str, int] = {}
        self.aligned = 0
        self.t0 = time.perf_counter()

    def __enter__(self) -> "AlignedWriter":
        from lhotse import CutSet

        self._writer = CutSet.open_writer(self.manifest, overwrite=False).__enter__()
        self._skips = open(self.skip_file, "a", encoding="utf-8")
        self.todo = [c for c in self.cuts if not self._writer.contains(c.id) and c.id not in self.skipped_before]
        self.done_before = len(self.cuts) - len(self.todo)
        return self

    def __exit__(self, *exc) -> None:
        self._skips.close()
        self._writer.__exit__(*exc)

    @property
    def done(self) -> int:
        return self.done_before + self.aligned + sum(self.reasons.values())

    def skip(self, cut, reason: str, kind: str) -> None:
        self.reasons[kind] = self.reasons.get(kind, 0) + 1
        self._skips.write(json.dumps({"id": cut.id, "reason": reason, "kind": kind}) + "\n")

    def write(self, cut, symbols: Sequence[str], durations: Sequence[int], frame_rate: float, meta: dict) -> None:
        """Store the alignment on the cut's (only) supervision and write the cut."""
        sup = cut.supervisions[0]
        sup.alignment = {**(sup.alignment or {}), ALIGNMENT_KEY: alignment_items(symbols, durations, frame_rate)}
        sup.custom = {**(sup.custom or {}), "align": {**meta, "frame_rate": frame_rate}}
        self._writer.write(cut)
        self.aligned += 1

    def summary(self, **extra) -> dict:
        return {"manifest": str(self.manifest), "skipped_file": str(self.skip_file), "aligned": self.aligned,
                "skipped": sum(self.reasons.values()), "skip_reasons": self.reasons,
                "already_done": self.done_before, **extra, "seconds": round(time.perf_counter() - self.t0, 1)}


def _single_supervision(cut, out: AlignedWriter) -> bool:
    if len(cut.supervisions) == 1:
        return True
    out.skip(cut, f"the cut has {len(cut.supervisions)} supervisions; align needs exactly one", "supervisions")
    return False


def align_cuts(cuts_path: str | os.PathLike, aligner: str | os.PathLike, out: str | os.PathLike | None = None,
               min_score: float = -2.0, max_per: float = 0.5, batch_duration: float = 60.0,
               device: str = "cpu", language: str = "en-us",
               progress: Callable[[int, int], None] | None = None) -> dict:
    """Align every cut of a manifest; write ``<stem>_aligned.jsonl.gz`` and ``<stem>_align_skipped.jsonl``.

    Resumable: cuts already in the output manifest or the skip file are not redone.

    Args:
        cuts_path: a ``cuts_<split>.jsonl.gz``.
        aligner: an aligner checkpoint folder or shipped name.
        out: folder for the outputs (default: the manifest's folder).
        min_score: skip a cut whose path scores below this mean log-probability per frame.
        max_per: skip a cut whose recognized phones differ from its transcript's by more
            than this phone error rate.

    Returns:
        Summary: output manifest, skip file, aligned/skipped counts (now and before),
        skip reasons, median score and PER, seconds.
    """
    model, vocab, aligner_dir = load_aligner(aligner, device)
    cfg = model.config
    features = MelFeatures()
    if (features.sample_rate, features.hop) != (cfg.sample_rate, cfg.hop_length):
        raise DataError(f"Aligner '{aligner_dir}' reads {cfg.sample_rate} Hz / hop {cfg.hop_length} features; this "
                        "version computes Vocos 24 kHz / hop 256 mels.")
    texts = TTSDataset(features="audio", language=language, vocab=vocab)
    is_phone = phone_table(vocab.symbols)
    scores, pers = [], []
    with AlignedWriter(cuts_path, out) as writer:
        if progress:
            progress(writer.done, len(writer.cuts))
        for batch in duration_batches(writer.todo, batch_duration):
            ready = []
            for cut in batch:
                if not _single_supervision(cut, writer):
                    continue
                try:
                    _, ids = texts.phonemize(cut)
                except DataError as err:
                    writer.skip(cut, str(err), "text")
                    continue
                wav = torch.from_numpy(cut.resample(features.sample_rate).load_audio()[0])
                n_frames = features.num_frames(wav.numel())
                wrapped = with_boundaries(ids, vocab.space_id)
                if n_frames < len(wrapped):
                    writer.skip(cut, f"{n_frames} frames for {len(wrapped)} symbols: the audio is too short for its "
                                     "transcript", "too_short")
                    continue
                ready.append((cut, wav, n_frames, wrapped, phone_ids(ids, is_phone)))
            if not ready:
                continue
            padded = torch.zeros(len(ready), max(r[1].numel() for r in ready))
            for i, r in enumerate(ready):
                padded[i, : r[1].numel()] = r[1]
            mel = features(padded).to(device)
            mel_lens = torch.tensor([r[2] for r in ready], device=device)
            id_lens = torch.tensor([len(r[3]) for r in ready], device=device)
            ids_t = torch.zeros(len(ready), int(id_lens.max()), dtype=torch.long, device=device)
            for i, r in enumerate(ready):
                ids_t[i, : len(r[3])] = torch.tensor(r[3])
            with torch.inference_mode():
                durations, path_scores = model.align(mel, mel_lens, ids_t, id_lens)
                heard = model.recognize(mel, mel_lens)
            for (cut, _, _, wrapped, phones), d, score, hyp in zip(ready, durations, path_scores, heard):
                per = edit_distance(hyp, phones) / max(1, len(phones))
                if score < min_score:
                    writer.skip(cut, f"alignment score {score:.2f} < {min_score} (the audio may not say the "
                                     "transcript)", "score")
                elif per > max_per:
                    writer.skip(cut, f"the recognizer's phone error rate {per:.2f} > {max_per} (the transcript may "
                                     "not match the audio)", "per")
                else:
                    symbols = [vocab.symbols[i] for i in wrapped]
                    writer.write(cut, symbols, fold_stress(symbols, d.tolist()), cfg.frame_rate,
                                 {"source": aligner_dir.name, "score": round(score, 4), "per": round(per, 4)})
                    scores.append(score)
                    pers.append(per)
            if progress:
                progress(writer.done, len(writer.cuts))
    return writer.summary(median_score=_median(scores), median_per=_median(pers))


def import_textgrids(cuts_path: str | os.PathLike, textgrids: str | os.PathLike, out: str | os.PathLike | None = None,
                     tier: str = "phones", language: str = "en-us",
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Durations from an external aligner's TextGrids (Montreal Forced Aligner), written like :func:`align_cuts`.

    Each cut's TextGrid is ``<name>.TextGrid`` anywhere under ``textgrids``, where
    ``<name>`` is the stem of its audio file or its cut id (MFA names its outputs after
    the audio files). See :mod:`tts.data.textgrid` for how MFA's phones are mapped
    onto our symbols.
    """
    folder = Path(textgrids)
    if not folder.is_dir():
        raise DataError(f"TextGrid folder '{folder}' does not exist.")
    found = {p.stem: p for p in folder.rglob("*.TextGrid")}
    if not found:
        raise DataError(f"'{folder}' holds no .TextGrid files: give the output folder of the forced aligner.")
    features, texts = MelFeatures(), TTSDataset(features="audio", language=language)
    vocab = texts.vocab
    with AlignedWriter(cuts_path, out) as writer:
        for n, cut in enumerate(writer.todo, 1):
            if not _single_supervision(cut, writer):
                continue
            source = Path(cut.recording.sources[0].source).stem if cut.recording is not None else cut.id
            grid = found.get(source) or found.get(cut.id)
            if grid is None:
                writer.skip(cut, f"no {source}.TextGrid (or {cut.id}.TextGrid) under '{folder}'", "missing")
                continue
            try:
                _, ids = texts.phonemize(cut)
                symbols = [vocab.symbols[i] for i in with_boundaries(ids, vocab.space_id)]
                n_frames = features.num_frames(cut.resample(features.sample_rate).num_samples)
                frames = durations_from_intervals(symbols, read_intervals(grid, tier), n_frames,
                                                  features.sample_rate / features.hop)
            except (DataError, TextGridError) as err:
                writer.skip(cut, f"{grid.name}: {err}", "textgrid")
                continue
            writer.write(cut, symbols, frames, features.sample_rate / features.hop, {"source": str(grid)})
            if progress and n % 50 == 0:
                progress(writer.done, len(writer.cuts))
    return writer.summary()


def _median(values: list[float]) -> float | None:
    return sorted(values)[len(values) // 2] if values else None
