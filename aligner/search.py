"""Monotonic alignment search and the diagonal attention prior.

Shapes: N frames, L symbols.
"""

from __future__ import annotations

import numpy as np
import torch


def beta_binomial_log_prior(n_frames: int, n_symbols: int, scale: float = 1.0) -> torch.Tensor:
    """``log P(symbol l | frame n)`` ``[N, L]`` of a beta-binomial prior that favours the diagonal.

    For frame ``n`` (1-based) the symbol index follows BetaBinomial(L - 1, a = scale * n,
    b = scale * (N - n + 1)) (RAD-TTS, Badlani et al. 2021): early frames prefer early
    symbols, and the preference widens with ``1 / scale``.
    """
    k = torch.arange(n_symbols, dtype=torch.float64)[None, :]  # [1, L]
    n = torch.arange(1, n_frames + 1, dtype=torch.float64)[:, None]  # [N, 1]
    a, b = scale * n, scale * (n_frames - n + 1)
    m = float(n_symbols - 1)

    def lbeta(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)

    log_choose = torch.lgamma(torch.tensor(m + 1.0)) - torch.lgamma(k + 1) - torch.lgamma(m - k + 1)
    return (log_choose + lbeta(k + a, m - k + b) - lbeta(a, b)).float()


def monotonic_durations(log_probs: np.ndarray | torch.Tensor) -> np.ndarray:
    """Durations ``[L]`` of the most likely monotonic path through ``log_probs [N, L]``.

    The path starts at symbol 0 on frame 0, ends at symbol ``L - 1`` on the last
    frame, and each frame either stays on its symbol or moves to the next one, so
    every symbol gets at least one frame and the durations sum to ``N`` (Viterbi /
    Glow-TTS's monotonic alignment search).

    Raises:
        ValueError: fewer frames than symbols (no such path exists).
    """
    lp = log_probs.detach().cpu().double().numpy() if isinstance(log_probs, torch.Tensor) else np.asarray(
        log_probs, dtype=np.float64)
    n_frames, n_symbols = lp.shape
    if n_frames < n_symbols or n_symbols == 0:
        raise ValueError(f"cannot align {n_symbols} symbols to {n_frames} frames: each symbol needs a frame")
    score = np.full(n_symbols, -np.inf)
    score[0] = lp[0, 0]
    moved = np.zeros((n_frames, n_symbols), dtype=bool)  # moved[n, l]: frame n entered symbol l
    for n in range(1, n_frames):
        stay = score
        move = np.concatenate(([-np.inf], score[:-1]))
        moved[n] = move > stay
        score = np.where(moved[n], move, stay) + lp[n]
    durations = np.zeros(n_symbols, dtype=np.int64)
    symbol = n_symbols - 1
    for n in range(n_frames - 1, -1, -1):
        durations[symbol] += 1
        if n > 0 and moved[n, symbol]:
            symbol -= 1
    assert symbol == 0 and durations.sum() == n_frames
    return durations
