"""Generated frames are decoded after the prompt frames they continue (tts.backends.decode_continuation)."""

import pytest
import torch

from tts.backends import DECODE_CONTEXT_SECONDS, decode_continuation

HOP = 4
RATE = 10.0  # frames per second: the context used is round(DECODE_CONTEXT_SECONDS * RATE) frames


class Smoothing:
    """A toy decoder whose samples depend on the frames before them, as a convolutional
    vocoder's do: frame values are upsampled by ``HOP`` and run through a causal moving
    average over ``width`` samples; ``centred`` drops the last frame's samples, as a
    centred Vocos does (``N`` frames -> ``(N - 1) * hop``). Records the frames it was given."""

    def __init__(self, width: int = 9, centred: bool = False) -> None:
        self.width, self.centred, self.calls = width, centred, []

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:  # [1, C, N] -> [1, T]
        self.calls.append(frames.shape[-1])
        x = frames.float().mean(1).repeat_interleave(HOP, dim=-1)
        x = torch.nn.functional.pad(x, (self.width - 1, 0))
        out = x.unfold(-1, self.width, 1).mean(-1)
        return out[:, : out.shape[-1] - HOP] if self.centred else out


@pytest.mark.parametrize("centred", [False, True])
def test_same_length_as_alone_and_the_tail_of_the_joined_decode(centred):
    context, new = torch.rand(2, 30) + 1.0, torch.rand(2, 7) + 1.0
    decode = Smoothing(centred=centred)
    got = decode_continuation(decode, context, new, HOP, RATE)
    alone = decode(new[None])[0]
    k = round(DECODE_CONTEXT_SECONDS * RATE)
    assert decode.calls[0] == k + 7  # only the last k context frames are decoded
    assert got.shape == alone.shape
    joined = decode(torch.cat([context[:, -k:], new], -1)[None])[0]
    assert torch.equal(got, joined[k * HOP:])
    # Decoded alone, the first samples ramp up from silence; after the context they do not.
    assert got[0] > 0.9 and alone[0] < 0.5
    assert torch.allclose(got[-HOP:], alone[-HOP:])  # far from the join both agree


def test_short_or_empty_context():
    new = torch.rand(1, 5)
    decode = Smoothing()
    assert torch.equal(decode_continuation(decode, torch.zeros(1, 0), new, HOP, RATE), decode(new[None])[0])
    short = torch.rand(1, 3)  # fewer frames than a second: all of them are used
    got = decode_continuation(decode, short, new, HOP, RATE)
    assert decode.calls[-1] == 8 and got.shape[-1] == 5 * HOP


def test_maskgct_prompt_frames_follow_whole_semantic_tokens():
    from codec_lm.maskgct import MaskGCT, MaskGCTConfig
    from codec_lm.maskgct.synthesis import whole_prompt_frames

    small = dict(n_codebooks=2, codebook_size=16, vocab_size=20, dim=16, heads=2, t2s_layers=1, s2a_layers=1)
    aligner = MaskGCT(MaskGCTConfig(semantic_source="aligner", semantic_clusters=8, semantic_hop=4, **small))
    assert whole_prompt_frames(aligner, 23) == 20  # cut to whole tokens
    assert whole_prompt_frames(aligner, 23, semantic_tokens=3) == 12  # and to the tokens the audio gave
    codebook1 = MaskGCT(MaskGCTConfig(**small))
    assert whole_prompt_frames(codebook1, 23) == 23
