"""Callbacks shared by the recipes."""

from __future__ import annotations

import torch
from lightning.pytorch.callbacks import ModelCheckpoint, WeightAveraging


class StepCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``every_n_train_steps`` fires when ``global_step`` *crosses* a multiple of N.

    Lightning's own check is ``global_step % N == 0``. The Vocos recipe advances
    ``global_step`` by 1 per batch during mel pre-training and by 2 afterwards (one
    generator and one discriminator step), so an exact multiple can be skipped forever
    and no checkpoint would ever be written; crossing a multiple cannot be missed.
    """

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        n = self._every_n_train_steps
        last = self._last_global_step_saved
        if n >= 1 and trainer.global_step // n > max(last, 0) // n and not self._should_skip_saving_checkpoint(trainer):
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
            return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class WarmupEMA(WeightAveraging):
    """Exponential moving average of the weights, with its decay warmed up from the first step.

    The decay after ``n`` averaged steps is ``min(decay, (1 + n) / (10 + n))`` (as in
    TensorFlow's and timm's EMA), so the average follows the model closely at first
    and is meaningful at any step: a short run exports trained weights, not the
    initial ones. Lightning's ``EMAWeightAveraging`` with ``update_starting_at_step``
    instead keeps the *initial* weights until that step. Checkpoints hold the average
    in ``state_dict`` (what export uses) and the current weights in
    ``current_model_state`` (what training resumes from).
    """

    def __init__(self, decay: float = 0.999, device=None) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay

        @torch.no_grad()
        def update(averaged: list, current: list, n_averaged: torch.Tensor) -> None:
            d = min(decay, (1.0 + float(n_averaged)) / (10.0 + float(n_averaged)))
            if torch.is_floating_point(averaged[0]):
                torch._foreach_lerp_(averaged, current, 1.0 - d)
            else:  # integer buffers (counters): keep the current value
                for a, c in zip(averaged, current):
                    a.copy_(c)

        super().__init__(device=device, use_buffers=True, multi_avg_fn=update)
