"""Token sampling for VALL-E: temperature, top-k, top-p, repetition-aware sampling, seeded per item.

Legend: b = batch, v = classes (codes + EOS), w = repetition window.

Every random draw comes from the item's own ``torch.Generator`` (when given), as a
uniform number turned into a token by the inverse CDF. An item therefore draws the
same numbers alone or in any batch, and each step draws the same count of numbers
whatever happens, so batched sampling equals one-by-one sampling under a seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for the stream ``keys`` (e.g. candidate, decoder) of ``seed``; distinct streams do not overlap."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed) % (2**63), *map(int, keys)]).generate_state(1, np.uint64)[0] >> 1)


def item_generators(seeds: Sequence[int] | None) -> list[torch.Generator] | None:
    """One CPU generator per item (None: use torch's global RNG)."""
    if seeds is None:
        return None
    return [torch.Generator().manual_seed(int(s) % (2**63)) for s in seeds]


def uniforms(generators: list[torch.Generator] | None, b: int, n: int, device) -> torch.Tensor:
    """``[b, n]`` uniform numbers in [0, 1), row ``i`` from ``generators[i]``."""
    if generators is None:
        return torch.rand(b, n, device=device)
    return torch.stack([torch.rand(n, generator=g) for g in generators]).to(device)


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set logits outside the top-k and outside the nucleus of mass ``top_p`` to -inf (``[b, v]``).

    The most likely token always survives, so a row is never empty.
    """
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        drop = probs.cumsum(-1) - probs >= top_p  # mass before this token already reaches top_p
        drop[:, 0] = False
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sample ``[b]`` tokens from unnormalized ``probs [b, v]`` with uniforms ``u [b]``.

    ``right=True`` returns the first index whose cumulative mass exceeds ``u``, which
    can never be a zero-probability (filtered) token.
    """
    cdf = probs.cumsum(-1)
    idx = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1).contiguous(), right=True).squeeze(-1)
    return idx.clamp(max=probs.shape[-1] - 1)


def repetition_ratio(window: torch.Tensor, tokens: torch.Tensor, size: int) -> torch.Tensor:
    """Share of the last ``size`` generated tokens equal to ``tokens [b]``; ``window [b, w]`` (-1 = none)."""
    return (window == tokens[:, None]).sum(-1).float() / max(1, size)


def sample_tokens(logits: torch.Tensor, window: torch.Tensor, u: torch.Tensor, temperature: float, top_k: int,
                  top_p: float, repetition_window: int, repetition_threshold: float) -> torch.Tensor:
    """Choose the next token of each row.

    Args:
        logits: ``[b, v]`` float32, already masked (e.g. EOS before the minimum length).
        window: ``[b, w]`` the last generated tokens (-1 where there are none yet).
        u: ``[b, 2]`` uniforms: column 0 for the nucleus draw, 1 for the fallback.
        temperature: 0 for greedy decoding.
        top_k, top_p: filters of the first draw (0 / 1.0 = off).
        repetition_window, repetition_threshold: repetition-aware sampling (VALL-E 2):
            when the chosen token makes up more than ``threshold`` of the last
            ``window`` tokens, it is replaced by a draw from the full (unfiltered)
            distribution, which breaks the loops that nucleus sampling and greedy
            decoding fall into. ``window = 0`` turns it off.

    Returns:
        ``[b]`` token ids.
    """
    if temperature <= 0:
        tokens = logits.argmax(-1)
        full = logits.softmax(-1)  # fallback distribution at temperature 1
    else:
        scaled = logits / temperature
        full = scaled.softmax(-1)
        tokens = inverse_cdf(filter_logits(scaled, top_k, top_p).softmax(-1), u[:, 0])
    if repetition_window > 0:
        repeated = repetition_ratio(window, tokens, repetition_window) > repetition_threshold
        tokens = torch.where(repeated, inverse_cdf(full, u[:, 1]), tokens)
    return tokens
