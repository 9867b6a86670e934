"""Building blocks of the flow-matching transformer.

Legend (einops style): b = batch, n = frames, d = model width, h = heads,
c = mel bins, t = text width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nn_common import RotaryAttention

# oneDNN's float32 matmul, the op PyTorch's own compiler (Inductor) uses for linear layers on CPU.
_ONEDNN_LINEAR = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters and state dict) whose inference on CPU in float32 runs on oneDNN.

    PyTorch computes a float32 ``nn.Linear`` on CPU with the BLAS it was built with, MKL,
    whose sgemm takes a generic code path on AMD processors: one core of the development
    VM's EPYC does 52 GFLOP/s there and 130 with oneDNN, both exact float32 (they differ
    by the order of the sums, about 1e-7 relative). The DiT's per-frame layers are a third
    of a synthesis's time, so this takes about a fifth off it. With autograd (training),
    on other devices, in other dtypes and under autocast, ``nn.Linear``'s own path runs.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (_ONEDNN_LINEAR and not torch.is_grad_enabled() and x.device.type == "cpu"
                and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and not torch.is_autocast_enabled("cpu")):
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")
        return super().forward(x)


def sinusoidal(x: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal embedding of scalars ``x [b]`` (or positions) -> ``[b, dim]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=x.device, dtype=torch.float32) / max(half - 1, 1))
    args = scale * x.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class TimestepEmbedding(nn.Module):
    """Flow time ``t [b]`` in [0, 1] -> ``[b, d]``."""

    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal(t, self.freq_dim))


class GRN(nn.Module):
    """Global response normalization (ConvNeXt-V2) over the time axis of ``[b, n, d]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # The norm over time must not see padding, or batching would change results.
        xm = x if mask is None else x.masked_fill(~mask[..., None], 0.0)
        g = torch.norm(xm, p=2, dim=1, keepdim=True)
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * n) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    """Depthwise conv (k=7) -> LayerNorm -> MLP with GRN, residual; on ``[b, n, d]``."""

    def __init__(self, dim: int, mult: int = 2) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, dim * mult)
        self.grn = GRN(dim * mult)
        self.pw2 = nn.Linear(dim * mult, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:  # keep padding from leaking into real frames through the conv
            x = x.masked_fill(~mask[..., None], 0.0)
        h = self.dwconv(x.transpose(1, 2)).transpose(1, 2)
        h = self.pw2(self.grn(F.gelu(self.pw1(self.norm(h))), mask))
        return x + h


class ConvPositionEmbedding(nn.Module):
    """Two grouped convolutions with Mish, added to the input: relative position from context."""

    def __init__(self, dim: int, kernel: int = 31, groups: int = 16) -> None:
        super().__init__()
        groups = math.gcd(groups, dim)
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, groups=groups, padding=kernel // 2) for _ in range(2))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # Padding is zeroed before every convolution: a batch gives each item the same
        # result as running it alone.
        if not torch.is_grad_enabled():
            return self._inference(x, mask)
        keep = None if mask is None else mask[:, None, :]
        h = x.transpose(1, 2)
        for conv in self.convs:
            if keep is not None:
                h = h.masked_fill(~keep, 0.0)
            h = F.mish(conv(h))
        if keep is not None:
            h = h.masked_fill(~keep, 0.0)
        return h.transpose(1, 2)

    def _inference(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``forward`` without autograd: each Conv1d runs as a conv2d over a [b, d, 1, n] view
        of the [b, n, d] frames, which is channels-last in memory, so oneDNN convolves it
        where it lies instead of reordering it (3x faster on CPU for these grouped kernels;
        the same weights and sums, in another order)."""
        keep = None if mask is None else mask[..., None]
        h = x
        for conv in self.convs:
            if keep is not None:
                h = h.masked_fill(~keep, 0.0)
            h = F.conv2d(h.transpose(1, 2)[:, :, None], conv.weight[:, :, None], conv.bias,
                         padding=(0, conv.padding[0]), groups=conv.groups)
            h = F.mish(h[:, :, 0].transpose(1, 2))
        if keep is not None:
            h = h.masked_fill(~keep, 0.0)
        return h


def modulate(norm: nn.LayerNorm, x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``norm(x) * (1 + scale) + shift`` with ``shift, scale [b | 1, 1, d]``.

    When one modulation serves the whole batch (``[1, 1, d]``: synthesis, where every item
    and both guidance halves share the flow time), it is the layer norm's own affine
    transform: one pass over the frames and one new tensor instead of three.
    """
    if shift.shape[0] == 1:
        return F.layer_norm(x, norm.normalized_shape, (1 + scale).flatten(), shift.flatten(), norm.eps)
    return norm(x) * (1 + scale) + shift


class DiTBlock(nn.Module):
    """Transformer block with adaptive LayerNorm-Zero conditioning on the flow time.

    ``emb [b, d]`` gives shift/scale/gate for the attention and the MLP; the gates
    start at zero, so each block starts as the identity (stable training, DiT).
    """

    def __init__(self, dim: int, heads: int, ff_mult: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim * 6))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = RotaryAttention(dim, heads, dropout, linear=Linear)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ff = nn.Sequential(Linear(dim, dim * ff_mult), nn.GELU(approximate="tanh"), nn.Dropout(dropout),
                                Linear(dim * ff_mult, dim))

    def forward(self, x: torch.Tensor, emb: torch.Tensor, rope, mask: torch.Tensor | None = None) -> torch.Tensor:
        sh1, sc1, g1, sh2, sc2, g2 = self.modulation(emb)[:, None].chunk(6, dim=-1)
        x = torch.addcmul(x, g1, self.attn(modulate(self.norm1, x, sh1, sc1), rope, mask))  # x + g1 * attn
        x = torch.addcmul(x, g2, self.ff(modulate(self.norm2, x, sh2, sc2)))
        return x


class FinalLayer(nn.Module):
    """Adaptive LayerNorm then projection to the feature size."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim * 2))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.proj = Linear(dim, out_dim)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(emb)[:, None].chunk(2, dim=-1)
        return self.proj(modulate(self.norm, x, shift, scale))
