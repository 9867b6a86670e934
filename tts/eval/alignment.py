"""How good a phone aligner is: its recognizer's phone error rate on real transcripts,
and its boundaries against exact references where the corpus has them.

``evaluate_aligner`` runs the aligner over a manifest:

* **PER** (every cut): greedy CTC phones against the transcript's phone symbols,
  corpus-level (total edits / total reference phones). On ground-truth audio this is
  the recognizer's own error, the floor a TTS model's PER is read against.
* **Boundary error** (TinyVoices espeak-ng cuts): each phone onset of the aligned path
  against the onset libespeak-ng reports for that phone
  (:mod:`tts.data.tinyvoices.reference`): median and 90th percentile absolute error
  in ms, and the share within 20 / 40 ms.

A symbol that starts on frame ``k`` starts at ``(k - 0.5) * hop / sample_rate``
seconds: frame ``k`` is centred on sample ``k * hop``, so the boundary with frame
``k - 1`` lies half a hop before it.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from aligner import edit_distance, fold_stress, phone_ids, phone_table, with_boundaries
from text_frontend import Frontend

from ..aligner import load_aligner
from ..data.dataset import TTSDataset
from ..data.manifests import duration_batches, load_cuts
from ..data.tinyvoices.reference import ReferenceAlignmentError, reference_alignment
from ..mel import MelFeatures


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def evaluate_aligner(cuts_path: str | os.PathLike, aligner: str | os.PathLike, out: str | os.PathLike | None = None,
                     limit: int | None = None, batch_duration: float = 60.0, device: str = "cpu",
                     plots: int = 3, progress: Callable[[int, int], None] | None = None) -> dict:
    """PER and (for espeak-ng cuts of a TinyVoices corpus) boundary errors of an aligner.

    Args:
        cuts_path: a ``cuts_<split>.jsonl.gz`` of a prepared corpus; references are made
            when its folder holds TinyVoices' ``speakers.json``.
        aligner: checkpoint folder or shipped name.
        out: folder for ``report.json``, ``report.md`` and plots (None: nothing written).
        limit: evaluate at most this many cuts (spread over the manifest).
        plots: mel + boundary plots of this many cuts with a reference (espeak-ng), and of
            this many without (flite, festival or another corpus: to look at and listen to).

    Returns:
        The summary (also ``report.json["summary"]``).
    """
    cuts_path = Path(cuts_path)
    model, vocab, aligner_dir = load_aligner(aligner, device)
    cfg = model.config
    features, texts = MelFeatures(), TTSDataset(features="audio", vocab=vocab)
    is_phone = phone_table(vocab.symbols)
    cuts = list(load_cuts(cuts_path))
    if limit is not None and limit < len(cuts):
        cuts = [cuts[round(i * len(cuts) / limit)] for i in range(limit)]
    corpus = cuts_path.parent
    references = (corpus / "tinyvoices.json").is_file()  # TinyVoices: espeak-ng can say where each phone starts
    if references:
        frontend = Frontend("en-us")  # the one TTSDataset uses for TinyVoices' "English" supervisions
    t0 = time.perf_counter()
    rows, errors, skipped = [], [], []
    plotted = {"reference": 0, "other": 0}
    for batch in duration_batches(cuts, batch_duration):
        wavs = [torch.from_numpy(c.resample(features.sample_rate).load_audio()[0]) for c in batch]
        padded = torch.zeros(len(wavs), max(w.numel() for w in wavs))
        for i, w in enumerate(wavs):
            padded[i, : w.numel()] = w
        mel = features(padded).to(device)
        mel_lens = torch.tensor([features.num_frames(w.numel()) for w in wavs], device=device)
        seqs = [list(texts.phonemize(c)[1]) for c in batch]
        wrapped = [with_boundaries(s, vocab.space_id) for s in seqs]
        id_lens = torch.tensor([len(w) for w in wrapped], device=device)
        ids = torch.zeros(len(batch), int(id_lens.max()), dtype=torch.long, device=device)
        for i, w in enumerate(wrapped):
            ids[i, : len(w)] = torch.tensor(w)
        heard = model.recognize(mel, mel_lens)
        durations, scores = model.align(mel, mel_lens, ids, id_lens)
        for cut, seq, hyp, d, score, m, n, w in zip(batch, seqs, heard, durations, scores, mel, mel_lens.tolist(),
                                                    wrapped):
            d = torch.tensor(fold_stress([vocab.symbols[i] for i in w], d.tolist()))
            ref = phone_ids(seq, is_phone)
            row = {"id": cut.id, "phones": len(ref), "edits": edit_distance(hyp, ref), "score": round(score, 4),
                   "heard": "".join(vocab.symbols[i] for i in hyp),
                   "group": (getattr(cut.supervisions[0], "custom", None) or {}).get("kind") if cut.supervisions else None}
            if references:
                _boundaries(cut, corpus, frontend, d, cfg, row, errors, skipped)
            kind = "reference" if "errors_ms" in row else "other"
            if out is not None and plotted[kind] < plots:
                _plot(Path(out) / f"align_{cut.id}.png", m[:, :n].cpu(), d, row, cfg, vocab, seq)
                plotted[kind] += 1
            rows.append(row)
        if progress:
            progress(len(rows), len(cuts))
    summary = {"aligner": str(aligner_dir), "cuts": str(cuts_path), "items": len(rows), "per": _per(rows),
               "median_score": round(statistics.median(r["score"] for r in rows), 4) if rows else None,
               "seconds": round(time.perf_counter() - t0, 1)}
    if references:
        summary.update({"reference_items": sum("errors_ms" in r for r in rows), "reference_skipped": len(skipped),
                        "onsets": len(errors)})
        if errors:
            absolute = [abs(e) for e in errors]
            summary.update({"boundary_median_ms": round(statistics.median(absolute), 1),
                            "boundary_p90_ms": round(_quantile(absolute, 0.9), 1),
                            "within_20ms": round(sum(e <= 20 for e in absolute) / len(errors), 3),
                            "within_40ms": round(sum(e <= 40 for e in absolute) / len(errors), 3),
                            "boundary_median_offset_ms": round(statistics.median(errors), 1)})
    groups = sorted({r["group"] for r in rows if r["group"]})
    if groups:  # ManyVoices: real people, neural voices... each on its own
        summary["groups"] = {g: {"items": sum(r["group"] == g for r in rows), "per": _per([r for r in rows
                                                                                          if r["group"] == g])}
                             for g in groups}
    if out is not None:
        _write(Path(out), summary, rows, skipped)
    return summary


def _per(rows: list[dict]) -> float:
    """Corpus phone error rate: all edits over all reference phones."""
    return round(sum(r["edits"] for r in rows) / max(1, sum(r["phones"] for r in rows)), 4)


def _boundaries(cut, corpus: Path, frontend, durations: torch.Tensor, cfg, row: dict, errors: list,
                skipped: list) -> None:
    """Add the cut's signed onset errors (ms; > 0: the aligned onset is late) to ``row`` and
    ``errors``, or its reason to ``skipped``."""
    try:
        ref = reference_alignment(cut, corpus, frontend)
    except ReferenceAlignmentError as err:
        if "not an espeak-ng voice" not in str(err):
            skipped.append({"id": cut.id, "reason": str(err)})
        return
    starts = torch.cumsum(durations, 0) - durations  # start frame of each wrapped symbol
    hop = cfg.hop_length / cfg.sample_rate
    # Symbol i of the front-end sequence is symbol i + 1 of the wrapped one.
    signed = [((float(starts[i + 1]) - 0.5) * hop - t) * 1000 for i, t in ref.onsets()]  # > 0: aligned late
    row["errors_ms"] = [round(e, 1) for e in signed]
    row["onsets"] = [(i, round(t, 4)) for i, t in ref.onsets()]
    errors.extend(signed)


def _plot(path: Path, mel: torch.Tensor, durations: torch.Tensor, row: dict, cfg, vocab, seq: list[int]) -> None:
    """Mel with the aligned symbol boundaries (white) and the reference onsets (red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    hop = cfg.hop_length / cfg.sample_rate
    fig, ax = plt.subplots(figsize=(min(24, 2 + mel.shape[-1] * 0.02), 3.2))
    ax.imshow(mel.numpy(), origin="lower", aspect="auto", extent=(0, mel.shape[-1] * hop, 0, mel.shape[0]))
    symbols = [" "] + [vocab.symbols[i] for i in seq] + [" "]
    start = 0
    for sym, d in zip(symbols, durations.tolist()):
        t = (start - 0.5) * hop
        ax.axvline(t, color="white", lw=0.6)
        ax.text(t + 0.5 * d * hop, mel.shape[0] * 0.92, sym, color="white", ha="center", fontsize=7)
        start += d
    for _, t in row.get("onsets", []):
        ax.axvline(t, color="red", lw=0.8, ls="--", ymax=0.8)
    ax.set_xlabel("seconds")
    what = "aligned (white) vs espeak-ng onsets (red)" if row.get("onsets") else "aligned symbols"
    ax.set_title(f"{row['id']}: {what}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write(out: Path, summary: dict, rows: list[dict], skipped: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"summary": summary, "rows": rows, "reference_skipped": skipped},
                                                indent=1), encoding="utf-8")
    lines = [f"# Aligner evaluation: {summary['aligner']}", "", f"Manifest: `{summary['cuts']}`", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary.items() if k not in ("aligner", "cuts", "groups")]
    if summary.get("groups"):
        lines += ["", "| group | items | PER |", "|---|---|---|"]
        lines += [f"| {g} | {v['items']} | {v['per']} |" for g, v in summary["groups"].items()]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
