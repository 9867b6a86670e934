"""Whisper ASR (tts.eval.asr, tts.eval.whisper_model): the packaged Whisper-base,
assembled offline, transcribes real synthetic speech on CPU."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import REPO
from tts.audio import Audio, resample
from tts.eval import EvalError, ModelFolderError, WhisperASR, resolve_whisper_model, wer
from tts.eval import whisper_model as wm

FLITE = shutil.which("flite")
ESPEAK = shutil.which("espeak-ng")
# Assembled once and kept between sessions, like the TinyVoices test corpus.
MODEL_CACHE = REPO / ".cache" / "test-models"

SLT_TEXT = "Please call Stella and ask her to bring these things with her from the store."
ESPEAK_TEXT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    if not (FLITE and ESPEAK):
        pytest.skip("flite and espeak-ng are needed to synthesize test speech")
    out = tmp_path_factory.mktemp("asr")
    subprocess.run([FLITE, "-voice", "slt", "-t", SLT_TEXT, "-o", str(out / "slt.wav")], check=True)
    subprocess.run([ESPEAK, "-w", str(out / "espeak.wav"), ESPEAK_TEXT], check=True)
    return {"slt": out / "slt.wav", "espeak": out / "espeak.wav"}


@pytest.fixture(scope="module")
def asr() -> WhisperASR:
    return WhisperASR(device="cpu", cache_dir=MODEL_CACHE)


def test_packaged_model_is_assembled_once_and_reused(tmp_path):
    folder = wm.packaged_whisper_base(tmp_path)
    model = folder / "model.bin"
    assert folder == tmp_path / "whisper-base"
    assert model.stat().st_size == wm.MODEL_BIN_SIZE
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    stamp = model.stat().st_mtime_ns
    assert wm.packaged_whisper_base(tmp_path) == folder
    assert model.stat().st_mtime_ns == stamp  # reused, not rewritten
    # A truncated file (an interrupted copy by some other tool) is rebuilt.
    with open(model, "r+b") as f:
        f.truncate(1000)
    wm.packaged_whisper_base(tmp_path)
    assert model.stat().st_size == wm.MODEL_BIN_SIZE


def test_cache_root_follows_tts_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TTS_CACHE", str(tmp_path / "c"))
    assert wm.cache_root() == tmp_path / "c"
    monkeypatch.delenv("TTS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wm.cache_root() == tmp_path / "xdg" / "zeroshot-tts"


def test_resolve_errors_name_the_problem(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist"):
        resolve_whisper_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="model.bin, config.json missing.*ct2-transformers-converter"):
        resolve_whisper_model(tmp_path / "empty")
    with pytest.raises(EvalError, match="Unknown Whisper model 'huge-v9'.*large-v3"):
        resolve_whisper_model("huge-v9")
    with pytest.raises(ModelFolderError, match="not in the local Hugging Face cache.*never downloads"):
        resolve_whisper_model("nobody-here/faster-whisper-not-a-model")


def test_a_local_ctranslate2_folder_is_accepted(tmp_path):
    folder = wm.packaged_whisper_base(MODEL_CACHE)
    assert resolve_whisper_model(str(folder)) == folder
    assert resolve_whisper_model(None, cache_dir=MODEL_CACHE) == folder


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(EvalError, match="CUDA device"):
        WhisperASR(device="cuda", cache_dir=MODEL_CACHE)
    with pytest.raises(EvalError, match="Unknown device 'tpu'"):
        WhisperASR(device="tpu", cache_dir=MODEL_CACHE)


def test_transcribes_synthetic_speech_with_low_wer(asr, clips):
    assert (asr.device, asr.compute_type) == ("cpu", "int8")
    hyps = [asr.transcribe(clips["slt"]), asr.transcribe(clips["espeak"])]
    scores = wer([SLT_TEXT, ESPEAK_TEXT], hyps)
    # Measured with Whisper-base int8: 0 and 1/9 ("jump" for "jumps").
    assert scores.item_wers[0] <= 0.15, hyps
    assert scores.item_wers[1] <= 0.25, hyps
    assert scores.wer <= 0.15


def test_waveform_inputs_are_resampled(asr, clips):
    data, sr = sf.read(clips["slt"], dtype="float32")
    from_path = asr.transcribe(clips["slt"])
    assert asr.transcribe(data, sr) == from_path
    assert asr.transcribe(Audio(torch.from_numpy(data), sr)) == from_path
    # A 24 kHz tensor [1, T] (a vocoder's output) is resampled to 16 kHz first.
    wav24 = resample(torch.from_numpy(data), sr, 24000).reshape(1, -1)
    assert wer(SLT_TEXT, asr.transcribe(wav24, 24000)).wer <= 0.15
    with pytest.raises(EvalError, match="without its sample rate"):
        asr.transcribe(data)
    with pytest.raises(EvalError, match="mono waveform"):
        asr.transcribe(np.zeros((2, 16000), dtype=np.float32), 16000)


def test_word_timestamps(asr, clips):
    tr = asr.transcribe_words(clips["espeak"])
    assert tr.language == "en"
    assert len(tr.words) >= 8
    starts = [w.start for w in tr.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= tr.duration + 0.1 for w in tr.words)
    assert wer(ESPEAK_TEXT, " ".join(w.text for w in tr.words)).wer <= 0.25


def test_silence_gives_no_crash(asr):
    # Whisper may hallucinate on silence; the contract is only "a string, no error".
    assert isinstance(asr.transcribe(np.zeros(16000, dtype=np.float32), 16000), str)


def test_babble_gets_the_same_transcript_in_every_run(clips):
    """Whisper's temperature fallback samples when beam search finds no words; its draws are
    seeded, so two fresh models give the same transcripts of the same clips (unseeded, the
    second of these clips came back with other words)."""
    data, sr = sf.read(clips["slt"], dtype="float32")
    rng = np.random.default_rng(0)
    babble = []
    for _ in range(4):  # reversed speech, cut up and shuffled: sounds like words, says none
        pieces = np.array_split(data[::-1].copy(), 12)
        rng.shuffle(pieces)
        babble.append(np.concatenate(pieces))
    runs = [[WhisperASR(device="cpu", cache_dir=MODEL_CACHE, cpu_threads=1).transcribe(b, sr) for b in babble]
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert all(runs[0])  # words came back (the fallback had something to decode)
