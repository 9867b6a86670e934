"""Training-time augmentation of log-mel features.

``mel_warp`` is vocal tract length perturbation (VTLP, Jaitly & Hinton 2013) on log-mels:
each utterance's frequency axis is scaled by a factor ``a`` (content at ``f`` Hz moves to
``a * f``), which moves formants and harmonics together, as a longer or shorter vocal tract
and another pitch would. A corpus with few voices then covers more of them. The same factor
holds for a whole utterance, so the prompt part and the generated part of a training item
stay one voice.

Shapes: B batch, C mel bins, N frames.
"""

from __future__ import annotations

import math

import torch


def _hz_to_mel(f: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + f / 700.0)


def _mel_to_hz(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_centers(n_mels: int, sample_rate: int) -> torch.Tensor:
    """Centre frequencies ``[C]`` (Hz) of the HTK mel filters Vocos uses (0 Hz to Nyquist)."""
    edges = torch.linspace(0.0, float(_hz_to_mel(torch.tensor(sample_rate / 2.0))), n_mels + 2, dtype=torch.float64)
    return _mel_to_hz(edges[1:-1])


def warp_mels(mel: torch.Tensor, factors: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Scale the frequency axis of log-mels ``[B, C, N]`` by ``factors [B]`` (1 = unchanged).

    Bin ``i`` (centre ``f_i``) takes the value found at ``f_i / a`` on the input's mel axis,
    interpolated linearly between bins; frequencies beyond the top bin read the top bin.
    """
    b, c, _ = mel.shape
    centers = mel_centers(c, sample_rate).to(mel.device)                      # [C]
    src_hz = centers[None, :] / factors.to(mel.device, torch.float64)[:, None]  # [B, C]
    # fractional bin index of each source frequency: bins are evenly spaced in mel
    step = _hz_to_mel(centers[1]) - _hz_to_mel(centers[0])
    pos = ((_hz_to_mel(src_hz) - _hz_to_mel(centers[0])) / step).clamp(0, c - 1)
    lo = pos.floor().long().clamp(max=c - 2)
    w = (pos - lo).to(mel.dtype)[..., None]                                   # [B, C, 1]
    below = torch.gather(mel, 1, lo[..., None].expand(-1, -1, mel.shape[2]))
    above = torch.gather(mel, 1, (lo + 1)[..., None].expand(-1, -1, mel.shape[2]))
    return below + w * (above - below)


def random_warp_factors(batch: int, max_warp: float, prob: float, generator: torch.Generator | None = None
                        ) -> torch.Tensor:
    """``[B]`` factors: with probability ``prob`` log-uniform in ``[1 / (1 + max_warp), 1 + max_warp]``, else 1."""
    if max_warp < 0 or not 0.0 <= prob <= 1.0:
        raise ValueError(f"mel warp needs max_warp >= 0 and prob in [0, 1], got {max_warp} and {prob}")
    span = math.log1p(max_warp)
    u = torch.rand(batch, generator=generator, dtype=torch.float64) * 2 - 1
    on = torch.rand(batch, generator=generator, dtype=torch.float64) < prob
    return torch.where(on, torch.exp(u * span), torch.ones(batch, dtype=torch.float64))
