"""Callbacks shared by the recipes."""

from __future__ import annotations

from lightning.pytorch.callbacks import ModelCheckpoint


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
