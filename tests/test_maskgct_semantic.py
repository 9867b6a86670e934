"""codec_lm.maskgct with a semantic tokenizer (``semantic_source="aligner"``): tokens at 1/4 of the
code frame rate, T2S over them, S2A over all codebooks; each stage overfits one utterance, a
text-blind T2S shows no text gap, and the codebook1 model is unchanged."""

import pytest
import torch

from codec_lm.maskgct import MaskGCT, MaskGCTConfig, MaskGCTSampling, generate, synthesize, synthesize_acoustic
from codec_lm.maskgct.generate import generate_semantic
from codec_lm.maskgct.sampling import make_generators
from test_maskgct import assert_t2s_ignores_padding

SMALL = dict(n_codebooks=3, codebook_size=32, dim=32, heads=2, t2s_layers=1, s2a_layers=1, ff_mult=2, dropout=0.0)
SEMANTIC = dict(semantic_source="aligner", semantic_clusters=16, semantic_hop=4)


pytestmark = pytest.mark.usefixtures("single_thread")


def semantic_model(seed=0, **kw):
    torch.manual_seed(seed)
    return MaskGCT(MaskGCTConfig(**{**SMALL, **SEMANTIC, **kw})).eval()


def test_config_of_the_semantic_source():
    cfg = MaskGCTConfig(**SMALL, **SEMANTIC)
    assert cfg.semantic_size == 16 and cfg.first_acoustic == 0 and cfg.acoustic_codebooks == [0, 1, 2]
    old = MaskGCTConfig(**SMALL)  # a codebook1 config, as old checkpoints hold it
    assert (old.semantic_clusters, old.semantic_hop, old.semantic_size, old.first_acoustic) == (0, 1, 32, 1)
    for bad in (dict(semantic_source="aligner"), dict(semantic_source="aligner", semantic_clusters=16, semantic_hop=0),
                dict(semantic_clusters=16), dict(semantic_hop=4), dict(**SEMANTIC, s2a_layers=0),
                dict(semantic_source="aligner", semantic_clusters=16.0, semantic_hop=4)):
        with pytest.raises(ValueError, match="MaskGCTConfig"):
            MaskGCTConfig(**{**SMALL, **bad})
    # the phase embedding exists only with several frames per token: a codebook1 model's weights are as before
    assert semantic_model().s2a.phase.num_embeddings == 4
    torch.manual_seed(0)
    assert not any("phase" in k for k in MaskGCT(old).state_dict())


def batch(seed=0, b=3, lens=(40, 29, 13), k=32, clusters=16):
    g = torch.Generator().manual_seed(seed)
    n = max(lens)
    codes = torch.randint(0, k, (b, 3, n), generator=g)
    code_lens = torch.tensor(lens)
    for i, m in enumerate(lens):
        codes[i, :, m:] = -1
    sem_lens = -(-code_lens // 4)
    semantic = torch.randint(0, clusters, (b, int(sem_lens.max())), generator=g)
    for i, m in enumerate(sem_lens.tolist()):
        semantic[i, m:] = -1
    phonemes = torch.randint(5, 200, (b, 9), generator=g)
    return phonemes, torch.tensor([9, 6, 4]), codes, code_lens, semantic


def test_forward_losses_and_errors():
    model = semantic_model(drop_all_prob=0.3, drop_prompt_prob=0.3).train()
    phonemes, ph_lens, codes, code_lens, semantic = batch()
    out = model(phonemes, ph_lens, codes, code_lens, semantic)
    assert torch.isfinite(out["loss"]) and abs(out["t2s_loss"].item() - torch.log(torch.tensor(16.0)).item()) < 1.0
    out["loss"].backward()
    assert model.t2s.head.weight.grad.shape == (16, 32) and model.s2a.head_weight.grad[0].abs().sum() > 0
    assert model.s2a.phase.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="needs the semantic tokens"):
        model(phonemes, ph_lens, codes, code_lens)
    with pytest.raises(ValueError, match="at least 10 are needed"):
        model(phonemes, ph_lens, codes, code_lens, semantic[:, :9])
    assert model.semantic_lengths(torch.tensor([1, 4, 5, 8])).tolist() == [1, 1, 2, 2]
    assert model.upsample(torch.tensor([[3, 5]]), 7).tolist() == [[3, 3, 3, 3, 5, 5, 5]]
    old = MaskGCT(MaskGCTConfig(**SMALL))
    with pytest.raises(ValueError, match="do not pass semantic"):
        old(phonemes, ph_lens, codes, code_lens, semantic)


def test_prompt_of_whole_tokens_and_lengths():
    model = semantic_model()
    g = torch.Generator().manual_seed(4)
    prompts = [torch.randint(0, 32, (3, p), generator=g) for p in (22, 9)]  # 5 and 2 whole tokens (2 and 1 left over)
    prompt_sem = [torch.randint(0, 16, (s,), generator=g) for s in (6, 3)]
    pph, tph = [[7, 8, 9, 10, 11], [12, 13]], [[20, 21, 22, 23, 24, 25, 26, 27, 28, 29], [30, 31, 32]]
    opts = MaskGCTSampling(steps=3, s2a_steps=(2, 1), seed=3)
    out = synthesize(model, prompts, pph, tph, opts, prompt_semantic=prompt_sem)
    # estimated in tokens from the prompt's whole tokens: round(5 / 5 * 10) = 10, round(2 / 2 * 3) = 3
    assert [o.shape for o in out] == [(3, 40), (3, 12)] and all(o.min() >= 0 and o.max() < 32 for o in out)
    timed = synthesize(model, prompts, pph, tph, opts, frames=[17, 1], prompt_semantic=prompt_sem)
    assert [o.shape[1] for o in timed] == [17, 1]  # a given length is met exactly
    alone = synthesize(model, prompts[:1], pph[:1], tph[:1], opts, frames=[17], prompt_semantic=prompt_sem[:1])
    assert torch.equal(alone[0], timed[0])  # batched = one by one
    with pytest.raises(ValueError, match="needs prompt_semantic"):
        synthesize(model, prompts, pph, tph, opts)
    text = torch.tensor([pph[0] + [4] + tph[0]])
    with pytest.raises(ValueError, match="whole semantic tokens"):
        generate(model, text, torch.tensor([16]), prompts[0][None], torch.tensor([22]), torch.tensor([8]), opts,
                 prompt_semantic=prompt_sem[0][None])


def test_s2a_alone_follows_the_given_tokens_in_both_modes():
    model = semantic_model()
    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(0, 32, (3, 12), generator=g), torch.randint(0, 32, (3, 8), generator=g)]
    targets = [torch.randint(0, 16, (5,), generator=g), torch.randint(0, 16, (2,), generator=g)]
    prompt_sem = [torch.randint(0, 16, (3,), generator=g), torch.randint(0, 16, (2,), generator=g)]
    out = synthesize_acoustic(model, prompts, targets, MaskGCTSampling(s2a_steps=1, seed=0), prompt_semantic=prompt_sem)
    assert [o.shape for o in out] == [(3, 20), (3, 8)]
    with pytest.raises(ValueError, match="needs prompt_semantic"):
        synthesize_acoustic(model, prompts, targets)
    torch.manual_seed(0)
    old = MaskGCT(MaskGCTConfig(**SMALL)).eval()  # codebook1: the targets are codebook 1 itself
    firsts = [torch.randint(0, 32, (9,), generator=g)]
    res = synthesize_acoustic(old, prompts[:1], firsts, MaskGCTSampling(s2a_steps=2, seed=0))
    assert res[0].shape == (3, 9) and torch.equal(res[0][0], firsts[0])


def test_s2a_alone_keeps_given_codebooks_and_makes_the_rest():
    """given_codes (the S2A check's diagnostic): the first k codebooks are the given ones (the last frame
    repeated to fill whole tokens), the others are S2A's, as they would be from those codes; all of them given
    is the codes themselves."""
    model = semantic_model()
    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(0, 32, (3, 12), generator=g), torch.randint(0, 32, (3, 8), generator=g)]
    targets = [torch.randint(0, 16, (5,), generator=g), torch.randint(0, 16, (2,), generator=g)]
    prompt_sem = [torch.randint(0, 16, (3,), generator=g), torch.randint(0, 16, (2,), generator=g)]
    true = [torch.randint(0, 32, (3, 19), generator=g), torch.randint(0, 32, (3, 8), generator=g)]
    run = lambda k: synthesize_acoustic(model, prompts, targets, MaskGCTSampling(s2a_steps=2, seed=0),
                                        prompt_semantic=prompt_sem, given_codes=[t[:k] for t in true] if k else None)
    free, one, every = run(0), run(1), run(3)
    assert torch.equal(one[0][0, :19], true[0][0]) and one[0][0, 19] == true[0][0, 18]
    assert torch.equal(one[1][0], true[1][0])
    assert not torch.equal(one[0][1:], free[0][1:])  # the upper codebooks follow the given first one
    assert torch.equal(every[1], true[1]) and torch.equal(every[0][:, :19], true[0])
    for bad in ([true[0][:1], true[1][:2]], [true[0][:0], true[1][:0]], [true[0][:1]]):
        with pytest.raises(ValueError, match="given_codes"):
            synthesize_acoustic(model, prompts, targets, prompt_semantic=prompt_sem, given_codes=bad)


def one_utterance():
    g = torch.Generator().manual_seed(1)
    n, length = 48, 16
    codes = torch.randint(0, 32, (1, 3, n), generator=g)
    semantic = torch.randint(0, 16, (1, n // 4), generator=g)
    phonemes = torch.randint(5, 200, (1, length), generator=g)
    return phonemes, codes, semantic


def overfit(stage: str, steps: int) -> tuple[MaskGCT, dict]:
    torch.manual_seed(0)
    model = MaskGCT(MaskGCTConfig(**{**SMALL, **SEMANTIC, "dim": 64, "t2s_layers": 2, "s2a_layers": 2},
                                  drop_all_prob=0.0, drop_prompt_prob=0.0, prompt_min_fraction=0.1,
                                  prompt_max_fraction=0.5))
    phonemes, codes, semantic = one_utterance()
    b = 8
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(steps):
        out = model(phonemes.expand(b, -1), torch.full((b,), phonemes.shape[1]), codes.expand(b, -1, -1),
                    torch.full((b,), codes.shape[-1]), semantic.expand(b, -1))
        opt.zero_grad()
        out[f"{stage}_loss"].backward()
        opt.step()
    return model.eval(), out


def test_t2s_overfits_one_utterance_of_semantic_tokens():
    """T2S alone: after MaskGIT training on one utterance it regenerates its 9 target tokens from a 3-token prompt."""
    model, out = overfit("t2s", 200)
    assert out["t2s_acc"] > 0.95, {k: float(v) for k, v in out.items()}
    phonemes, _, semantic = one_utterance()
    canvas = semantic.clone()
    canvas[:, 3:] = -1
    for opts in (MaskGCTSampling(cfg=0.0, seed=0), MaskGCTSampling(cfg=0.0, temperature=1.0, top_k=0, seed=1)):
        res = generate_semantic(model, phonemes, torch.tensor([16]), None, torch.tensor([3]), torch.tensor([9]), opts,
                                make_generators(opts.seed, 1, torch.device("cpu")), semantic=canvas)
        assert torch.equal(res, semantic), (res != semantic).sum()


def test_s2a_overfits_one_utterance_from_its_semantic_tokens():
    """S2A alone: after training on one utterance it rebuilds all 3 codebooks of its last 36 frames
    from the true semantic tokens and a 12-frame prompt."""
    model, out = overfit("s2a", 200)
    assert out["s2a_acc"] > 0.95, {k: float(v) for k, v in out.items()}
    _, codes, semantic = one_utterance()
    for opts in (MaskGCTSampling(seed=0), MaskGCTSampling(temperature=1.0, top_k=0, s2a_steps=(4, 2), seed=1)):
        res = synthesize_acoustic(model, [codes[0, :, :12]], [semantic[0, 3:]], opts, prompt_semantic=[semantic[0, :3]])
        assert torch.equal(res[0], codes[0, :, 12:]), (res[0] != codes[0, :, 12:]).sum()


def test_text_gap_fails_for_a_t2s_that_ignores_the_phonemes():
    """The probe can fail in semantic mode: after the same 80 steps on three utterances whose tokens
    follow their phonemes, a T2S whose phoneme embeddings are frozen at zero has (almost) no text
    gap, and one that reads them has a clear one."""
    pytest.importorskip("lightning")
    from recipes.probes import text_gap

    g = torch.Generator().manual_seed(7)
    lens = [10, 8, 12]
    phonemes = torch.zeros(3, 12, dtype=torch.long)
    semantic = torch.full((3, 12), -1)
    for i, n in enumerate(lens):
        phonemes[i, :n] = torch.randint(5, 60, (n,), generator=g)
        semantic[i, :n] = phonemes[i, :n] % 16  # one token per phoneme: the text decides the tokens
    code_lens = torch.tensor(lens) * 4
    codes = torch.randint(0, 32, (3, 3, 48), generator=g)
    data = {"phonemes": phonemes, "phoneme_lens": torch.tensor(lens), "codes": codes, "code_lens": code_lens,
            "semantic": semantic}
    gaps = {}
    for reads_text in (False, True):
        torch.manual_seed(0)
        model = MaskGCT(MaskGCTConfig(**{**SMALL, **SEMANTIC, "dim": 64}, drop_all_prob=0.0, drop_prompt_prob=0.0))
        if not reads_text:
            rows = model.t2s.embed.weight
            rows.data[: model.config.vocab_size] = 0
            rows.register_hook(lambda grad: torch.cat([torch.zeros_like(grad[:500]), grad[500:]]))
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)

        def loss(b, model=model):
            return model(b["phonemes"], b["phoneme_lens"], b["codes"], b["code_lens"], b["semantic"])["loss"]

        for _ in range(80):
            opt.zero_grad()
            loss(data).backward()
            opt.step()

        class Probe:
            text_keys = ("phonemes", "phoneme_lens")

            def probe_loss(self, b, loss=loss):
                return loss(b)

        model.eval()
        gaps[reads_text] = text_gap(Probe(), [data], seed=0)
    assert abs(gaps[False]) < 0.05 and gaps[True] > 1.0, gaps


def test_stretched_text_positions():
    """``text_positions="stretched"``: the phonemes' rotary positions spread over the tokens' span;
    at the positions 0..n-1 the tables are Rotary's own, and an item's logits do not depend on the batch."""
    from nn_common import Rotary

    rotary = Rotary(8)
    cos, sin = rotary(5, torch.device("cpu"))
    cos_at, sin_at = rotary.at(torch.arange(5.0)[None].expand(2, -1))
    assert cos_at.shape == (2, 1, 5, 8) and torch.allclose(cos_at[1, 0], cos) and torch.allclose(sin_at[0, 0], sin)
    with pytest.raises(ValueError, match="text_positions"):
        MaskGCTConfig(**SMALL, text_positions="diagonal")
    model = semantic_model(text_positions="stretched")
    g = torch.Generator().manual_seed(2)
    text, text_lens, tokens, lens, prompt_lens = assert_t2s_ignores_padding(model, 17, g)
    seen = []
    original = model.t2s.encoder.forward
    model.t2s.encoder.forward = lambda x, mask, positions=None: seen.append(positions) or original(x, mask, positions)
    model.t2s(text[1:, :5], text_lens[1:], tokens[1:, :11], lens[1:], prompt_lens[1:])
    expected = [(j + 0.5) * 11 / 5 - 0.5 for j in range(5)] + list(range(11))  # 5 phonemes over 11 tokens
    assert torch.allclose(seen[0][0], torch.tensor(expected))
    model.t2s.encoder.forward = original
    seen.clear()
    plain = semantic_model()  # MaskGCT's own positions: none given, the encoder counts 0..s-1
    own = plain.t2s.encoder.forward
    plain.t2s.encoder.forward = lambda x, mask, positions=None: seen.append(positions) or own(x, mask, positions)
    plain.t2s(text, text_lens, tokens, lens, prompt_lens)
    assert seen == [None]
    prompts = [torch.randint(0, 32, (3, 12), generator=g), torch.randint(0, 32, (3, 8), generator=g)]
    prompt_sem = [torch.randint(0, 16, (3,), generator=g), torch.randint(0, 16, (2,), generator=g)]
    pph, tph = [[7, 8, 9], [10, 11]], [[20, 21, 22, 23], [30, 31, 32]]
    opts = MaskGCTSampling(steps=3, s2a_steps=1, seed=4, cfg=1.5)
    batch = synthesize(model, prompts, pph, tph, opts, prompt_semantic=prompt_sem)
    for i in range(2):
        alone = synthesize(model, prompts[i:i + 1], pph[i:i + 1], tph[i:i + 1], opts, prompt_semantic=prompt_sem[i:i + 1])
        assert torch.equal(alone[0], batch[i])
