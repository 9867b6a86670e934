"""The mel-spectrogram image the page shows beside a result."""

from __future__ import annotations

import os
from pathlib import Path

from ..audio import Audio
from ..eval.plots import log_mel

DYNAMIC_RANGE_DB = 80.0


def save_spectrogram(audio: Audio, path: str | os.PathLike, title: str = "") -> Path:
    """Draw ``audio``'s log-mel spectrogram (the evaluation plots' :func:`tts.eval.plots.log_mel`,
    80 bands, 10 ms hop, 80 dB range) as a PNG at ``path``.

    The figure is rendered by matplotlib's Agg canvas directly: no pyplot, nothing left
    open in the long-running server.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    mel = log_mel(audio.numpy(), audio.sample_rate)
    top = float(mel.max())
    fig = Figure(figsize=(8.0, 2.6), dpi=100, layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=top - DYNAMIC_RANGE_DB, vmax=top,
                      extent=(0.0, audio.duration, 0, mel.shape[0]), interpolation="nearest")
    ax.set_xlabel("s")
    ax.set_ylabel("mel band")
    if title:
        ax.set_title(title, fontsize="small")
    fig.colorbar(image, ax=ax, label="dB")
    FigureCanvasAgg(fig)
    out = Path(path)
    fig.savefig(out, format="png")
    return out
