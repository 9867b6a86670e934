"""Pieces shared by the recipes: their error type, the learning-rate schedule, and
rebuilding a module from a Lightning checkpoint for export."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from tts.errors import TTSError


class RecipeError(TTSError, ValueError):
    """A recipe was configured or launched in a way that cannot work; the message says the fix."""


def cosine_with_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the base LR over ``warmup_steps``, then a half cosine to 0 at ``total_steps``.

    ``total_steps <= 0`` (no ``max_steps`` set) keeps the LR constant after the warm-up.
    Same shape as ``transformers.get_cosine_schedule_with_warmup``, which Vocos uses,
    without importing transformers.
    """

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        if total_steps <= 0:
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def module_from_checkpoint(module_cls: type, ckpt_path: str | os.PathLike):
    """Rebuild a recipe's LightningModule from a Lightning checkpoint (``last.ckpt``...).

    Returns ``(module, global_step)``; the module holds the checkpoint's weights (the
    EMA average when the WarmupEMA callback ran).

    Raises:
        RecipeError: the file is missing, is not a readable Lightning checkpoint, or was
            written by another recipe.
    """
    recipe = module_cls.__module__.split(".")[1] if module_cls.__module__.startswith("recipes.") else module_cls.__name__
    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise RecipeError(f"Lightning checkpoint '{ckpt_path}' does not exist: look in the run's checkpoints/ folder "
                          "(last.ckpt is the newest).")
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    except Exception as err:  # not a zip/pickle torch file, truncated, ...
        raise RecipeError(f"'{ckpt_path}' is not a readable Lightning checkpoint ({type(err).__name__}): give a "
                          ".ckpt file from the run's checkpoints/ folder.") from err
    hparams = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hparams, dict) or "state_dict" not in ckpt:
        raise RecipeError(f"'{ckpt_path}' holds no hyper-parameters and weights: it was not written by `tts train`.")
    # LightningCLI adds private entries (_instantiator, _class_path) to the saved hyper-parameters.
    settings = {k: v for k, v in hparams.items() if not k.startswith("_")}
    try:
        module = module_cls(**settings)
        module.load_state_dict(ckpt["state_dict"])
    except (TypeError, RuntimeError) as err:  # another recipe's arguments, or weights of another shape
        raise RecipeError(f"'{ckpt_path}' is not a {recipe} checkpoint (its settings are: "
                          f"{', '.join(sorted(settings))}); name the recipe that wrote it.") from err
    return module, int(ckpt.get("global_step", 0))


class AdamWCosineMixin:
    """``configure_optimizers`` and ``configure_gradient_clipping`` of the recipes that
    train one ``self.model`` with AdamW, linear warm-up then cosine decay over
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
        return {"optimizer": opt, "lr_scheduler": {
            "scheduler": cosine_with_warmup(opt, hp.warmup_steps, max(0, self.trainer.max_steps)), "interval": "step"}}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        clip = gradient_clip_val or self.hparams.grad_clip
        if clip:
            self.clip_gradients(optimizer, gradient_clip_val=clip, gradient_clip_algorithm="norm")
