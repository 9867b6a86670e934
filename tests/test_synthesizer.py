"""Synthesizer facade: loading, synthesis, options, errors and speech editing (random tiny flow model)."""

import numpy as np
import pytest
import torch

from conftest import DEMO_PROMPT, REPO
from tts import Synthesizer
from tts.audio import Audio, load, save
from tts.checkpoint import CheckpointError
from tts.errors import TTSError

PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()


@pytest.fixture(scope="module")
def synth(random_flow):
    return Synthesizer.from_pretrained(random_flow, device="cpu")


def test_synthesize_text_with_sentences(synth):
    audio = synth.synthesize("Hello there. This is a second sentence!", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=1)
    assert isinstance(audio, Audio) and audio.sample_rate == 24000
    assert audio.wav.ndim == 1 and torch.isfinite(audio.wav).all()
    # the length follows the prompt's speaking rate: a few seconds for two short sentences
    assert 1.0 < audio.duration < 8.0


def test_seed_makes_output_reproducible(synth):
    a = synth.synthesize("Same words again.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=3)
    b = synth.synthesize("Same words again.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=3)
    c = synth.synthesize("Same words again.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=4)
    assert torch.equal(a.wav, b.wav) and not torch.equal(a.wav, c.wav)


def test_duration_and_speed(synth):
    audio = synth.synthesize("Make this exactly three seconds.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=0,
                             duration=3.0, nfe=2)
    assert abs(audio.duration - 3.0) < 0.05
    slow = synth.synthesize("Speed changes the length.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=0, nfe=2)
    fast = synth.synthesize("Speed changes the length.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=0, nfe=2,
                            speed=2.0)
    assert abs(fast.duration - slow.duration / 2) < 0.05


def test_prompt_as_audio_object(synth):
    prompt = load(DEMO_PROMPT)
    audio = synth.synthesize("From an Audio object.", prompt, prompt_text=PROMPT_TEXT, seed=0, nfe=2)
    assert audio.duration > 0.5


def test_prompt_transcribed_when_not_given(synth):
    audio = synth.synthesize("No transcript given.", DEMO_PROMPT, seed=0, nfe=2)
    assert audio.duration > 0.5
    heard = synth.transcribe(load(DEMO_PROMPT, 24000)).lower()
    assert "birch" in heard and "shore" in heard


def test_unknown_option_lists_the_valid_ones(synth):
    with pytest.raises(TTSError, match="does not take --temperature; its options are --nfe"):
        synth.synthesize("Hi.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, temperature=0.7)


def test_loading_errors(tmp_path, random_flow):
    with pytest.raises(CheckpointError, match="neither a shipped model"):
        Synthesizer.from_pretrained("no-such-model")
    if not torch.cuda.is_available():
        with pytest.raises(TTSError, match="CUDA is not available"):
            Synthesizer.from_pretrained(random_flow, device="cuda")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(random_flow, copy)
    shutil.copytree(random_flow.parent / "tiny-vocos", tmp_path / "tiny-vocos")  # its dependency, by relative path
    (copy / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="vocab.json"):
        Synthesizer.from_pretrained(copy)


def test_bad_inputs(synth, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        synth.synthesize("   ", DEMO_PROMPT, prompt_text=PROMPT_TEXT)
    with pytest.raises(TTSError, match="does not exist"):
        synth.synthesize("Hi.", tmp_path / "missing.wav", prompt_text=PROMPT_TEXT)
    silent = tmp_path / "silent.wav"
    save(silent, torch.zeros(48000), 24000)
    with pytest.raises(TTSError, match="silent"):
        synth.synthesize("Hi.", silent, prompt_text=PROMPT_TEXT)
    with pytest.raises(ValueError, match="Unknown language"):
        synth.synthesize("Hi.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, language="xx-yy")


def test_edit_keeps_audio_outside_the_span(synth):
    source = load(DEMO_PROMPT, 24000)
    out = synth.edit(source, PROMPT_TEXT, PROMPT_TEXT.replace("smooth", "rough"), start=1.6, end=2.0, seed=0, nfe=2)
    a, fade = int(1.6 * 24000), int(0.02 * 24000)
    hop = 256
    a = round(a / hop) * hop  # the span snaps to mel frames
    assert torch.equal(out.wav[: a - fade], source.wav[: a - fade])
    tail = int(1.5 * 24000)
    assert torch.equal(out.wav[-tail:], source.wav[-tail:])


def test_edit_errors(synth):
    with pytest.raises(TTSError, match="same words"):
        synth.edit(DEMO_PROMPT, PROMPT_TEXT, PROMPT_TEXT.upper(), start=0.5, end=1.0)
    with pytest.raises(TTSError, match="outside"):
        synth.edit(DEMO_PROMPT, PROMPT_TEXT, "Something else entirely.", start=3.0, end=30.0)


def test_edit_finds_the_span_with_asr(synth):
    source = load(DEMO_PROMPT, 24000)
    out = synth.edit(source, PROMPT_TEXT, PROMPT_TEXT.replace("canoe", "boat"), seed=0, nfe=2)
    # "The birch canoe ...": the first word is before the change and stays untouched
    assert torch.equal(out.wav[:2400], source.wav[:2400])
    assert np.isfinite(out.numpy()).all()
