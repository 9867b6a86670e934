"""recipes/augment: VTLP on log-mels moves spectral content by the warp factor and nothing else."""

import torch

from recipes.augment import mel_centers, random_warp_factors, warp_mels


def test_factor_one_is_the_identity():
    mel = torch.randn(2, 100, 7)
    out = warp_mels(mel, torch.ones(2, dtype=torch.float64), 24000)
    assert torch.allclose(out, mel, atol=1e-5)


def test_a_peak_moves_to_the_bin_at_factor_times_its_frequency():
    centers = mel_centers(100, 24000)
    mel = torch.full((3, 100, 4), -5.0)
    mel[:, 40] = 3.0  # one loud bin, all frames
    factors = torch.tensor([1.0, 1.2, 1 / 1.2], dtype=torch.float64)
    out = warp_mels(mel, factors, 24000)
    for i, a in enumerate(factors.tolist()):
        peak = int(out[i, :, 0].argmax())
        expected = int((centers - a * centers[40]).abs().argmin())
        assert abs(peak - expected) <= 1, (a, peak, expected)
        assert torch.equal(out[i, :, 0], out[i, :, 3])  # the same warp in every frame
    assert int(out[1, :, 0].argmax()) > 40 > int(out[2, :, 0].argmax())


def test_random_factors_stay_in_range_and_respect_the_probability():
    g = torch.Generator().manual_seed(0)
    f = random_warp_factors(2000, 0.2, 0.5, generator=g)
    assert f.min() >= 1 / 1.2 - 1e-9 and f.max() <= 1.2 + 1e-9
    share = (f != 1).double().mean().item()
    assert 0.45 < share < 0.55
    assert (f > 1).sum() > 300 and (f < 1).sum() > 300
    assert torch.equal(random_warp_factors(50, 0.2, 0.0, generator=g), torch.ones(50, dtype=torch.float64))


def test_band_limit_removes_the_upper_band_and_keeps_the_rest():
    from recipes.augment import band_limit

    torch.manual_seed(0)
    audio = torch.randn(3, 24001)  # an odd length: the round trip must keep it
    out = band_limit(audio, 24000, [8000, 16000, None])
    assert out.shape == audio.shape and torch.equal(out[2], audio[2])
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1 / 24000)

    def share(x, lo, hi):
        power = torch.fft.rfft(x).abs() ** 2
        return float(power[(freqs >= lo) & (freqs < hi)].sum() / power.sum())

    # white noise has a third of its power above 8 kHz and two thirds above 4 kHz
    assert share(out[0], 4200, 12000) < 0.01 and share(out[1], 8400, 12000) < 0.01
    below = (freqs < 3500)
    kept = (torch.fft.rfft(out[0]).abs() ** 2)[below].sum() / (torch.fft.rfft(audio[0]).abs() ** 2)[below].sum()
    assert 0.9 < float(kept) < 1.1


def test_random_band_limits_respect_the_probability_and_check_their_arguments():
    import pytest

    from recipes.augment import random_band_limits

    g = torch.Generator().manual_seed(0)
    assert random_band_limits(50, (8000, 16000), 0.0, g) == [None] * 50
    picked = random_band_limits(200, (8000, 16000), 1.0, g)
    assert set(picked) == {8000, 16000}
    some = random_band_limits(2000, (8000,), 0.3, g)
    assert 0.25 < sum(r is not None for r in some) / 2000 < 0.35
    for prob, rates in ((1.5, (8000,)), (0.5, ()), (0.5, (0,))):
        with pytest.raises(ValueError, match="band limits need"):
            random_band_limits(4, rates, prob)
