"""Optimizers and learning-rate schedules of the recipes.

- :func:`param_groups`: weight decay only on the weight matrices of linear and
  convolution layers; biases, norms, embeddings and gates are not decayed, as in
  minGPT (nanoGPT too leaves biases and norms alone): pulling a norm's scale, a gate or
  an embedding row towards zero changes what the layer means rather than regularizing it.
- :func:`warmup_cosine`: linear warm-up, then a half cosine to 0 at ``total_steps``,
  built from torch's own schedulers.
- :class:`AdamWCosineMixin`: both, for the recipes that train one ``self.model``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR

# Layers whose weight is a matrix (or a convolution kernel) that multiplies the input.
DECAYED_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: ``weight_decay`` on linear/conv weight matrices, 0 on everything else.

    Every trainable parameter lands in exactly one group (a shared one once). Not decayed:
    biases, LayerNorm/GroupNorm scales, embedding tables, scalar gates and scales
    (VALL-E's ``alpha``), GRN's ``gamma``/``beta`` and any other parameter
    that is not the weight of a ``Linear`` or ``Conv*`` layer.

    Returns:
        ``[{"params": decayed, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]``.
    """
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            matrix = isinstance(module, DECAYED_LAYERS) and name == "weight" and p.dim() >= 2
            (decay if matrix else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> LRScheduler:
    """Linear warm-up over ``warmup_steps`` (factor ``(step + 1) / warmup_steps``), then a half cosine
    from the base LR to 0 at ``total_steps``.

    ``total_steps <= 0`` (no ``max_steps`` set) keeps the LR constant after the warm-up. The
    shape of ``transformers.get_cosine_schedule_with_warmup`` (which Vocos uses), except that
    the first step already trains at ``1 / warmup_steps`` of the LR instead of 0.
    """
    parts, milestones = [], []
    if warmup_steps > 0:
        # Reaches the full LR at step warmup_steps - 1, as the factor (step + 1) / warmup does.
        parts.append(LinearLR(optimizer, start_factor=1.0 / warmup_steps, end_factor=1.0,
                              total_iters=warmup_steps - 1))
    if total_steps > 0:
        if parts:
            milestones.append(warmup_steps)
        parts.append(CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps)))
    if not parts:
        return ConstantLR(optimizer, factor=1.0, total_iters=0)
    return parts[0] if len(parts) == 1 else SequentialLR(optimizer, parts, milestones=milestones)


class AdamWCosineMixin:
    """``configure_optimizers`` and ``configure_gradient_clipping`` of the recipes that
    train one ``self.model`` with AdamW (:func:`param_groups`), :func:`warmup_cosine` over
    ``trainer.max_steps``, and gradient-norm clipping.

    Reads the hyper-parameters ``learning_rate``, ``weight_decay``, ``warmup_steps``,
    ``grad_clip`` and, when the recipe has it, ``betas``. Put it before
    ``LightningModule`` in the bases. A recipe with training-only layers beside
    ``self.model`` (an auxiliary head) lists them in :meth:`optimized`.
    """

    def optimized(self) -> nn.Module:
        """The module whose parameters the optimizer trains (default ``self.model``)."""
        return self.model

    def configure_optimizers(self):
        hp = self.hparams
        betas = tuple(hp.betas) if "betas" in hp else (0.9, 0.999)  # AdamW's own default
        opt = torch.optim.AdamW(param_groups(self.optimized(), hp.weight_decay), lr=hp.learning_rate, betas=betas)
        schedule = warmup_cosine(opt, hp.warmup_steps, max(0, self.trainer.max_steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        clip = gradient_clip_val or self.hparams.grad_clip
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")
