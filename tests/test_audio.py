import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import DEMO_PROMPT, tone
from tts.audio import (
    Audio,
    check_output_path,
    load,
    load_prompt,
    loudness,
    normalize_loudness,
    resample,
    save,
    trim_silence,
)
from tts.errors import (
    AudioFileNotFoundError,
    NotAudioError,
    OutputPathError,
    PromptTooShortError,
    SilentAudioError,
)


@pytest.mark.parametrize("suffix,fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_load_formats(write_wav, suffix, fmt):
    path = write_wav(f"a.{suffix}", tone(1.0, 16000), 16000, format=fmt)
    audio = load(path)
    assert audio.sample_rate == 16000
    assert audio.wav.dtype == torch.float32 and audio.wav.ndim == 1
    assert abs(audio.duration - 1.0) < 0.1  # mp3 adds encoder padding
    assert audio.wav.abs().max() > 0.2


def test_load_stereo_to_mono_and_resample(write_wav):
    left, right = tone(1.0, 16000, 220), tone(1.0, 16000, 440)
    path = write_wav("st.wav", np.stack([left, right], axis=1), 16000)
    audio = load(path, sample_rate=24000)
    assert audio.sample_rate == 24000
    assert audio.wav.shape == (24000,)
    mono = load(path)
    np.testing.assert_allclose(mono.numpy(), (left + right) / 2, atol=1e-4)


def test_resample_keeps_frequency():
    x = torch.from_numpy(tone(1.0, 16000, 1000))
    y = resample(x, 16000, 24000)
    assert y.shape == (24000,)
    spectrum = torch.fft.rfft(y).abs()
    assert abs(int(spectrum.argmax()) - 1000) <= 1  # 1 s long: bin index == Hz


def test_missing_file():
    with pytest.raises(AudioFileNotFoundError, match="does not exist"):
        load("no/such/file.wav")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="is a folder"):
        load(tmp_path)


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")
    with pytest.raises(NotAudioError) as err:
        load(path)
    assert "notes.wav" in str(err.value) and "ffmpeg" in str(err.value)


def test_empty_audio_file(write_wav):
    path = write_wav("empty.wav", np.zeros(0, dtype=np.float32))
    with pytest.raises(SilentAudioError, match="empty"):
        load(path)


def test_trim_silence_keeps_the_sound():
    sr = 24000
    x = np.concatenate([np.zeros(sr), tone(1.0, sr), np.zeros(2 * sr)]).astype(np.float32)
    y = trim_silence(torch.from_numpy(x), sr)
    assert 1.0 <= y.numel() / sr <= 1.15
    assert trim_silence(torch.zeros(sr), sr).numel() == 0


def test_loudness_normalization():
    sr = 24000
    x = torch.from_numpy(tone(2.0, sr, amp=0.01))
    y = normalize_loudness(x, sr, target_lufs=-20.0)
    assert abs(loudness(y, sr) + 20.0) < 0.5
    loud = normalize_loudness(torch.from_numpy(tone(2.0, sr, amp=0.01)), sr, target_lufs=0.0)
    assert loud.abs().max() <= 0.99 + 1e-6  # the peak limit wins over the target


def test_load_prompt_demo_asset():
    prompt = load_prompt(DEMO_PROMPT, 24000)
    assert prompt.sample_rate == 24000
    assert 3.0 < prompt.duration < 5.0
    assert abs(loudness(prompt.wav, 24000) + 20.0) < 1.0


def test_prompt_silent(write_wav):
    path = write_wav("silence.wav", np.zeros(48000, dtype=np.float32))
    with pytest.raises(SilentAudioError) as err:
        load_prompt(path, 24000)
    assert "silence.wav" in str(err.value) and "silent" in str(err.value)


def test_prompt_too_short(write_wav):
    x = np.concatenate([np.zeros(24000), tone(0.5, 24000), np.zeros(24000)]).astype(np.float32)
    path = write_wav("short.wav", x)
    with pytest.raises(PromptTooShortError) as err:
        load_prompt(path, 24000)
    assert "short.wav" in str(err.value) and "at least 1 s" in str(err.value)


def test_prompt_too_long_is_trimmed_with_warning(write_wav):
    sr = 16000
    # 20 s of "speech": 0.8 s tones separated by 0.2 s pauses
    unit = np.concatenate([tone(0.8, sr), np.zeros(int(0.2 * sr), dtype=np.float32)])
    path = write_wav("long.wav", np.tile(unit, 20), sr)
    with pytest.warns(UserWarning, match="only its first"):
        prompt = load_prompt(path, 24000, max_seconds=15.0)
    assert 13.0 <= prompt.duration <= 15.0
    # the cut lands in a pause, not inside a tone
    assert prompt.wav[-int(0.01 * 24000):].abs().max() < 0.05


def test_save_round_trip_and_overwrite_protection(tmp_path):
    audio = Audio(torch.from_numpy(tone(0.5)), 24000)
    path = audio.save(tmp_path / "out.wav")
    back, sr = sf.read(path, dtype="float32")
    assert sr == 24000 and np.abs(back - audio.numpy()).max() < 1e-3
    with pytest.raises(OutputPathError, match="already exists"):
        audio.save(path)
    assert sf.info(path).frames == back.size  # untouched by the refused save
    audio.save(path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temp files left


@pytest.mark.parametrize("suffix", ["flac", "ogg"])
def test_save_other_formats(tmp_path, suffix):
    path = save(tmp_path / f"o.{suffix}", torch.from_numpy(tone(0.5)), 24000)
    assert load(path).sample_rate == 24000


def test_output_path_errors(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.wav")
    with pytest.raises(OutputPathError, match="unknown format"):
        check_output_path(tmp_path / "out.xyz")
    folder = tmp_path / "dir.wav"
    folder.mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(folder)


def test_save_refuses_empty(tmp_path):
    with pytest.raises(Exception, match="empty"):
        save(tmp_path / "e.wav", torch.zeros(0), 24000)
