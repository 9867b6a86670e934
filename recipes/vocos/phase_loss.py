"""Phase-derivative loss: instantaneous frequency and group delay of the output's STFT
against the target's, on the generator's own frame grid (after APNet, Ai & Ling 2023,
whose anti-wrapping IAF and GD losses train phase without a discriminator).

Why: the mel and multi-resolution STFT losses see magnitudes only. Vocos' ISTFT head
predicts a phase per frame, and frames whose phases do not advance together add up, in
the overlap-add, to a modulation at the frame rate (24000 / 256 = 93.75 Hz): the buzz of
the vocoders trained here without the GAN (README, Vocoder and codecs). The official
recipe leaves phase to its discriminators, which cost 8-16 s per batch on the 2-core VM.
The phase *differences* between neighbouring frames (instantaneous frequency) and bins
(group delay) are what overlap-add needs to agree; the absolute phase is not determined
by a mel and is left free.

Each difference is compared as ``1 - cos(d_hat - d)`` (no wrapping to handle, bounded
gradient) and weighted by the target's magnitude, so that near-silent bins, whose phase
is noise, do not count. Shapes: ``B`` batch, ``T`` samples, ``F`` bins, ``N`` frames.
"""

from __future__ import annotations

import torch
from torch import nn


class PhaseDerivativeLoss(nn.Module):
    """``forward(y_hat [B, T], y [B, T]) -> scalar`` in [0, 2]: magnitude-weighted
    ``1 - cos`` of the instantaneous-frequency and group-delay errors, averaged."""

    def __init__(self, n_fft: int = 1024, hop_length: int = 256, eps: float = 1e-4):
        super().__init__()
        self.n_fft, self.hop_length, self.eps = n_fft, hop_length, eps
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def _unit(self, z: torch.Tensor) -> torch.Tensor:
        # z / |z|, kept finite where |z| is ~0 (there the weight is ~0 as well).
        return z / (z.abs() + self.eps)

    def forward(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        spec = [torch.stft(s, self.n_fft, self.hop_length, self.n_fft, self.window, center=True,
                           return_complex=True) for s in (y_hat, y)]  # [B, F, N]
        s_hat, s = (self._unit(z) for z in spec)
        mag = spec[1].abs()
        total = y.new_zeros(())
        # Time (dim -1): instantaneous frequency; frequency (dim -2): group delay.
        for dim in (-1, -2):
            n = s.shape[dim] - 1
            d = s.narrow(dim, 1, n) * s.narrow(dim, 0, n).conj()
            d_hat = s_hat.narrow(dim, 1, n) * s_hat.narrow(dim, 0, n).conj()
            # cos(angle(d_hat) - angle(d)) = Re(d_hat * conj(d)) for unit d, d_hat.
            err = 1.0 - (self._unit(d_hat) * self._unit(d).conj()).real
            w = torch.minimum(mag.narrow(dim, 1, n), mag.narrow(dim, 0, n))
            total = total + (err * w).sum() / w.sum().clamp_min(self.eps)
        return total / 2
