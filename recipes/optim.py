"""Optimizers and learning-rate schedules of the recipes.

- :func:`warmup_cosine`: linear warm-up, then a half cosine to 0 at ``total_steps``,
  built from torch's own schedulers.
- :class:`AdamWCosineMixin`: AdamW with it, for the recipes that train one ``self.model``.
"""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import ConstantLR, CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR


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
    train one ``self.model`` with AdamW, :func:`warmup_cosine` over
    ``trainer.max_steps``, and gradient-norm clipping.

    Reads the hyper-parameters ``learning_rate``, ``weight_decay``, ``warmup_steps``,
    ``grad_clip`` and, when the recipe has it, ``betas``. Put it before
    ``LightningModule`` in the bases.
    """

    def configure_optimizers(self):
        hp = self.hparams
        betas = tuple(hp.betas) if "betas" in hp else (0.9, 0.999)  # AdamW's own default
        opt = torch.optim.AdamW(self.model.parameters(), lr=hp.learning_rate, weight_decay=hp.weight_decay,
                                betas=betas)
        schedule = warmup_cosine(opt, hp.warmup_steps, max(0, self.trainer.max_steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        clip = gradient_clip_val or self.hparams.grad_clip
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")
