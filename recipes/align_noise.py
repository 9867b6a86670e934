"""Noisy phone alignments: what an aligner that hears a new voice badly gives a model.

A prompt's alignment comes from the phone aligner, and on a voice far from its training
voices the aligner's boundaries drift and some phones get (almost) no frames. Aligned
models (VALL-E R's pointer, MaskGCT's durations, the flow model's frame-level text) read
that alignment as truth. :func:`perturb_alignment` makes such an alignment from a clean
one, to measure what the noise costs (``experiments/prompt_alignment_noise.py``) and to let
training see it.

Shapes: L symbols; durations are frames per symbol and keep their sum.
"""

from __future__ import annotations

import torch


def shift_boundaries(durations: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Move every inner boundary of ``durations [L]`` by a uniform whole number of frames in
    ``[-max_shift, max_shift]``; each symbol keeps at least one frame (one that had none, such as
    a stress mark, keeps none) and the sum is unchanged."""
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}.")
    d = durations.long()
    full = d > 0  # empty symbols (stress marks) stay empty: only the others' boundaries move
    n = d[full]
    if max_shift == 0 or n.numel() < 2:
        return d.clone()
    ends = torch.cumsum(n, 0)
    total = int(ends[-1])
    moves = torch.randint(-max_shift, max_shift + 1, (n.numel() - 1,), generator=generator)
    new = (ends[:-1] + moves).tolist()
    # Clamp left to right, then right to left, so that every symbol keeps a frame.
    prev = 0
    for k in range(len(new)):
        new[k] = max(new[k], prev + 1)
        prev = new[k]
    nxt = total
    for k in range(len(new) - 1, -1, -1):
        new[k] = min(new[k], nxt - 1)
        nxt = new[k]
    bounds = torch.tensor([0] + new + [total])
    out = torch.zeros_like(d)
    out[full] = bounds[1:] - bounds[:-1]
    return out


def drop_symbols(ids: torch.Tensor, durations: torch.Tensor, prob: float, keep: set[int] = frozenset(),
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each symbol of ``ids [L]`` with probability ``prob`` (never the first or the last,
    nor one in ``keep``, such as the word boundary); its frames go to the symbol before it."""
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}.")
    if ids.shape != durations.shape:
        raise ValueError(f"ids {tuple(ids.shape)} and durations {tuple(durations.shape)} differ in shape.")
    out_ids, out_d = [], []
    draws = torch.rand(ids.numel(), generator=generator)
    for k, (i, d) in enumerate(zip(ids.tolist(), durations.long().tolist())):
        inner = 0 < k < ids.numel() - 1
        if inner and i not in keep and draws[k] < prob:
            out_d[-1] += d
            continue
        out_ids.append(i)
        out_d.append(d)
    return torch.tensor(out_ids, dtype=ids.dtype), torch.tensor(out_d)


def perturb_alignment(ids: torch.Tensor, durations: torch.Tensor, max_shift: int = 0, drop_prob: float = 0.0,
                      keep: set[int] = frozenset(), generator: torch.Generator | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop symbols (:func:`drop_symbols`), then shift the boundaries (:func:`shift_boundaries`)."""
    ids, durations = drop_symbols(ids, durations, drop_prob, keep, generator)
    return ids, shift_boundaries(durations, max_shift, generator)
