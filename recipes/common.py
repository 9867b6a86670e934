"""Pieces shared by the recipes: their error type and the learning-rate schedule."""

from __future__ import annotations

import math

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
