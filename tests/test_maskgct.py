"""codec_lm.maskgct: cosine schedule, iterative unmasking, losses, guidance, lengths, batching, overfitting."""

import math

import pytest
import torch

from codec_lm.maskgct import (MaskGCT, MaskGCTConfig, MaskGCTSampling, estimate_frames, generate, iterative_decode,
                              masking_schedule, synthesize)
from codec_lm.maskgct.generate import s2a_logits, t2s_logits
from codec_lm.maskgct.model import random_mask
from codec_lm.maskgct.sampling import guide

SMALL = dict(n_codebooks=3, codebook_size=32, dim=32, heads=2, t2s_layers=1, s2a_layers=1, ff_mult=2, dropout=0.0)


pytestmark = pytest.mark.usefixtures("single_thread")


def random_model(seed=0, **kw):
    torch.manual_seed(seed)
    return MaskGCT(MaskGCTConfig(**{**SMALL, **kw})).eval()


def items(seed=1, q=3, k=32):
    """Three prompts and texts of different lengths."""
    g = torch.Generator().manual_seed(seed)
    prompts = [torch.randint(0, k, (q, p), generator=g) for p in (20, 7, 13)]
    pph = [torch.randint(5, 200, (n,), generator=g).tolist() for n in (9, 4, 12)]
    tph = [torch.randint(5, 200, (n,), generator=g).tolist() for n in (10, 16, 5)]
    return prompts, pph, tph


def test_config_validation():
    cfg = MaskGCTConfig()
    assert cfg.first_acoustic == 1 and cfg.acoustic_codebooks == list(range(1, 8)) and cfg.semantic_size == 1024
    for bad in (dict(dim=30, heads=4), dict(n_codebooks=0), dict(codebook_size=1), dict(dropout=1.0),
                dict(s2a_layers=0), dict(semantic_source="w2v-bert"), dict(separator_id=500),
                dict(prompt_min_fraction=0.5, prompt_max_fraction=0.2), dict(drop_all_prob=0.6, drop_prompt_prob=0.5),
                dict(s2a_layer_weights="cosine"), dict(heads=True), dict(frame_rate=0),
                dict(s2a_full_mask_prob=1.5)):
        with pytest.raises(ValueError, match="MaskGCTConfig|drop_all_prob"):
            MaskGCTConfig(**bad)
    assert MaskGCT(MaskGCTConfig(**{**SMALL, "n_codebooks": 1, "s2a_layers": 0})).s2a is None
    for bad in (dict(steps=0), dict(s2a_steps=()), dict(s2a_steps=(4, 0)), dict(top_k=-1), dict(cfg=-1.0),
                dict(cfg_rescale=2.0), dict(speed=0.0), dict(temperature=-0.1)):
        with pytest.raises(ValueError):
            MaskGCTSampling(**bad)
    assert MaskGCTSampling(s2a_steps=3).s2a_steps == (3,)
    assert [MaskGCTSampling().steps_for(j) for j in range(5)] == [8, 2, 1, 1, 1]


@pytest.mark.parametrize("steps", [1, 2, 5, 25])
@pytest.mark.parametrize("n", [1, 2, 7, 100, 938])
def test_schedule_unmasks_expected_counts_and_ends_unmasked(n, steps):
    left = masking_schedule(torch.tensor([n]), steps)[0].tolist()
    assert len(left) == steps and left[-1] == 0
    unmasked = [a - b for a, b in zip([n, *left[:-1]], left)]
    assert sum(unmasked) == n
    for j, count in enumerate(unmasked):
        before = n if j == 0 else left[j - 1]
        assert count >= (1 if before > 0 else 0)  # no wasted step while frames are left
    # the cosine schedule, where it unmasks at least one frame per step
    expected, prev = [], n
    for s in range(1, steps + 1):
        prev = 0 if s == steps else min(math.floor(n * math.cos(math.pi / 2 * s / steps)), max(prev - 1, 0))
        expected.append(prev)
    assert left == expected
    if n >= 100 and steps > 1:  # few frames early, many late
        assert unmasked[0] < unmasked[-1]
    if n == 938 and steps == 25:
        assert left[:5] == [936, 930, 921, 908, 892] and unmasked[-1] == 58  # 10 s at 93.75 Hz, default steps


def test_iterative_decode_follows_the_schedule_per_item():
    starts, lengths = torch.tensor([3, 0, 5]), torch.tensor([40, 7, 1])
    n, k, mask_id, steps = 45, 16, 16, 6
    seen = []

    def logits_fn(tokens):
        span = (torch.arange(n)[None] >= starts[:, None]) & (torch.arange(n)[None] < (starts + lengths)[:, None])
        seen.append(((tokens == mask_id) & span).sum(1).tolist())
        assert not ((tokens == mask_id) & ~span).any()  # frames outside the spans are never masked
        return torch.randn(3, n, k)

    tokens = torch.randint(0, k, (3, n))
    out = iterative_decode(logits_fn, tokens, starts, lengths, mask_id, steps, top_k=4)
    plan = masking_schedule(lengths, steps)
    expected = [lengths.tolist()] + plan.T.tolist()
    assert seen == expected[: len(seen)] and len(seen) == steps
    assert not (out == mask_id).any()
    outside = torch.ones(3, n, dtype=torch.bool)
    for i in range(3):
        outside[i, starts[i]: starts[i] + lengths[i]] = False
    assert torch.equal(out[outside], tokens[outside])


def test_random_mask_stays_in_the_target_and_masks_at_least_one():
    start, end = torch.tensor([0, 5, 9]), torch.tensor([10, 12, 10])
    mask = random_mask(start, end, 12, torch.tensor([0.0, 0.5, 1.0]))
    assert mask.sum(1).tolist() == [1, 4, 1]
    for i in range(3):
        assert mask[i, : start[i]].sum() == 0 and mask[i, end[i]:].sum() == 0


def test_forward_losses_and_gradients():
    model = random_model(drop_all_prob=0.3, drop_prompt_prob=0.3).train()
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 32, (4, 3, 25), generator=g)
    code_lens = torch.tensor([25, 20, 2, 9])
    for i, n in enumerate(code_lens.tolist()):
        codes[i, :, n:] = -1
    phonemes = torch.randint(5, 200, (4, 11), generator=g)
    out = model(phonemes, torch.tensor([11, 8, 3, 5]), codes, code_lens)
    assert set(out) == {"loss", "t2s_loss", "t2s_acc", "s2a_loss", "s2a_acc"}
    assert torch.isfinite(out["loss"]) and abs(out["t2s_loss"].item() - math.log(32)) < 1.0
    out["loss"].backward()
    assert all(p.grad is not None for p in model.t2s.parameters())
    assert model.s2a.head_weight.grad.abs().sum() > 0


def _s2a_inputs(model, **kw):
    """The S2A call of one training forward: ``(acoustic input [b, a, n], layer [b], prompt_lens [b])``."""
    seen = {}

    def hook(_module, args):
        seen.update(x=args[1].clone(), prompt_lens=args[3].clone(), layer=args[4].clone())

    handle = model.s2a.register_forward_pre_hook(hook)
    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 32, (6, model.config.n_codebooks, 40), generator=g)
    try:
        model(torch.randint(5, 200, (6, 9), generator=g), torch.full((6,), 9), codes, torch.full((6,), 40), **kw)
    finally:
        handle.remove()
    return seen["x"], seen["layer"], seen["prompt_lens"]


def test_s2a_full_masking_and_the_layer_probe():
    """One-step S2A decoding predicts a codebook on the whole target: s2a_full_mask_prob trains that case,
    s2a_full / s2a_layer probe it; the codebooks above the learnt one are hidden on the target."""
    model = random_model(n_codebooks=4, drop_all_prob=0.0, drop_prompt_prob=0.0).train()
    mask_id = model.s2a.mask_id
    for kw, cfg in ((dict(s2a_full=True, s2a_layer=1), {}), ({}, dict(s2a_full_mask_prob=1.0))):
        model.config.s2a_full_mask_prob = cfg.get("s2a_full_mask_prob", 0.0)
        torch.manual_seed(0)
        x, layer, prompt_lens = _s2a_inputs(model, **kw)
        if kw:
            assert layer.tolist() == [1] * 6
        for i in range(6):
            p, j = int(prompt_lens[i]), int(layer[i])
            assert p > 0 and (x[i, j, p:] == mask_id).all() and (x[i, j, :p] != mask_id).all()
            assert (x[i, j + 1:, p:] == -1).all()
    model.config.s2a_full_mask_prob = 0.0
    torch.manual_seed(0)
    x, layer, prompt_lens = _s2a_inputs(model)  # the cosine schedule: some items keep some target frames
    kept = [(x[i, int(layer[i]), int(prompt_lens[i]):] != mask_id).any().item() for i in range(6)]
    assert any(kept)


def test_quadratic_layer_weights_favour_the_first_codebooks():
    weights = random_model(n_codebooks=4, s2a_layer_weights="quadratic")._layer_weights("cpu")
    assert weights.tolist() == [9.0, 4.0, 1.0]  # codebook 1 is the semantic stream; S2A learns 2..4
    assert random_model(n_codebooks=4)._layer_weights("cpu").tolist() == [3.0, 2.0, 1.0]


def assert_t2s_ignores_padding(model, tokens_high, g):
    """T2S gives the second item of a padded batch of 2 the logits it gets alone (tokens in [0, tokens_high),
    drawn from the generator ``g``).

    Returns the batch: ``text, text_lens, tokens, lens, prompt_lens``."""
    text, tokens = torch.randint(5, 200, (2, 12), generator=g), torch.randint(0, tokens_high, (2, 30), generator=g)
    text_lens, lens, prompt_lens = torch.tensor([12, 5]), torch.tensor([30, 11]), torch.tensor([8, 3])
    both = model.t2s(text, text_lens, tokens, lens, prompt_lens)
    alone = model.t2s(text[1:, :5], text_lens[1:], tokens[1:, :11], lens[1:], prompt_lens[1:])
    assert torch.allclose(both[1, :11], alone[0], atol=1e-5)
    return text, text_lens, tokens, lens, prompt_lens


def test_padding_does_not_change_an_items_logits():
    assert_t2s_ignores_padding(random_model(), 33, torch.Generator().manual_seed(2))


def test_cfg_scale_zero_equals_the_conditional_prediction():
    model = random_model()
    g = torch.Generator().manual_seed(3)
    text, tokens = torch.randint(5, 200, (2, 10), generator=g), torch.randint(0, 33, (2, 24), generator=g)
    text_lens, lens, prompt_lens = torch.tensor([10, 6]), torch.tensor([24, 15]), torch.tensor([9, 4])
    cond = model.t2s(text, text_lens, tokens, lens, prompt_lens)
    assert torch.equal(t2s_logits(model, text, text_lens, tokens, lens, prompt_lens, cfg=0.0), cond)
    assert guide(cond, torch.randn_like(cond), 0.0, rescale=0.75) is cond
    # cfg > 0, in one batch of 2b or in two calls: conditional and unconditional (the target frames alone)
    semantic, acoustic = tokens.clamp(max=31), torch.randint(0, 33, (2, 2, 24), generator=g)
    layer = torch.tensor([0, 1])
    cond_a = model.s2a(semantic, acoustic, lens, prompt_lens, layer)
    assert torch.equal(s2a_logits(model, semantic, acoustic, lens, prompt_lens, layer, cfg=0.0), cond_a)
    for batched in (True, False):
        guided = t2s_logits(model, text, text_lens, tokens, lens, prompt_lens, cfg=2.0, batched=batched)
        guided_a = s2a_logits(model, semantic, acoustic, lens, prompt_lens, layer, cfg=2.0, batched=batched)
        for i in range(2):
            p, n = prompt_lens[i].item(), lens[i].item()
            none = torch.tensor([0])
            un = model.t2s(text[i:i + 1], none, tokens[i:i + 1, p:n], torch.tensor([n - p]), none)
            assert torch.allclose(guided[i, p:n], cond[i, p:n] + 2.0 * (cond[i, p:n] - un[0]), atol=1e-4)
            un = model.s2a(semantic[i:i + 1, p:n], acoustic[i:i + 1, :, p:n], torch.tensor([n - p]), none,
                           layer[i:i + 1])
            assert torch.allclose(guided_a[i, p:n], cond_a[i, p:n] + 2.0 * (cond_a[i, p:n] - un[0]), atol=1e-4)
    # and whole generations: cfg=0 runs the conditional model only
    prompts, pph, tph = items()
    a = synthesize(model, prompts[:1], pph[:1], tph[:1], MaskGCTSampling(cfg=0.0, seed=5), frames=[12])
    calls = []
    original = model.t2s.forward

    def counting(*args):
        calls.append(args[0].shape[0])
        return original(*args)

    model.t2s.forward = counting
    b = synthesize(model, prompts[:1], pph[:1], tph[:1], MaskGCTSampling(cfg=0.0, seed=5), frames=[12])
    assert torch.equal(a[0], b[0]) and set(calls) == {1}


def test_duration_and_speed_set_the_length():
    model = random_model()
    prompts, pph, tph = items()
    out = synthesize(model, prompts, pph, tph, MaskGCTSampling(steps=3, seed=0), frames=[17, None, 1])
    assert out[0].shape == (3, 17) and out[2].shape == (3, 1)
    assert out[1].shape[1] == estimate_frames(7, 4, 16) == round(7 / 4 * 16)
    assert estimate_frames(100, 10, 20, speed=2.0) == 100 and estimate_frames(100, 10, 20, speed=0.5) == 400
    fast = synthesize(model, prompts[1:2], pph[1:2], tph[1:2], MaskGCTSampling(steps=2, speed=2.0))
    assert fast[0].shape[1] == round(7 / 4 * 16 / 2)
    for codes in out:
        assert codes.min() >= 0 and codes.max() < 32
    with pytest.raises(ValueError, match="codes"):
        synthesize(model, [prompts[0][:2]], pph[:1], tph[:1])


def test_seeded_batched_generation_matches_one_by_one():
    model = random_model()
    prompts, pph, tph = items()
    opts = MaskGCTSampling(steps=5, s2a_steps=(3, 1), seed=11, cfg=1.5, s2a_cfg=1.0)
    batch = synthesize(model, prompts, pph, tph, opts, frames=[14, 9, 20])
    again = synthesize(model, prompts, pph, tph, opts, frames=[14, 9, 20])
    assert all(torch.equal(a, b) for a, b in zip(batch, again))
    for i, f in enumerate([14, 9, 20]):
        alone = synthesize(model, prompts[i:i + 1], pph[i:i + 1], tph[i:i + 1], opts, frames=[f])
        assert torch.equal(alone[0], batch[i]), i
    other = synthesize(model, prompts, pph, tph, MaskGCTSampling(steps=5, s2a_steps=(3, 1), seed=12, cfg=1.5),
                       frames=[14, 9, 20])
    assert not all(torch.equal(a, b) for a, b in zip(batch, other))


def test_prompt_frames_are_kept():
    model = random_model()
    prompts, pph, tph = items()
    text = torch.nn.utils.rnn.pad_sequence([torch.tensor(p + [4] + t) for p, t in zip(pph, tph)], batch_first=True)
    text_lens = torch.tensor([len(p) + 1 + len(t) for p, t in zip(pph, tph)])
    prompt = torch.nn.utils.rnn.pad_sequence([p.T for p in prompts], batch_first=True, padding_value=-1).transpose(1, 2)
    prompt_lens = torch.tensor([p.shape[1] for p in prompts])
    out = generate(model, text, text_lens, prompt, prompt_lens, torch.tensor([5, 6, 7]), MaskGCTSampling(steps=2))
    for i, p in enumerate(prompts):
        n = p.shape[1]
        assert torch.equal(out[i, :, :n], p) and (out[i, :, n: n + 5 + i] >= 0).all()
        assert (out[i, :, n + 5 + i:] == -1).all()


def test_tiny_model_overfits_one_utterance_and_reproduces_it():
    """MaskGIT training on one utterance, then both stages regenerate its target from its prompt exactly."""
    torch.manual_seed(0)
    model = MaskGCT(MaskGCTConfig(**{**SMALL, "dim": 64, "t2s_layers": 2, "s2a_layers": 2}, drop_all_prob=0.0,
                                  drop_prompt_prob=0.0, prompt_min_fraction=0.1, prompt_max_fraction=0.5))
    g = torch.Generator().manual_seed(1)
    n, length, b = 48, 16, 8
    codes = torch.randint(0, 32, (1, 3, n), generator=g)
    phonemes = torch.randint(5, 200, (1, length), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(260):
        out = model(phonemes.expand(b, -1), torch.full((b,), length), codes.expand(b, -1, -1), torch.full((b,), n))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    assert out["t2s_acc"] > 0.95 and out["s2a_acc"] > 0.95, {k: float(v) for k, v in out.items()}
    model.eval()
    p = 12
    for opts in (MaskGCTSampling(cfg=0.0, seed=0), MaskGCTSampling(cfg=0.0, temperature=1.0, top_k=0, seed=1)):
        res = generate(model, phonemes, torch.tensor([length]), codes[:, :, :p], torch.tensor([p]),
                       torch.tensor([n - p]), opts)
        assert torch.equal(res, codes), (res != codes).sum()


def test_bench_maskgct_reports_stages_steps_and_decode(monkeypatch, capsys):
    """`tts bench maskgct` on a narrow model (speed of the real one: README); JSON and table output."""
    import json

    from tts.bench import maskgct as bench
    from tts.cli import main

    monkeypatch.setitem(bench.SIZES, "default", {"dim": 32, "heads": 2, "t2s_layers": 1, "s2a_layers": 1, "ff_mult": 2})
    assert main(["bench", "maskgct", "--seconds", "0.3", "--steps-list", "2,25", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    default = result["default"]
    assert (default["steps"], default["s2a_steps"], default["cfg"]) == (25, [8, 2, 1], 2.5)
    assert result["frames"] == 28 and result["decode_seconds"] > 0
    assert [r["steps"] for r in result["runs"]] == [25, 2, 25, 25, 25, 10]
    assert (result["runs"][-1]["cfg"], result["runs"][-1]["s2a_steps"]) == (0.0, [1])  # tiny-maskgct's defaults
    assert abs(result["total_rtf"] - default["rtf"] - result["decode_rtf"]) < 1e-9
    assert main(["bench", "maskgct", "--seconds", "0.2", "--steps-list", "3"]) == 0
    text = capsys.readouterr().out
    assert "25 (default)" in text and "codec decode excluded" in text
    assert main(["bench", "maskgct", "--steps-list", "0,x"]) == 2
    # Semantic tokens at a quarter of the frame rate: T2S writes 8 tokens for 28 frames (whole tokens: 32)
    assert main(["bench", "maskgct", "--seconds", "0.3", "--steps-list", "2", "--semantic", "aligner", "--json"]) == 0
    sem = json.loads(capsys.readouterr().out)
    assert sem["semantic"] == "aligner" and sem["prompt_frames"] % 4 == 0 and sem["default"]["t2s_seconds"] > 0
    # aligned: each frame's phoneme in both stages, no phoneme prefix
    assert main(["bench", "maskgct", "--seconds", "0.3", "--steps-list", "2", "--semantic", "aligned", "--json"]) == 0
    aligned = json.loads(capsys.readouterr().out)
    assert aligned["semantic"] == "aligned" and aligned["frames"] == 28 and aligned["default"]["s2a_seconds"] > 0
