"""Training-time augmentation of log-mel features.

``mel_warp`` is vocal tract length perturbation (VTLP, Jaitly & Hinton 2013) on log-mels:
each utterance's frequency axis is scaled by a factor ``a`` (content at ``f`` Hz moves to
``a * f``), which moves formants and harmonics together, as a longer or shorter vocal tract
and another pitch would. A corpus with few voices then covers more of them. The same factor
holds for a whole utterance, so the prompt part and the generated part of a training item
stay one voice.

``band_limit`` is the band of a telephone or wideband recording on a full-band corpus: each
chosen item is resampled down to 8 or 16 kHz and back, so nothing is left above 4 or 8 kHz.
Real prompts often come so (Asterisk's studio voices are 8 kHz or G.722 16 kHz), and a model
that met the empty upper band only in a few voices takes it for their timbre.

Shapes: B batch, C mel bins, N frames, T samples.
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF


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


def random_band_limits(batch: int, rates: tuple[int, ...], prob: float, generator: torch.Generator | None = None
                       ) -> list[int | None]:
    """Per item: with probability ``prob`` one of ``rates`` (Hz, uniformly), else ``None`` (full band)."""
    if not 0.0 <= prob <= 1.0 or not rates or any(int(r) <= 0 for r in rates):
        raise ValueError(f"band limits need prob in [0, 1] and positive rates, got {prob} and {rates}")
    on = torch.rand(batch, generator=generator) < prob
    pick = torch.randint(len(rates), (batch,), generator=generator)
    return [int(rates[int(k)]) if o else None for o, k in zip(on.tolist(), pick.tolist())]


def band_limit(audio: torch.Tensor, sample_rate: int, rates: list[int | None]) -> torch.Tensor:
    """``[B, T]`` audio with item ``b`` resampled to ``rates[b]`` Hz and back (``None``: as is).

    The length stays ``T``: the round trip keeps every sample's time, only the band above
    ``rates[b] / 2`` goes."""
    out = audio.clone()
    for b, rate in enumerate(rates):
        if rate is None or rate >= sample_rate:
            continue
        back = AF.resample(AF.resample(audio[b], sample_rate, rate), rate, sample_rate)
        n = min(audio.shape[-1], back.shape[-1])
        out[b, :n] = back[:n].to(audio.dtype)
    return out
