"""The checkpoints shipped in ``checkpoints/``: complete, within the size budget, documented, and trained.

These load the real shipped weights (not random ones), so they catch a folder that was
committed half-written, a card without its recipe command, or an untrained model.
"""

import re

import pytest
import torch

from conftest import DEMO_PROMPT, REPO
from tts.checkpoint import SHIPPED_DIR, read_checkpoint, shipped_models

SHIPPED = shipped_models()
PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
BUDGET_MIB = 60

pytestmark = pytest.mark.skipif(not SHIPPED, reason="no checkpoints/ in this checkout")


def test_total_size_within_budget():
    total = sum(f.stat().st_size for f in SHIPPED_DIR.rglob("*") if f.is_file())
    assert total < BUDGET_MIB * 2**20, f"checkpoints/ holds {total / 2**20:.1f} MiB, over the {BUDGET_MIB} MiB budget"


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_card_states_recipe_command_and_metrics(name):
    card = (SHIPPED[name] / "README.md").read_text(encoding="utf-8")
    family = read_checkpoint(SHIPPED[name], verify=False).family if (SHIPPED[name] / "model.yaml").is_file() else ""
    # A semantic tokenizer is fitted (k-means), not trained by a recipe: its card names the fitting command.
    made_by = r"`tts prepare semantic-tokenizer --" if family == "semantic" else r"`tts train \w+ --config "
    assert re.search(made_by, card), f"{name}: the card has no recipe command"
    assert "## Measured" in card, f"{name}: the card has no measured metrics"
    measured = card.split("## Measured", 1)[1]
    assert re.search(r"(`|^)tts (eval|bench) ", measured, flags=re.M), f"{name}: the card's metrics have no command"


@pytest.mark.parametrize("name", sorted(n for n, p in SHIPPED.items() if (p / "model.yaml").is_file()))
def test_toolkit_checkpoints_verify(name):
    info = read_checkpoint(SHIPPED[name])  # checks every weight file's sha256 and the dependencies
    for role, dep in info.dependencies.items():
        assert dep.resolve().parent == SHIPPED_DIR.resolve(), f"{name}: its {role} is not shipped beside it"


@pytest.mark.parametrize("name", sorted(n for n in ("tiny-vocos", "tiny-vocos-stft") if n in SHIPPED))
def test_shipped_vocoders_are_trained(name):
    from tts.audio import load
    from tts.vocoder import Vocoder

    voc = Vocoder.from_pretrained(name)
    wav = load(DEMO_PROMPT, voc.sample_rate).wav[None]
    mel = voc.mel(wav)
    l1 = (voc.mel(voc.decode(mel))[..., : mel.shape[-1]] - mel).abs().mean().item()
    # Measured: a randomly initialised Vocos of this config gives 2.94 on this prompt,
    # tiny-vocos 0.53 and tiny-vocos-stft 0.27, on a voice they never heard (flite slt is
    # held out of TinyVoices).
    assert l1 < 1.0, f"{name} copy-synthesis log-mel L1 {l1:.2f}"


# Per model: options that keep synthesis short on CPU (make demo runs tiny-flow's defaults),
# and the bounds on the output's length. The sentence takes about 2.5-3.5 s at the prompt's
# speaking rate; flow and MaskGCT follow that estimate, VALL-E may stop early or run to its
# cap (2x the estimate).
FAST_OPTIONS = {"tiny-flow": {"nfe": 4}, "tiny-maskgct": {"steps": 4, "s2a_steps": 1}, "tiny-valle": {}}
DURATION_BOUNDS = {"tiny-flow": (1.5, 6.0), "tiny-maskgct": (1.5, 6.0), "tiny-valle": (1.0, 9.0)}
SENTENCES = ["The quick brown fox jumped over three lazy dogs.",
             "She sells fresh bread at the market every morning.",
             "Please close the window before it starts to rain."]
# Does it say them? The phone error rate of what the shipped aligner's recognizer hears in
# the three sentences (in the demo prompt's voice, FAST_OPTIONS, seeds 0-2), at most this.
# Measured (corpus PER over the three; the same with seeds 100-102): tiny-flow 0.112 (0.086),
# tiny-valle 0.319 (0.267), tiny-maskgct 0.543 (0.552). A randomly initialised model of
# each one's config (torch seeds 0 and 1), with the same vocoder or codec: 0.879-0.948,
# so even the highest ceiling, MaskGCT's 0.75, fails every untrained model by 0.13 or more.
MAX_PER = {"tiny-flow": 0.35, "tiny-valle": 0.5, "tiny-maskgct": 0.75}


def spoken_per(synth, name: str) -> tuple[float, list]:
    """The corpus PER of ``synth`` saying SENTENCES (seeds 0-2), and the audio."""
    from tts.recognizer import PhoneRecognizer

    recognizer, edits, phones, audios = PhoneRecognizer(), 0.0, 0, []
    for seed, sentence in enumerate(SENTENCES):
        audio = synth.synthesize(sentence, DEMO_PROMPT, prompt_text=PROMPT_TEXT, seed=seed, **FAST_OPTIONS[name])
        n = len(recognizer.phones(sentence))
        edits += recognizer.score(audio.wav, audio.sample_rate, sentence).per * n
        phones += n
        audios.append(audio)
    return edits / phones, audios


@pytest.mark.parametrize("name", sorted(n for n in FAST_OPTIONS if n in SHIPPED))
def test_shipped_tts_models_say_their_sentences(name, single_thread):
    from tts import Synthesizer

    synth = Synthesizer.from_pretrained(name, device="cpu")
    per, audios = spoken_per(synth, name)
    for audio in audios:
        assert audio.sample_rate == 24000 and torch.isfinite(audio.wav).all()
        assert audio.wav.abs().max() > 0.05, f"the shipped {name} produced silence"
    low, high = DURATION_BOUNDS[name]
    assert low < audios[0].duration < high, audios[0].duration  # the demo's sentence
    assert per <= MAX_PER[name], f"{name} says its sentences with a phone error rate of {per:.3f}"


@pytest.mark.skipif("tiny-flow" not in SHIPPED, reason="no shipped tiny-flow")
def test_an_untrained_model_fails_the_phone_error_check(single_thread):
    """The check above fails a model that does not speak: tiny-flow's config, random weights."""
    from tts import Synthesizer

    synth = Synthesizer.from_pretrained("tiny-flow", device="cpu")
    torch.manual_seed(0)
    synth.backend.model = type(synth.backend.model)(synth.backend.model.config).eval()
    per, _ = spoken_per(synth, "tiny-flow")
    assert per > max(MAX_PER.values()), f"a random tiny-flow passes with a phone error rate of {per:.3f}"


def test_models_command_shows_steps_of_every_shipped_model():
    from tts.catalog import describe

    for name, path in SHIPPED.items():
        assert describe(path)["steps"].isdigit(), f"{name}: `tts models` shows no step count"


@pytest.mark.skipif("tiny-aligner" not in SHIPPED, reason="no shipped aligner")
def test_tiny_aligner_is_trained(tinyvoices):
    """Measured on the test corpus (same engine voices, other sentences): a random aligner
    hears nothing right (PER above 1) and misplaces boundaries by hundreds of ms."""
    from tts.eval.alignment import evaluate_aligner

    summary = evaluate_aligner(tinyvoices / "cuts_test_seen.jsonl.gz", "tiny-aligner", limit=10, plots=0)
    assert summary["per"] < 0.3, summary
    assert summary["onsets"] > 100 and summary["boundary_median_ms"] < 25 and summary["within_40ms"] > 0.85, summary


def test_tiny_flow_reads_its_text():
    """The shipped flow model's loss on a recording depends on its transcript (the probe
    behind ``val/text_gap``): lower with the right phonemes than with the same phonemes
    shuffled over the same durations. Measured on the demo prompt (a voice it never heard):
    0.435 against 0.477 over 8 draws; a model that ignores its text gives the same loss."""
    from tts import Synthesizer
    from tts.audio import load_prompt

    synth = Synthesizer.from_pretrained("tiny-flow")
    backend = synth.backend
    wav = load_prompt(DEMO_PROMPT, backend.sample_rate).wav
    mel = backend.vocoder.mel(wav)[0].cpu()
    ids, durations = backend.prompt_durations(mel, list(synth.frontend().encode(PROMPT_TEXT).ids))
    shuffled = ids[torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))]
    model = backend.model.eval()

    def loss(phonemes: torch.Tensor) -> float:
        total = 0.0
        for seed in range(8):  # the same noise, times, masks and dropout for both transcripts
            torch.manual_seed(seed)
            with torch.no_grad():
                total += model(mel[None], torch.tensor([mel.shape[1]]), phonemes[None], torch.tensor([len(phonemes)]),
                               durations[None])["flow_loss"].item()
        return total / 8

    right, wrong = loss(ids), loss(shuffled)
    assert right < wrong - 0.02, f"tiny-flow's loss with its transcript {right:.3f}, with it shuffled {wrong:.3f}"
