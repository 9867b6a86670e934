"""recipes.optim: the warm-up + cosine schedule."""

import math
import pytest
import torch
from torch import nn

pytest.importorskip("lightning")


def _factor(step, warmup, total):
    """The schedule as written down: (step + 1) / warmup, then a half cosine to 0 at total."""
    if step < warmup:
        return (step + 1) / warmup
    if total <= 0:
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


@pytest.mark.parametrize("warmup,total", [(10, 60), (0, 40), (1, 20), (5, 0), (0, 0)])
def test_warmup_cosine_follows_its_formula(warmup, total):
    from recipes.optim import warmup_cosine

    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=2.0)
    schedule = warmup_cosine(opt, warmup, total)
    for step in range(max(total, 30)):
        if total <= 0 or step <= total:
            assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * _factor(step, warmup, total), abs=1e-9), step
        opt.step()
        schedule.step()
