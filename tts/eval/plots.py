"""PNG plots of an evaluation: metric distributions and mel-spectrograms.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg
canvas directly: no pyplot, no global backend switch, no display needed, and
nothing left open in a long-running process.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .errors import EvalError, require
from .inputs import EVAL_SAMPLE_RATE, is_path, to_mono_numpy

if TYPE_CHECKING:  # pragma: no cover
    from .manifest import EvalItem

# (title, [(row key, label)], scale): metrics plotted together share an axis.
PANELS = (
    ("WER (%)", [("wer", "generated"), ("ref_wer", "ground truth")], 100.0),
    ("Speaker similarity to prompt", [("sim", "generated"), ("sim_ref", "ground truth")], 1.0),
    ("DNSMOS", [("dnsmos_ovrl", "OVRL"), ("dnsmos_sig", "SIG"), ("dnsmos_bak", "BAK")], 1.0),
    ("Real-time factor", [("rtf", "RTF")], 1.0),
)


def _figure(width: float, height: float):
    require("matplotlib")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig, path: str | os.PathLike) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(path).expanduser()
    if not out.parent.is_dir():
        raise EvalError(f"Cannot write '{out}': the folder '{out.parent}' does not exist. Create it first.")
    FigureCanvasAgg(fig)
    tmp = out.with_name(f".{out.stem}.tmp.png")
    fig.savefig(tmp, format="png")
    os.replace(tmp, out)
    return out


def plot_distributions(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Histograms of the per-item metrics of a report's ``rows`` (one panel per metric family).

    Panels without any value (a metric that was switched off) are left out; with
    no metric at all the figure says so instead of failing.
    """
    panels = []
    for title, series, scale in PANELS:
        data = []
        for key, label in series:
            vals = [float(r[key]) * scale for r in rows if r.get(key) is not None]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                data.append((label, vals))
        if data:
            panels.append((title, data))
    cols = max(1, min(2, len(panels)))
    grid_rows = max(1, math.ceil(len(panels) / cols))
    fig = _figure(5.0 * cols, 3.2 * grid_rows)
    if not panels:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no metrics computed", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    for i, (title, data) in enumerate(panels):
        ax = fig.add_subplot(grid_rows, cols, i + 1)
        lo = min(min(v) for _, v in data)
        hi = max(max(v) for _, v in data)
        if hi - lo < 1e-9:
            # One distinct value: give the bar a visible width around it.
            pad = max(abs(lo) * 0.05, 0.05)
            lo, hi = lo - pad, hi + pad
        bins = np.linspace(lo, hi, 21)
        for label, vals in data:
            mean = sum(vals) / len(vals)
            ax.hist(vals, bins=bins, alpha=0.55, label=f"{label} (mean {mean:.3g}, n={len(vals)})")
        ax.set_title(title)
        ax.set_ylabel("items")
        ax.legend(fontsize="small")
    fig.suptitle(f"Per-item metrics ({len(rows)} items)")
    return _save(fig, path)


def log_mel(wav: np.ndarray, sample_rate: int = EVAL_SAMPLE_RATE, n_mels: int = 80) -> np.ndarray:
    """Log-mel spectrogram for display: ``[T] -> [n_mels, frames]`` in dB
    (1024-point FFT, 10 ms hop)."""
    import torch
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=1024, hop_length=sample_rate // 100, n_mels=n_mels, power=2.0
    )(torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)))
    return (10 * torch.log10(mel.clamp_min(1e-10))).numpy()


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plot_mels(items: Sequence["EvalItem"], path: str | os.PathLike, max_items: int = 3, n_mels: int = 80) -> Path:
    """Mel-spectrograms of prompt / output / reference for the first ``max_items``.

    One row per item; the reference column is drawn only when an item has one.
    All panels share one dB colour range (80 dB below the loudest) and one time
    scale, so loudness and length can be compared by eye.

    Raises:
        EvalError: no items, or an item whose audio cannot be read (naming it).
    """
    chosen = list(items)[:max_items]
    if not chosen:
        raise EvalError("plot_mels() got no items: give at least one EvalItem.")
    grid = []
    for item in chosen:
        panels = []
        for label, audio in (("prompt", item.prompt), ("output", item.audio), ("reference", item.reference)):
            if audio is None:
                continue
            try:
                wav = to_mono_numpy(audio, item.sample_rate, EVAL_SAMPLE_RATE)
            except Exception as err:
                raise EvalError(f"Item '{item.id}': cannot draw its {label}: {err}") from err
            panels.append((label, log_mel(wav, EVAL_SAMPLE_RATE, n_mels), len(wav) / EVAL_SAMPLE_RATE))
        grid.append((item, panels))
    n_cols = max(len(p) for _, p in grid)
    top = max(m.max() for _, p in grid for _, m, _ in p)
    longest = max(d for _, p in grid for _, _, d in p)
    fig = _figure(4.2 * n_cols, 2.6 * len(grid))
    image = None
    for r, (item, panels) in enumerate(grid):
        for c, (label, mel, dur) in enumerate(panels):
            ax = fig.add_subplot(len(grid), n_cols, r * n_cols + c + 1)
            image = ax.imshow(
                mel,
                origin="lower",
                aspect="auto",
                cmap="magma",
                vmin=top - 80,
                vmax=top,
                extent=(0.0, dur, 0, mel.shape[0]),
                interpolation="nearest",
            )
            ax.set_xlim(0, longest)
            title = f"{item.id} — {label}"
            if label == "output":
                title += f"\n“{_short(item.text)}”"
            elif label == "prompt" and is_path(item.prompt):
                title += f" ({Path(item.prompt).name})"
            ax.set_title(title, fontsize="small")
            ax.set_xlabel("s")
            if c == 0:
                ax.set_ylabel("mel bin")
    if image is not None:
        fig.colorbar(image, ax=fig.axes, label="dB", shrink=0.8)
    return _save(fig, path)
