"""Transformer parts of VALL-E: positions, a preallocated KV cache, SDPA attention, blocks.

Legend (einops style): b = batch, s = sequence (keys), n = queries, d = width,
h = heads, e = head width, k = codebook entries, g = stages of the NAR.

Attention masks are boolean and follow ``scaled_dot_product_attention``: True means
"may attend". Every query row must keep at least one True (the first phoneme is
always valid), or the softmax of a fully masked row would be NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_positions(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sine/cosine embeddings of integer ``positions [n]`` -> ``[n, dim]`` (float32).

    Unbounded: no maximum length is baked into the weights.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    args = positions.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class SegmentEmbedding(nn.Module):
    """Token embedding plus its segment's own sinusoidal positions (0, 1, ... from the segment start).

    Positions restart in each segment (phonemes, prompt codes, target codes), so an
    item's embeddings do not depend on how much padding the batch put before its
    segment: batched and one-by-one decoding see the same inputs. The learned
    ``alpha`` lets each segment weigh position against content (as in lifeiteng/vall-e).

    With ``slots = g > 1`` a position holds ``g`` tokens (a step of grouped codes): each
    slot has its own table and the step's embedding is their sum, which is the same as
    a linear projection of the concatenated one-hot tokens (VALL-E 2's group embedding).
    With one slot the table (``num`` rows) is the one of checkpoints that had no groups.
    """

    def __init__(self, num: int, dim: int, slots: int = 1) -> None:
        super().__init__()
        self.embed = nn.Embedding(num * slots, dim)
        self.alpha = nn.Parameter(torch.ones(1))
        self.dim, self.num, self.slots = dim, num, slots

    def positions(self, start: int, n: int, device) -> torch.Tensor:
        """``alpha`` x positions ``start .. start + n - 1``: ``[n, d]``."""
        pos = torch.arange(start, start + n, device=device)
        return self.alpha * sinusoidal_positions(pos, self.dim).to(self.alpha.dtype)

    def forward(self, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``tokens [b, n]``, or ``[b, n, slots]`` with slots (valid ids; mask padding yourself) -> ``[b, n, d]``."""
        if tokens.dim() == 3:
            offsets = torch.arange(self.slots, device=tokens.device) * self.num
            x = self.embed(tokens + offsets).sum(2)
        else:
            x = self.embed(tokens)
        return x + self.positions(start, tokens.shape[1], tokens.device)[None]


class KVCache:
    """Keys and values of every layer for incremental decoding.

    Storage is allocated once for ``max_len`` positions (``[layers, b, h, s, e]``), so a
    step writes one column instead of concatenating (which would copy the whole cache
    every step and make decoding quadratic in memory traffic).

    Usage: each layer calls :meth:`update` with the new keys/values of the current
    chunk; after the last layer, :meth:`advance` moves the write position.
    """

    def __init__(self, layers: int, max_len: int) -> None:
        self.layers = layers
        self.max_len = max_len
        self.length = 0
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k, v [b, h, n, e]`` at the current position; return all keys/values so far ``[b, h, s, e]``."""
        if self.k is None:
            shape = (self.layers, k.shape[0], k.shape[1], self.max_len, k.shape[3])
            self.k = k.new_empty(shape)
            self.v = v.new_empty(shape)
        end = self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache overflow: {end} positions for a cache of {self.max_len}")
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]

    def advance(self, n: int) -> None:
        self.length += n


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        # Dropout after the projection, not on the attention weights: a dropout_p in
        # scaled_dot_product_attention forces PyTorch's slow unfused path on CPU.
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None = None,
                layer: int = 0) -> torch.Tensor:
        """``x [b, n, d]``, ``mask`` bool broadcastable to ``[b, h, n, s]`` -> ``[b, n, d]``.

        With a cache, the keys are the cached ones followed by this chunk's (``s = past + n``).
        """
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # each [b, h, n, e]
        if cache is not None:
            k, v = cache.update(layer, k, v)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.drop(self.proj(out.transpose(1, 2).reshape(b, n, -1)))


class AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift also depend on a stage id (VALL-E's NAR conditioning).

    The stage terms start at zero, so every stage begins as a plain LayerNorm.
    """

    def __init__(self, dim: int, stages: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.stage = nn.Embedding(stages, 2 * dim)
        nn.init.zeros_(self.stage.weight)

    def forward(self, x: torch.Tensor, stage: torch.Tensor) -> torch.Tensor:
        """``x [b, n, d]``, ``stage [b]`` (0-based) -> ``[b, n, d]``."""
        scale, shift = self.stage(stage)[:, None].chunk(2, dim=-1)
        return self.norm(x) * (1 + scale) + shift


class Block(nn.Module):
    """Pre-norm transformer block; with ``stages > 0`` its norms are stage-adaptive (NAR)."""

    def __init__(self, dim: int, heads: int, ff_mult: int, dropout: float, stages: int = 0) -> None:
        super().__init__()
        self.adaptive = stages > 0
        self.norm1 = AdaLayerNorm(dim, stages) if self.adaptive else nn.LayerNorm(dim)
        self.norm2 = AdaLayerNorm(dim, stages) if self.adaptive else nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(approximate="tanh"), nn.Dropout(dropout),
                                nn.Linear(ff_mult * dim, dim))
        self.drop = nn.Dropout(dropout)

    def _norm(self, norm: nn.Module, x: torch.Tensor, stage: torch.Tensor | None) -> torch.Tensor:
        return norm(x, stage) if self.adaptive else norm(x)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                stage: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self._norm(self.norm1, x, stage), mask, cache, layer))
        return x + self.drop(self.ff(self._norm(self.norm2, x, stage)))


class CodeStackEmbedding(nn.Module):
    """Sum of per-codebook embeddings of the first ``depth`` codebooks of ``codes [b, q, n]``, plus positions.

    One table of ``books * entries`` rows: codebook ``q``'s entry ``c`` is row
    ``q * entries + c``, so all codebooks embed in one gather.
    """

    def __init__(self, books: int, entries: int, dim: int) -> None:
        super().__init__()
        self.books, self.entries = books, entries
        self.embed = nn.Embedding(books * entries, dim)
        self.alpha = nn.Parameter(torch.ones(1))
        self.dim = dim

    def forward(self, codes: torch.Tensor, depth: torch.Tensor | int) -> torch.Tensor:
        """``codes [b, q, n]`` (``q >= max depth``; padding: any value), ``depth [b]`` (or an int) -> ``[b, n, d]``."""
        b, _, n = codes.shape
        codes = codes[:, : self.books].clamp(0, self.entries - 1)
        q = codes.shape[1]
        offsets = torch.arange(q, device=codes.device) * self.entries
        emb = self.embed(codes + offsets[None, :, None])  # [b, q, n, d]
        depth = torch.as_tensor(depth, device=codes.device).expand(b)
        use = (torch.arange(q, device=codes.device)[None] < depth[:, None]).to(emb.dtype)  # [b, q]
        x = torch.einsum("bqnd,bq->bnd", emb, use)
        pos = torch.arange(n, device=codes.device)
        return x + (self.alpha * sinusoidal_positions(pos, self.dim).to(self.alpha.dtype))[None]
