"""DNSMOS (tts.eval.quality) with the ONNX models bundled in speechmos."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tts.audio import Audio
from tts.eval import DNSMOS, EvalError

FLITE = shutil.which("flite")


@pytest.fixture(scope="module")
def mos() -> DNSMOS:
    return DNSMOS()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    if not FLITE:
        pytest.skip("flite is needed to synthesize test speech")
    path = tmp_path_factory.mktemp("dnsmos") / "awb.wav"
    # DNSMOS loops a clip by doubling until it passes 9.01 s and scores every 9 s
    # window (1 s hop): a 2.5 s clip is one window (10 s), a 4 s clip seven (16 s).
    text = "The birch canoe slid on the smooth planks."
    subprocess.run([FLITE, "-voice", "awb", "-t", text, "-o", str(path)], check=True)
    return path


def test_clean_speech_scores_in_range_and_above_noise(mos, speech):
    clean = mos.score(speech)
    for value in clean.as_dict().values():
        assert 1.0 <= value <= 5.0
    noise = np.random.default_rng(0).standard_normal(int(2.3 * 16000)).astype(np.float32) * 0.1
    noisy = mos.score(noise, 16000)
    # Measured: clean flite awb OVRL about 3, white noise about 1.1.
    assert clean.ovrl > noisy.ovrl + 1.0
    assert clean.bak > noisy.bak + 1.0
    assert 0.5 <= noisy.ovrl <= 5.0


def test_any_sample_rate_and_input_kind(mos, speech):
    data, sr = sf.read(speech, dtype="float32")
    ref = mos.score(speech).ovrl
    assert mos.score(data, sr).ovrl == pytest.approx(ref, abs=1e-4)
    wav24 = torch.from_numpy(data)
    import torchaudio.functional as AF

    wav24 = AF.resample(wav24, sr, 24000)
    assert mos.score(Audio(wav24, 24000)).ovrl == pytest.approx(ref, abs=0.15)


def test_added_noise_lowers_the_background_score(mos, speech):
    data, sr = sf.read(speech, dtype="float32")
    noisy = data + 0.05 * np.random.default_rng(1).standard_normal(data.size).astype(np.float32)
    assert mos.score(noisy, sr).bak < mos.score(data, sr).bak - 1.0


def test_unusable_clips_are_clear_errors(mos):
    with pytest.raises(EvalError, match="at least 0.25 s"):
        mos.score(np.ones(1000, dtype=np.float32) * 0.1, 16000)
    with pytest.raises(EvalError, match="digital silence"):
        mos.score(np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(EvalError, match="NaN or infinite"):
        mos.score(np.full(16000, np.nan, dtype=np.float32), 16000)


def test_out_of_range_samples_are_clipped_not_rejected(mos, speech):
    data, sr = sf.read(speech, dtype="float32")
    score = mos.score(data * 3.0, sr)  # speechmos itself raises on |x| > 1
    assert 1.0 <= score.ovrl <= 5.0
