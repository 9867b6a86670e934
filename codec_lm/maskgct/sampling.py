"""Confidence-based iterative unmasking (MaskGIT) shared by both stages of MaskGCT.

Legend: b = batch, n = frames, k = candidates per frame (codebook entries or top-k).

A stage starts with its span of frames all [MASK]. Each step predicts every frame,
samples a token for each masked one (Gumbel-max at an annealed temperature among
the top-k), and keeps the most confident samples so that, after step ``s`` of
``S``, ``floor(n * cos(pi/2 * s / S))`` frames stay masked (the cosine schedule:
few tokens first, when little is known, many at the end); the last step unmasks
everything. Noise is drawn per item from its own generator for exactly its own
span, and only while that item has frames left to fill (a batch runs until its
slowest item is done), so a seeded item gets the same tokens alone or in any batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch


def masking_schedule(n: torch.Tensor, steps: int) -> torch.Tensor:
    """Frames still masked after each step: ``[b, steps]`` for span lengths ``n [b]``.

    ``floor(n * cos(pi/2 * s / steps))`` after step ``s = 1..steps``, but at least one
    frame is unmasked per step while any is left (so no step is wasted when ``steps``
    is large for a short span), and none is masked after the last step.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    s = torch.arange(1, steps + 1, dtype=torch.float64)
    left = torch.floor(n.double().cpu()[:, None] * torch.cos(0.5 * math.pi * s / steps)[None]).long()
    left[:, -1] = 0  # cos(pi/2) is not exactly 0 in floating point
    prev = n.long().cpu()
    for j in range(steps):
        left[:, j] = torch.minimum(left[:, j], (prev - 1).clamp(min=0))
        prev = left[:, j]
    return left.to(n.device)


def make_generators(seed: int | None, b: int, device) -> list[torch.Generator | None]:
    """One generator per item seeded with ``seed`` (None: the global RNG)."""
    if seed is None:
        return [None] * b
    return [torch.Generator(device=device).manual_seed(int(seed)) for _ in range(b)]


def gumbel(shape: tuple[int, ...], generator: torch.Generator | None, device) -> torch.Tensor:
    """Standard Gumbel noise ``-log(-log(u))`` of ``shape``, float32."""
    u = torch.rand(shape, generator=generator, device=device).clamp_(1e-10, 1.0 - 1e-7)
    return -torch.log(-torch.log(u))


def span_noise(starts: torch.Tensor, lengths: torch.Tensor, n: int, k: int,
               generators: Sequence[torch.Generator | None], device,
               active: Sequence[bool] | None = None) -> torch.Tensor:
    """Gumbel noise ``[b, n, k]`` on each item's span ``[start, start + length)``, zero elsewhere;
    ``active`` (per item) limits the draws to those items: the others' generators do not advance."""
    out = torch.zeros(len(lengths), n, k, device=device)
    for i, (a, m) in enumerate(zip(starts.tolist(), lengths.tolist())):
        if active is None or active[i]:
            out[i, a: a + m] = gumbel((m, k), generators[i], device)
    return out


def ranks_descending(score: torch.Tensor) -> torch.Tensor:
    """Rank of each entry of ``score [b, n]`` within its row, 0 = largest (stable: ties keep order)."""
    order = score.argsort(dim=1, descending=True, stable=True)
    return torch.empty_like(order).scatter_(1, order, torch.arange(score.shape[1], device=score.device)
                                            .expand_as(order).contiguous())


@torch.no_grad()
def iterative_decode(logits_fn: Callable[[torch.Tensor], torch.Tensor], tokens: torch.Tensor,
                     starts: torch.Tensor, lengths: torch.Tensor, mask_id: int, steps: int,
                     temperature: float = 1.0, top_k: int = 0, confidence_noise: float = 1.0,
                     generators: Sequence[torch.Generator | None] | None = None) -> torch.Tensor:
    """Fill each item's span ``[start, start + length)`` of ``tokens`` by iterative unmasking.

    Args:
        logits_fn: tokens ``[b, n]`` (``mask_id`` on masked frames) -> logits ``[b, n, K]``
            (guidance, if any, already applied).
        tokens: ``[b, n]`` known tokens; the spans are overwritten.
        starts, lengths: ``[b]`` span of frames to generate per item.
        mask_id: the [MASK] token id.
        steps: model calls (fewer when a span is shorter than ``steps``).
        temperature: sampling temperature at the first step; it falls linearly to 0
            (greedy) at the last step, so a 1-step stage is greedy.
        top_k: sample among the ``top_k`` most likely entries (0: all).
        confidence_noise: scale of Gumbel noise added to the confidences (log-prob of
            the sampled token) when choosing which frames to keep, annealed to 0 as
            the temperature is (MaskGIT's "choice temperature"); 0 = pure confidence.
        generators: one per item (``make_generators``), for reproducible sampling.

    Returns:
        ``[b, n]`` tokens with every span filled (no ``mask_id`` left in them).
    """
    b, n = tokens.shape
    device = tokens.device
    generators = list(generators) if generators is not None else [None] * b
    frame = torch.arange(n, device=device)[None]
    masked = (frame >= starts[:, None]) & (frame < (starts + lengths)[:, None])
    tokens = tokens.masked_fill(masked, mask_id)
    plan = masking_schedule(lengths, steps)
    for s in range(steps):
        if not masked.any():
            break
        logits = logits_fn(tokens).float()
        k = top_k if 0 < top_k < logits.shape[-1] else logits.shape[-1]
        if s == steps - 1:
            # The last step is greedy and unmasks every frame left, so neither the top-k nor
            # the confidences matter: the argmax is the token (a 1-step stage is this alone,
            # and skips a top-k over every frame's whole codebook).
            # The noise is still drawn, so that later stages' streams stay as they were.
            span_noise(starts, lengths, n, k, generators, device, masked.any(1).tolist())
            tokens = torch.where(masked, logits.argmax(-1), tokens)
            break
        if k < logits.shape[-1]:
            values, index = logits.topk(k, dim=-1)
        else:
            values, index = logits, None
        logp = values.log_softmax(-1)
        tau = temperature * (1.0 - s / steps) if s < steps - 1 else 0.0
        # Drawn every step while the item has masked frames: the same stream alone or in a batch.
        active = masked.any(1).tolist()
        noise = span_noise(starts, lengths, n, k, generators, device, active)
        choice = (logp / tau + noise).argmax(-1) if tau > 0 else logp.argmax(-1)
        sampled = index.gather(-1, choice[..., None])[..., 0] if index is not None else choice
        confidence = logp.gather(-1, choice[..., None])[..., 0]
        scale = confidence_noise * (1.0 - (s + 1) / steps)
        if scale > 0:
            confidence = confidence + scale * span_noise(starts, lengths, n, 1, generators, device, active)[..., 0]
        confidence = confidence.masked_fill(~masked, float("-inf"))
        keep = masked.sum(1) - plan[:, s]  # frames to unmask now
        chosen = masked & (ranks_descending(confidence) < keep[:, None])
        tokens = torch.where(chosen, sampled, tokens)
        masked &= ~chosen
    return tokens


def guide(cond: torch.Tensor, uncond: torch.Tensor, scale: float, rescale: float = 0.0) -> torch.Tensor:
    """Classifier-free guidance on logits ``[..., K]``: ``cond + scale * (cond - uncond)``.

    ``rescale`` (0..1) pulls the guided logits' spread back towards the conditional
    one's (per frame, over the entries), as MaskGCT does against over-saturated
    guidance. ``scale == 0`` returns ``cond`` itself.
    """
    if scale == 0:
        return cond
    out = cond + scale * (cond - uncond)
    if rescale > 0:
        ratio = cond.std(-1, keepdim=True) / out.std(-1, keepdim=True).clamp(min=1e-6)
        out = rescale * out * ratio + (1.0 - rescale) * out
    return out
