"""The AR's cached decoding step, written for memory bandwidth.

Legend: b = batch, d = width, h = heads, e = head width, s = keys so far.

At batch 1 a decoding step reads every weight once to multiply it by one vector, so
its time is bound by memory bandwidth, not by arithmetic. Two things keep
``nn.Linear`` from that bound on CPU:

* ``F.linear`` multiplies by ``W^T`` of the stored ``[out, in]`` weight; the BLAS
  row-vector-times-matrix kernel streams a pre-transposed ``[in, out]`` copy faster
  (measured at 512 wide / 12 layers, one thread: one pass over the weights took
  9.3-9.9 ms as ``x @ W.t()`` and 7.5-7.7 ms as ``x @ Wt``);
* module calls, views and the dropout no-ops add Python time to each of the ~10
  operations of a layer.

:class:`StepWeights` holds the pre-transposed copies (the AR's matrices once more in
memory) and :func:`fused_step` runs a block stack on them with ``addmm``; the result is
the same computation as :meth:`Block.forward <.modules.Block.forward>` in eval mode (a
test checks they agree). The copies are rebuilt when any parameter changes (its
in-place version counter, its storage or its dtype), so loading new weights is seen;
weights that are inference tensors have no version counter, and are copied again for
every utterance (at the AR's prefill: for 146 MiB of weights, tens of milliseconds).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .modules import KVCache


def _signature(module: nn.Module) -> tuple | None:
    """What identifies the parameters' current values; None when that cannot be known:
    tensors made under ``torch.inference_mode`` (weights loaded there) keep no version counter."""
    signature = []
    for p in module.parameters():
        if p.is_inference():
            return None
        signature.append((p.data_ptr(), p._version, p.dtype, p.device))
    return tuple(signature)


class StepWeights:
    """Pre-transposed weights of a stack of :class:`Block` (non-adaptive, as the AR's)."""

    def __init__(self, blocks: nn.ModuleList) -> None:
        self.signature = _signature(blocks)
        self.layers = []
        with torch.no_grad():
            for block in blocks:
                if block.adaptive:
                    raise ValueError("StepWeights serves the AR's plain blocks, not stage-adaptive ones")
                self.layers.append((
                    (block.norm1.weight.detach(), block.norm1.bias.detach(), block.norm1.eps),
                    (block.attn.qkv.bias.detach(), block.attn.qkv.weight.detach().t().contiguous()),
                    (block.attn.proj.bias.detach(), block.attn.proj.weight.detach().t().contiguous()),
                    (block.norm2.weight.detach(), block.norm2.bias.detach(), block.norm2.eps),
                    (block.ff[0].bias.detach(), block.ff[0].weight.detach().t().contiguous()),
                    (block.ff[3].bias.detach(), block.ff[3].weight.detach().t().contiguous())))
        self.heads = blocks[0].attn.heads

    @classmethod
    def of(cls, blocks: nn.ModuleList, current: "StepWeights | None") -> "StepWeights":
        """``current`` if it still matches the blocks' parameters, else a fresh copy (always a
        fresh one for inference tensors, whose changes cannot be seen)."""
        if current is not None and current.signature is not None and current.signature == _signature(blocks):
            return current
        return cls(blocks)


def fused_step(weights: StepWeights, x: torch.Tensor, mask: torch.Tensor | None, cache: KVCache) -> torch.Tensor:
    """One new position through every block: ``x [b, d]`` -> ``[b, d]`` (before the final norm).

    ``mask`` is bool ``[b, 1, 1, s]`` (True: may attend; None: all keys); the cache gets this
    position's keys and values and advances by one.
    """
    b, d = x.shape
    h = weights.heads
    for i, (n1, qkv, proj, n2, ff1, ff2) in enumerate(weights.layers):
        y = torch.addmm(qkv[0], F.layer_norm(x, (d,), n1[0], n1[1], n1[2]), qkv[1]).view(b, 3, h, 1, d // h)
        k, v = cache.update(i, y[:, 1], y[:, 2])
        a = _attend(y[:, 0], k, v, mask)  # [b, h, 1, e]
        x = torch.addmm(proj[0], a.view(b, d), proj[1]).add_(x)
        y = F.gelu(torch.addmm(ff1[0], F.layer_norm(x, (d,), n2[0], n2[1], n2[2]), ff1[1]), approximate="tanh")
        x = torch.addmm(ff2[0], y, ff2[1]).add_(x)
    cache.advance(1)
    return x


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Attention of one query per head: ``q [b, h, 1, e]``, ``k, v [b, h, s, e]`` -> ``[b, h, 1, e]``.

    Two matrix-vector products instead of ``F.scaled_dot_product_attention``: past 512 keys
    PyTorch's CPU flash kernel splits them into blocks of 512 with a running softmax, and a
    step at 512 wide / 12 layers took 0.6-1.1 ms longer with it (520-1024 keys, one thread;
    the same time below 512). Reading the cache is what a step does besides the weights,
    so it has to stream: at 10 s of audio the keys and values are 40 % of the weights' bytes.
    """
    scores = torch.matmul(q, k.transpose(-1, -2)).mul_(q.shape[-1] ** -0.5)  # [b, h, 1, s]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.matmul(scores.softmax(-1), v)


def can_fuse(blocks: nn.ModuleList) -> bool:
    """The fused step serves inference only: no autograd and no active dropout."""
    return not torch.is_grad_enabled() and not any(b.training for b in blocks)
