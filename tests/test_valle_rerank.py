"""Decoding options of the shipped tiny-valle (with tiny-aligner and tiny-melrvq-phones): choosing among
candidates with the phone aligner (``--rerank phones``) and decoding the NAR's expected codebook
vectors (``--nar-decode expected``), and decoding only the first codebooks (``--decode-codebooks``)."""

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
    # The scorer hears each candidate's codes decoded; with --nar-decode codes that is the audio returned.
    audio = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, num_candidates=3, rerank="phones",
                             nar_decode="codes")
    assert len(seen) == 1 and len(seen[0]) == 3
    assert not torch.equal(seen[0][0], seen[0][2])
    assert torch.equal(audio.wav.reshape(-1), seen[0][2].reshape(-1))
    seen.clear()
    synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, num_candidates=3)  # likelihood: not heard
    assert seen == []


def test_nar_decode_expected_decodes_the_expected_vectors(synth, monkeypatch):
    from tts.errors import TTSError

    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    codes = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, nar_decode="codes")
    expected = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, nar_decode="expected")
    assert expected.wav.shape == codes.wav.shape and torch.isfinite(expected.wav).all()
    assert not torch.allclose(expected.wav, codes.wav, atol=1e-3)

    class CodesOnly:  # a codec without codebook vectors (as EnCodec here)
        def __getattr__(self, name):
            if name in ("latent", "decode_latent"):
                raise AttributeError(name)
            return getattr(real, name)

    real = synth.backend.codec
    monkeypatch.setattr(synth.backend, "codec", CodesOnly())
    with pytest.raises(TTSError, match="--nar-decode expected needs a codec"):
        synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, nar_decode="expected")


def test_decode_codebooks_decodes_the_first_codebooks_after_the_prompts(synth, monkeypatch):
    from tts.errors import TTSError

    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    full = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, nar_decode="codes")
    decoded = []
    real = synth.backend.codec.decode
    monkeypatch.setattr(synth.backend.codec, "decode", lambda codes: decoded.append(codes.clone()) or real(codes))
    for k in (1, 3):
        audio = synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, decode_codebooks=k,
                                 nar_decode="codes")  # the codes path goes through codec.decode
        assert decoded[-1].shape[1] == k  # the prompt's context and the new frames, k codebooks each
        assert audio.wav.shape == full.wav.shape and not torch.allclose(audio.wav, full.wav, atol=1e-3)
    q = synth.backend.model.config.n_codebooks
    with pytest.raises(TTSError, match=f"--decode-codebooks {q + 1} is more than .* \\({q}\\)"):
        synth.synthesize(SENTENCE, DEMO_PROMPT, prompt_text=text, seed=0, decode_codebooks=q + 1)
