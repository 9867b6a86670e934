"""tts.prechecks: a run's model, options and prompts are checked before the model loads, and
the Synthesizer takes what they return as it is (the prompt is prepared once, the options
are checked once)."""

import pytest
import soundfile as sf
import torch
from conftest import DEMO_PROMPT

import tts.audio
import tts.prechecks
import tts.synthesizer
from tts.audio import Audio, Prompt, load_prompt
from tts.checkpoint import shipped_models
from tts.cli import main
from tts.errors import TTSError
from tts.options import CheckedOptions
from tts.prechecks import check_model
from tts.synthesizer import Synthesizer

pytestmark = [pytest.mark.usefixtures("single_thread"),
              pytest.mark.skipif("tiny-flow" not in shipped_models(), reason="no checkpoints/ in this checkout")]
PROMPT_TEXT = (DEMO_PROMPT.parent / "demo_prompt.txt").read_text().strip()


def counted(monkeypatch, module, name, calls):
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def test_the_cli_prepares_the_prompt_and_checks_the_options_once(monkeypatch, tmp_path, capsys):
    calls = []
    counted(monkeypatch, tts.audio, "prepare_prompt", calls)  # what load_prompt calls
    counted(monkeypatch, tts.synthesizer, "prepare_prompt", calls)
    counted(monkeypatch, tts.synthesizer, "load_prompt", calls)
    counted(monkeypatch, tts.prechecks, "with_defaults", calls)  # the run's options over the model's own
    counted(monkeypatch, tts.synthesizer, "with_defaults", calls)
    out = tmp_path / "o.wav"
    assert main(["synth", "Three lazy dogs.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                 "--model", "tiny-flow", "--nfe", "2", "--seed", "0", "-o", str(out)]) == 0
    assert sorted(calls) == ["prepare_prompt", "with_defaults"], calls
    # ... and says what the API says for the same inputs (the WAV holds 16-bit samples).
    api = Synthesizer.from_pretrained("tiny-flow", device="cpu").synthesize(
        "Three lazy dogs.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=0, nfe=2)
    wav, sr = sf.read(out, dtype="float32")
    assert sr == api.sample_rate and len(wav) == api.wav.numel()
    assert (torch.from_numpy(wav) - api.wav).abs().max() <= 1.5 / 32768


def test_the_synthesizer_takes_checked_options_and_prompts_as_they_are(tmp_path):
    synth = Synthesizer.from_pretrained("tiny-flow", device="cpu")
    family, checked = check_model("tiny-flow", {"nfe": "3"})
    assert family == "flow" and isinstance(checked, CheckedOptions) and checked["nfe"] == 3
    assert synth.check_options(checked) is checked
    elsewhere = CheckedOptions({"nfe": "3"}, tmp_path)  # checked for another folder: checked again
    assert synth.check_options(elsewhere) == checked and synth.check_options(elsewhere) is not elsewhere
    prompt = load_prompt(DEMO_PROMPT, synth.sample_rate)
    assert isinstance(prompt, Prompt) and synth._prompt(prompt) is prompt
    raw = Audio(prompt.wav.clone(), prompt.sample_rate)  # not known to be prepared: prepared again
    assert synth._prompt(raw) is not raw
    with pytest.raises(TTSError, match="either as keywords or as options="):
        synth.synthesize("Hi.", prompt, prompt_text=PROMPT_TEXT, options=checked, nfe=2)
