"""How often VALL-E's repetition-aware sampling would fire on real speech (`tts eval repetition`).

Repetition-aware sampling (VALL-E 2) replaces a drawn codebook-1 token that makes up more
than ``threshold`` of the last ``window`` frames by a draw from the full distribution. On
natural speech it should rarely fire, or most decoding steps stop following the nucleus.
This measures the share of ground-truth frames (codes stored by ``tts prepare features
--kind codes``) on which it would fire, for a grid of windows and thresholds, with the
same rule the decoder applies (:func:`codec_lm.valle.sampling.repetition_rate`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from codec_lm.valle.sampling import repetition_rate

from ..data.manifests import load_cuts
from ..errors import TTSError


def repetition_grid(cuts_path: str | os.PathLike, windows: Sequence[int], thresholds: Sequence[float],
                    out: str | os.PathLike | None = None, limit: int | None = None) -> dict:
    """Firing rates of repetition-aware sampling on the first codebook of a code manifest.

    Args:
        cuts_path: a ``*_codes.jsonl.gz`` manifest.
        windows, thresholds: the grid (windows in frames).
        out: folder for ``repetition.json`` (None: not written).
        limit: read at most this many cuts.

    Returns:
        ``{"manifest", "cuts", "frames", "rates": [{"window", "threshold", "fired", "rate"}, ...]}``.

    Raises:
        TTSError: a manifest without codes, or an empty grid.
    """
    if not windows or not thresholds or min(windows) < 1:
        raise TTSError("Give windows >= 1 frame and at least one threshold (e.g. --windows 10,20 "
                       "--thresholds 0.1,0.4).")
    cuts = list(load_cuts(cuts_path))[:limit]
    if not cuts or not cuts[0].has_custom("codes"):
        raise TTSError(f"'{cuts_path}' holds no codec codes: give a manifest written by `tts prepare features "
                       "--kind codes`.")
    sequences = [torch.from_numpy(c.load_custom("codes")[:, 0].astype("int64")) for c in cuts]
    rates = []
    for window in windows:
        for threshold in thresholds:
            fired, total = repetition_rate(sequences, int(window), float(threshold))
            rates.append({"window": int(window), "threshold": float(threshold), "fired": fired,
                          "rate": round(fired / max(1, total), 4)})
    summary = {"manifest": str(cuts_path), "cuts": len(cuts), "frames": sum(len(s) for s in sequences),
               "rates": rates}
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "repetition.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary
