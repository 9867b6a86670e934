"""ODE solvers and time schedules for sampling flow-matching models.

Fixed-step Euler and midpoint integrate ``dy/dt = f(t, y)`` from ``t = 0`` to ``1``
over a given (possibly non-uniform) time grid. "Sway sampling" (F5-TTS) bends a
uniform grid towards ``t = 0``, where the flow is least straight, so that a few
steps land more accurately: ``t' = t + s (cos(pi t / 2) - 1 + t)`` with ``s < 0``.
The number of function evaluations (NFE) is the number of velocity calls: Euler
spends one per step, midpoint two.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # f(t [scalar], y) -> dy/dt
SOLVERS = ("euler", "midpoint")


def time_grid(steps: int, sway: float | None = -1.0, device: torch.device | str = "cpu") -> torch.Tensor:
    """``steps + 1`` times from 0 to 1; sway-bent when ``sway`` is not None (F5 uses -1)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    t = torch.linspace(0.0, 1.0, steps + 1, device=device)
    if sway is not None and sway != 0.0:
        t = t + sway * (torch.cos(math.pi / 2 * t) - 1 + t)
    return t


def steps_for_nfe(nfe: int, solver: str) -> int:
    """Steps that spend ``nfe`` evaluations with ``solver`` (midpoint needs an even NFE)."""
    if solver not in SOLVERS:
        raise ValueError(f"Unknown solver {solver!r}: use one of {SOLVERS}.")
    if nfe < 1 or (solver == "midpoint" and nfe % 2):
        raise ValueError(f"NFE {nfe} is not possible with {solver} (midpoint needs an even number >= 2).")
    return nfe if solver == "euler" else nfe // 2


def integrate(f: Field, y0: torch.Tensor, grid: torch.Tensor, solver: str = "euler") -> torch.Tensor:
    """Integrate ``dy/dt = f(t, y)`` over ``grid`` from ``y0``; return ``y(grid[-1])``."""
    y = y0
    for t0, t1 in zip(grid[:-1], grid[1:]):
        dt = t1 - t0
        if solver == "euler":
            y = y + dt * f(t0, y)
        elif solver == "midpoint":
            y_mid = y + dt / 2 * f(t0, y)
            y = y + dt * f(t0 + dt / 2, y_mid)
        else:
            raise ValueError(f"Unknown solver {solver!r}: use one of {SOLVERS}.")
    return y
