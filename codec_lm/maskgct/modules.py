"""Transformer parts of MaskGCT: packing, blocks, the encoder (rotary attention from ``nn_common``).

Legend (einops style): b = batch, s = packed sequence, n = code frames, l = phonemes,
d = width, h = heads, e = head width.

Both stages are encoders: every position attends to every real position of its
item (a key padding mask, no causal mask). Items are *packed* left-aligned
(``[text_i, codes_i, pad]``), so an item's positions, and hence its rotary
phases, do not depend on the other items of the batch: a batch gives each item
the result it gets alone.
"""

from __future__ import annotations

import torch
from torch import nn

from nn_common import Rotary, RotaryAttention


def pack(first: torch.Tensor, first_lens: torch.Tensor, second: torch.Tensor,
         second_lens: torch.Tensor, pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Join two padded id sequences item by item, without padding in between.

    Args:
        first: ``[b, l]`` ids, valid on the first ``first_lens[i]`` positions.
        second: ``[b, n]`` ids, valid on the first ``second_lens[i]`` positions.
        pad: id written after the end of each item.

    Returns:
        ``[b, s]`` with ``s = max(first_lens + second_lens)`` holding
        ``first[i, :first_lens[i]] + second[i, :second_lens[i]]``, and the lengths ``[b]``.
    """
    lens = first_lens + second_lens
    s = max(int(lens.max()), 1)
    pos = torch.arange(s, device=first.device)[None]
    in_first = pos < first_lens[:, None]
    a = first.gather(1, pos.clamp(max=max(first.shape[1] - 1, 0)).expand(len(first), -1)) if first.shape[1] \
        else torch.full((len(first), s), pad, dtype=second.dtype, device=second.device)
    b = second.gather(1, (pos - first_lens[:, None]).clamp(0, max(second.shape[1] - 1, 0)))
    out = torch.where(in_first, a, b)
    return out.masked_fill(pos >= lens[:, None], pad), lens


def unpack(h: torch.Tensor, offsets: torch.Tensor, n: int) -> torch.Tensor:
    """``h [b, s, d]`` -> the ``n`` positions after ``offsets [b]`` of each item: ``[b, n, d]``.

    Positions past the end of ``h`` repeat its last one (they are padding).
    """
    idx = (offsets[:, None] + torch.arange(n, device=h.device)[None]).clamp(max=h.shape[1] - 1)
    return h.gather(1, idx[..., None].expand(-1, -1, h.shape[-1]))


def shift(x: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    """Move each item of ``x [b, n, ...]`` left by ``by[i]`` positions (negative: right).

    Positions that fall outside repeat the edge value; callers only read real ones.
    """
    n = x.shape[1]
    idx = (torch.arange(n, device=x.device)[None] + by[:, None]).clamp(0, n - 1)
    if x.dim() > 2:
        idx = idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


class Block(nn.Module):
    """Pre-LayerNorm transformer block: attention and GELU MLP, each residual."""

    def __init__(self, dim: int, heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = RotaryAttention(dim, heads)  # no dropout on the weights; residual dropout regularizes
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(approximate="tanh"), nn.Dropout(dropout),
                                nn.Linear(ff_mult * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, rope, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), rope, mask))
        return x + self.drop(self.ff(self.norm2(x)))


class Encoder(nn.Module):
    """A stack of :class:`Block` with a final LayerNorm: ``[b, s, d]`` -> ``[b, s, d]``."""

    def __init__(self, dim: int, heads: int, layers: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.rotary = Rotary(dim // heads)
        self.blocks = nn.ModuleList(Block(dim, heads, ff_mult, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """``x [b, s, d]``, ``mask [b, s]`` (True on real positions) -> ``[b, s, d]``.

        ``positions [b, s]``: each item's rotary positions (default ``0..s-1`` for all).
        """
        rope = self.rotary(x.shape[1], x.device) if positions is None else self.rotary.at(positions)
        for block in self.blocks:
            x = block(x, rope, mask)
        return self.norm(x)


def init_weights(module: nn.Module) -> None:
    """Small normal init (std 0.02) of linear and embedding weights, zero biases (GPT/MaskGCT style)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
