"""Every bad input at every entry point (CLI and Python API) is one clear error, never a traceback.

Each case checks the message names the problem (and, where there is one, the fix).
"""

import numpy as np
import pytest
import torch

from conftest import DEMO_PROMPT, REPO, tone
from tts import Synthesizer
from tts.cli import main
from tts.errors import TTSError

PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()


@pytest.fixture
def shipped(random_flow, monkeypatch):
    """Pretend the random model is the shipped tiny-flow."""
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    return random_flow


def cli_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_unknown_model_lists_the_known_ones(shipped, capsys, tmp_path):
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--model", "tiny-nope",
                    "-o", str(tmp_path / "o.wav"))
    assert "No model 'tiny-nope'" in err and "tiny-flow" in err
    with pytest.raises(TTSError, match="tiny-flow"):
        Synthesizer.from_pretrained("tiny-nope")


@pytest.mark.parametrize("text,words", [("", "empty"), ("   ", "empty"), ("?!", "nothing to speak"),
                                        ("🙂", "nothing to speak")])
def test_empty_or_unspeakable_text(shipped, capsys, tmp_path, text, words):
    assert words in cli_error(capsys, "synth", text, "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav"))
    with pytest.raises(ValueError, match=words):
        Synthesizer.from_pretrained("tiny-flow").synthesize(text, DEMO_PROMPT, prompt_text=PROMPT_TEXT)


def test_unsupported_language(shipped, capsys, tmp_path):
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--language", "en-xx",
                    "-o", str(tmp_path / "o.wav"))
    assert "Unknown language 'en-xx'" in err and "en-us" in err


@pytest.mark.parametrize("kind,words", [("missing", "does not exist"), ("text", "not audio"), ("silent", "silent"),
                                        ("short", "at least 1 s")])
def test_bad_prompts(shipped, capsys, tmp_path, write_wav, kind, words):
    if kind == "missing":
        prompt = tmp_path / "nope.wav"
    elif kind == "text":
        prompt = tmp_path / "notes.wav"
        prompt.write_text("not a recording")
    elif kind == "silent":
        prompt = write_wav("silent.wav", np.zeros(48000, dtype=np.float32))
    else:
        prompt = write_wav("short.wav", tone(0.3))
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(prompt), "-o", str(tmp_path / "o.wav"))
    assert words in err and str(prompt.name) in err


def test_output_in_a_missing_folder(shipped, capsys, tmp_path):
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "no" / "o.wav"))
    assert "does not exist" in err and "Create it" in err


def test_existing_output_needs_overwrite(shipped, capsys, tmp_path):
    out = tmp_path / "o.wav"
    out.write_bytes(b"precious")
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "-o", str(out))
    assert "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    err = cli_error(capsys, "edit", str(DEMO_PROMPT), "--transcript", "a", "--new-transcript", "b", "-o", str(out))
    assert "--overwrite" in err and out.read_bytes() == b"precious"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when there is no GPU")
def test_cuda_asked_for_but_absent(shipped, capsys, tmp_path):
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                    "--device", "cuda", "-o", str(tmp_path / "o.wav"))
    assert "CUDA is not available" in err and "--device cpu" in err


def test_options_the_model_does_not_have(shipped, capsys, tmp_path):
    err = cli_error(capsys, "synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                    "--top-k", "5", "-o", str(tmp_path / "o.wav"))
    assert "does not take --top-k" in err and "--nfe" in err
