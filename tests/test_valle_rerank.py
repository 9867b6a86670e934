"""Choosing among VALL-E candidates with the phone aligner (``--rerank phones``), on the shipped
tiny-valle and tiny-aligner."""

import pytest
import torch
from conftest import DEMO_PROMPT, REPO

pytestmark = pytest.mark.usefixtures("single_thread")

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def synth():
    from tts import Synthesizer

    return Synthesizer.from_pretrained("tiny-valle", device="cpu")


def _ids(synth, text):
    return list(synth.frontend().encode(text).ids)


def test_phone_scores_prefer_the_words_the_audio_says(synth):
    from tts.audio import load

    wav = load(DEMO_PROMPT, synth.backend.sample_rate).wav
    said = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    own, other = (synth.backend.phone_scores([wav], _ids(synth, t))[0] for t in (said, SENTENCE))
    assert own > other + 1.0, (own, other)  # per phone, in nats
    short = synth.backend.phone_scores([wav[:2400]], _ids(synth, said))[0]
    assert short == float("-inf")  # 0.1 s cannot hold the phones


def test_rerank_phones_keeps_the_candidate_the_aligner_scores_highest(synth, monkeypatch):
    seen = []

    def scores(wavs, ids):
        seen.append([w.clone() for w in wavs])
        return [0.0, 0.0, 5.0]  # the third candidate

    monkeypatch.setattr(synth.backend, "phone_scores", scores)
    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    audio = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, num_candidates=3, rerank="phones")
    assert len(seen) == 1 and len(seen[0]) == 3
    assert not torch.equal(seen[0][0], seen[0][2])
    assert torch.equal(audio.wav.reshape(-1), seen[0][2].reshape(-1))
    seen.clear()
    synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, num_candidates=3)  # likelihood: not heard
    assert seen == []
