"""codec_lm.valle with alignment="monotonic" (VALL-E R) and grouped codes: the step grid, the
losses, the phoneme pointer, cached decoding, batching, overfitting, repetition-aware sampling."""

import math
from unittest import mock

import pytest
import torch

from codec_lm.valle import (VallE, VallEConfig, VallESampling, generate_aligned, generate_ar_aligned, group_codes,
                            step_durations, synthesize, ungroup_codes)
from codec_lm.valle.alignment import advance_targets, align_batch, phone_windows
from codec_lm.valle.sampling import repetition_rate

SMALL = dict(n_codebooks=4, codebook_size=64, dim=64, heads=2, ar_layers=2, nar_layers=2, dropout=0.0,
             alignment="monotonic", group_size=2)


pytestmark = pytest.mark.usefixtures("single_thread")


def random_model(seed=0, **kw):
    torch.manual_seed(seed)
    return VallE(VallEConfig(**{**SMALL, **kw})).eval()


def items(seed=1, k=64):
    """Three prompts of different lengths (one odd) with aligned phonemes, and targets of 3, 6 and 1 phonemes."""
    g = torch.Generator().manual_seed(seed)
    prompt_durations = [[5, 6, 1, 7, 8, 4], [3, 5, 3], [2, 3, 4, 5, 6, 1, 2]]
    codes = [torch.randint(0, k, (4, sum(d)), generator=g) for d in prompt_durations]
    phonemes = [[4, *torch.randint(5, 200, (len(d) - 2,), generator=g).tolist(), 4] for d in prompt_durations]
    targets = [torch.randint(5, 200, (n,), generator=g).tolist() for n in (3, 6, 1)]
    return codes, phonemes, prompt_durations, targets


def aligned_inputs(model, seed=1):
    """The padded AR inputs :func:`synthesize` builds for :func:`items` (3 rows)."""
    from codec_lm.valle.generate_aligned import prepare_prompt, step_limits
    from nn_common import pad_stack

    c = model.config
    codes, pph, pd, tph = items(seed)
    prompts, phones, indexes, texts, caps = [], [], [], [], []
    for pc, pp, d, tp in zip(codes, pph, pd, tph):
        pc, index = prepare_prompt(c, pc, pp, d)
        prompts.append(group_codes(pc[0], c.group_size))
        phones.append(torch.tensor(pp)[index])
        indexes.append(index)
        texts.append(torch.tensor([*pp, *tp, c.separator_id]))
        caps.append(step_limits(c, sum(d), len(pp), len(tp) + 1, VallESampling()))
    text, text_lens = pad_stack(texts, 0)
    prompt, prompt_lens = pad_stack([p.T for p in prompts], 0)
    prompt_phones = pad_stack(phones, 0)[0]
    if c.lookahead:
        prompt_phones = phone_windows(text, pad_stack(indexes, 0)[0], c.lookahead)
    return dict(text=text, text_lens=text_lens, start=torch.tensor([len(p) for p in pph]),
                prompt=prompt.transpose(1, 2), prompt_steps=prompt_lens, prompt_phones=prompt_phones,
                max_steps=torch.tensor(caps))


def decode_with_logits(model, inputs, cached=True, **kw):
    """``generate_ar_aligned`` on ``inputs``, KV-cached or recomputing every step, and each step's
    ``(codes logits [b, g, K], advance logit [b])`` as decoding read them (after guidance): the
    decode loop keeps no diagnostics, so they are taken where it reads them (``_guided``)."""
    seen = []

    def recorded(*args):
        codes, adv = real(*args)
        seen.append((codes.detach().cpu().clone(), adv.detach().cpu().clone()))
        return codes, adv

    real = generate_aligned._guided
    stepper = generate_aligned.cached_steps if cached else generate_aligned.recomputed_steps
    with mock.patch.object(generate_aligned, "_guided", recorded):
        result = generate_ar_aligned(model.ar, **inputs, stepper=stepper, **kw)
    return result, seen


# ------------------------------------------------------------------ the step grid
def test_grouped_codes_round_trip():
    codes = torch.randint(0, 1024, (3, 8, 20))
    groups = group_codes(codes, 2)
    assert groups.shape == (3, 8, 10, 2) and torch.equal(ungroup_codes(groups), codes)
    assert torch.equal(groups[0, 0, 3], codes[0, 0, 6:8])  # a step holds consecutive frames, in order
    odd = torch.arange(7)
    assert torch.equal(ungroup_codes(group_codes(odd, 3)), odd[:6])  # the remainder is dropped
    assert torch.equal(ungroup_codes(group_codes(codes, 1)), codes)


@pytest.mark.parametrize("group", [1, 2, 3, 4])
def test_step_durations_sum_exactly_and_give_every_target_phoneme_a_step(group):
    g = torch.Generator().manual_seed(group)
    for _ in range(200):
        n = int(torch.randint(1, 30, (1,), generator=g))
        frames = torch.randint(1, 12, (n,), generator=g)
        frames[torch.rand(n, generator=g) < 0.3] = 1  # stress marks: one frame
        total = int(frames.sum())
        steps = total // group
        if steps >= n:
            d = step_durations(frames, steps, group, at_least_one=True)
            assert int(d.sum()) == steps and bool((d >= 1).all())
            # each phoneme ends within a step or so of its frame end, unless neighbours had to make room
            ends, true_ends = d.cumsum(0) * group, frames.cumsum(0)
            assert int((ends - true_ends).abs().max()) <= group * (1 + int((frames < group).sum()))
        offset = total % group
        d = step_durations(frames, steps, group, offset=offset)  # a prompt: zero-step symbols allowed
        assert int(d.sum()) == steps and bool((d >= 0).all())
    frames = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    assert torch.equal(step_durations(frames, int(frames.sum()), 1, at_least_one=True), frames)  # g = 1: unchanged
    assert step_durations(torch.tensor([1, 1, 1, 5]), 4, 2, at_least_one=True).tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="cannot give each of 4 symbols a step"):
        step_durations(torch.tensor([1, 1, 1, 2]), 2, 2, at_least_one=True)
    assert advance_targets(torch.tensor([2, 1, 3])).tolist() == [0, 1, 1, 0, 0, 1]


def test_align_batch_puts_prompt_and_target_on_whole_steps():
    phonemes = torch.tensor([[4, 10, 4, 20, 21, 4], [4, 11, 4, 22, 4, 0]])
    durations = torch.tensor([[3, 4, 2, 5, 3, 2], [2, 4, 3, 3, 3, 0]])  # prompts 9 and 9 frames, targets 10, 6
    prompt = torch.arange(2 * 2 * 9).view(2, 2, 9)
    target = torch.arange(2 * 2 * 10).view(2, 2, 10) + 1000
    a = align_batch(phonemes, torch.tensor([6, 5]), torch.tensor([3, 3]), durations, prompt, torch.tensor([9, 9]),
                    target, torch.tensor([10, 6]), 2)
    assert a.prompt_lens.tolist() == [8, 8] and a.target_lens.tolist() == [10, 6]
    assert torch.equal(a.prompt[0], prompt[0, :, 1:])  # the prompt loses its first frame: it still joins the target
    assert torch.equal(a.target[1, :, :6], target[1, :, :6]) and bool((a.target[1, :, 6:] == -1).all())
    assert a.prompt_phones[0].tolist() == [4, 10, 10, 4]
    # target frames 5 3 2 end at frames 5, 8, 10: steps 2.5 -> 3, 4, 5 (halves round up)
    assert a.target_phones[0].tolist() == [20, 20, 20, 21, 4] and a.advance[0].tolist() == [0, 0, 1, 1, 1]
    assert a.target_phones[1, :3].tolist() == [22, 22, 4]
    bad = durations.clone()
    bad[0, 3] += 1
    with pytest.raises(ValueError, match="Item 0: the durations"):
        align_batch(phonemes, torch.tensor([6, 5]), torch.tensor([3, 3]), bad, prompt, torch.tensor([9, 9]),
                    target, torch.tensor([10, 6]), 2)
    with pytest.raises(ValueError, match="fewer than its 3 phonemes"):
        align_batch(phonemes[:1], torch.tensor([6]), torch.tensor([3]), torch.tensor([[3, 4, 2, 3, 1, 1]]),
                    prompt[:1], torch.tensor([9]), target[:1], torch.tensor([5]), 2)


def test_lookahead_windows_hold_the_next_phonemes_of_the_text_in_training_and_decoding():
    phonemes = torch.tensor([[4, 10, 4, 20, 21, 4], [4, 11, 4, 22, 4, 0]])
    durations = torch.tensor([[3, 4, 2, 5, 3, 2], [2, 4, 3, 3, 3, 0]])
    prompt, target = torch.zeros(2, 2, 9, dtype=torch.long), torch.zeros(2, 2, 10, dtype=torch.long)
    args = (phonemes, torch.tensor([6, 5]), torch.tensor([3, 3]), durations, prompt, torch.tensor([9, 9]), target,
            torch.tensor([10, 6]), 2)
    plain, a = align_batch(*args), align_batch(*args, lookahead=2)
    assert torch.equal(a.prompt_phones[..., 0], plain.prompt_phones)
    assert torch.equal(a.target_phones[..., 0], plain.target_phones)
    assert a.prompt_phones[0].tolist() == [[4, 10, 4], [10, 4, 20], [10, 4, 20], [4, 20, 21]]  # reads on into the target
    assert a.target_phones[0].tolist() == [[20, 21, 4]] * 3 + [[21, 4, 0], [4, 0, 0]]  # 0 past the text's end
    assert a.target_phones[1].tolist() == [[22, 4, 0]] * 2 + [[4, 0, 0]] + [[0, 0, 0]] * 2  # then padding
    # decoding builds the prompt's windows from the text and prepare_prompt's step indices: the same
    from codec_lm.valle.generate_aligned import prepare_prompt

    config = VallEConfig(**{**SMALL, "lookahead": 2})
    _, index = prepare_prompt(config, prompt[0], phonemes[0, :3].tolist(), durations[0, :3].tolist())
    assert torch.equal(phone_windows(phonemes[:1], index[None], 2)[0], a.prompt_phones[0])
    with pytest.raises(ValueError, match="lookahead 2 are windows"):
        VallE(config).ar.logits(phonemes, torch.tensor([6, 5]), group_codes(a.prompt[:, 0], 2), torch.tensor([4, 4]),
                                group_codes(a.target[:, 0].clamp(min=0), 2), None, plain.prompt_phones,
                                plain.target_phones)


# ------------------------------------------------------------------ model and losses
def test_config_validation():
    assert VallEConfig().alignment == "none" and VallEConfig().group_size == 1  # old model.yaml files
    assert VallEConfig(**SMALL).steps_per_second == 93.75 / 2
    for bad, match in ((dict(alignment="soft"), "alignment"), (dict(group_size=2), "needs alignment='monotonic'"),
                       (dict(alignment="monotonic", group_size=0), "group_size"),
                       (dict(alignment="monotonic", separator_id=-1), "separator_id"),
                       (dict(lookahead=1), "lookahead 1 needs alignment='monotonic'"),
                       (dict(alignment="monotonic", lookahead=-1), "lookahead must be an integer")):
        with pytest.raises(ValueError, match=match):
            VallEConfig(**bad)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    phonemes = torch.randint(5, 100, (2, 12), generator=g)
    durations = torch.zeros(2, 12, dtype=torch.long)
    durations[0] = torch.tensor([3, 1, 4, 2, 5, 2, 1, 3, 4, 2, 6, 1])
    durations[1, :9] = torch.tensor([2, 2, 2, 3, 1, 5, 2, 3, 4])
    prompt, target = torch.randint(0, 64, (2, 4, 20), generator=g), torch.randint(0, 64, (2, 4, 20), generator=g)
    return dict(phonemes=phonemes, phoneme_lens=torch.tensor([12, 9]), prompt=prompt,
                prompt_lens=torch.tensor([15, 9]), target=target, target_lens=torch.tensor([19, 15]),
                durations=durations, prompt_phoneme_lens=torch.tensor([5, 4]))


@pytest.mark.parametrize("lookahead", [0, 2])
def test_losses_train_every_part_and_ignore_padding(lookahead):
    model = random_model(lookahead=lookahead).train()
    batch = _batch()
    out = model(**batch)
    assert set(out) == {"loss", "ar_loss", "ar_acc", "ar_top10", "advance_loss", "advance_acc", "nar_loss",
                        "nar_acc", "nar_top10"}
    assert abs(out["ar_loss"].item() - math.log(64)) < 1.0 and abs(out["advance_loss"].item() - math.log(2)) < 0.5
    parts = out["ar_loss"] + out["advance_loss"] + out["nar_loss"]
    assert math.isclose(out["loss"].item(), parts.item(), rel_tol=1e-6)
    out["loss"].backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []  # phone tables and the advance head too
    model.eval()
    padded = {**batch, "target": batch["target"].clone(), "prompt": batch["prompt"].clone(),
              "phonemes": batch["phonemes"].clone()}
    padded["target"][1, :, 15:] = 7
    padded["prompt"][1, :, 9:] = 9
    padded["phonemes"][1, 9:] = 3
    stage = torch.tensor([1, 3])
    a, b = model(**batch, stage=stage), model(**padded, stage=stage)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    with pytest.raises(ValueError, match="pass durations and prompt_phoneme_lens"):
        model(**{**batch, "durations": None})


def test_nar_stage_weights_favour_the_low_codebooks_and_parts_nar_trains_the_nar_alone():
    assert VallEConfig(**SMALL).stage_weights() == [1.0, 1.0, 1.0]  # older checkpoints: uniform
    assert VallEConfig(**SMALL, nar_stage_weights="linear").stage_weights() == [3.0, 2.0, 1.0]
    assert VallEConfig(**SMALL, nar_stage_weights="quadratic").stage_weights() == [9.0, 4.0, 1.0]
    with pytest.raises(ValueError, match="nar_stage_weights must be one of"):
        VallEConfig(**SMALL, nar_stage_weights="cubic")
    model = random_model(nar_stage_weights="quadratic").train()
    batch = _batch()
    seen = []
    original = model.nar.forward
    model.nar.forward = lambda *a, **k: seen.append(a[6].clone()) or original(*a, **k)
    torch.manual_seed(0)
    for _ in range(200):
        model(**batch, parts="nar")
    counts = torch.bincount(torch.cat(seen), minlength=4)[1:].float()
    assert counts.sum() == 400 and counts[0] > counts[1] > counts[2]
    assert abs(counts[0] / 400 - 9 / 14) < 0.08, counts  # quadratic: 9 : 4 : 1
    model.nar.forward = original
    model.zero_grad()
    out = model(**batch, parts="nar")
    assert set(out) == {"loss", "nar_loss", "nar_acc", "nar_top10"}
    assert torch.equal(out["loss"], out["nar_loss"])
    out["loss"].backward()
    assert all(p.grad is None for p in model.ar.parameters())  # the AR is not run
    assert all(p.grad is not None for p in model.nar.parameters())
    with pytest.raises(ValueError, match="parts must be 'all' or 'nar'"):
        model(**batch, parts="ar")


def test_nar_keeps_the_given_codebooks_and_fills_the_rest():
    from codec_lm.valle import generate_nar

    model = random_model()
    batch = _batch()
    text, text_lens = batch["phonemes"], batch["phoneme_lens"]
    prompt, prompt_lens, target, lens = batch["prompt"], batch["prompt_lens"], batch["target"], batch["target_lens"]
    pp, tp = torch.randint(5, 100, prompt.shape[::2]), torch.randint(5, 100, target.shape[::2])
    args = (text, text_lens, prompt, prompt_lens)
    one = generate_nar(model.nar, *args, target[:, 0], lens, prompt_phones=pp, target_phones=tp)
    assert torch.equal(one, generate_nar(model.nar, *args, target[:, :1], lens, prompt_phones=pp, target_phones=tp))
    two = generate_nar(model.nar, *args, target[:, :2], lens, prompt_phones=pp, target_phones=tp)
    for i, n in enumerate(lens.tolist()):
        assert torch.equal(two[i, :2, :n], target[i, :2, :n]) and bool((two[i, :, n:] == -1).all())
    assert not torch.equal(two[:, 1], one[:, 1])  # codebook 2 is the given one, not the NAR's
    every = generate_nar(model.nar, *args, target, lens, prompt_phones=pp, target_phones=tp)
    assert all(torch.equal(every[i, :, :n], target[i, :, :n]) for i, n in enumerate(lens.tolist()))
    with pytest.raises(ValueError, match="1 to 4 known codebooks"):
        generate_nar(model.nar, *args, target[:, :0], lens, prompt_phones=pp, target_phones=tp)
    two_only = generate_nar(model.nar, *args, target[:, 0], lens, prompt_phones=pp, target_phones=tp, upto=2)
    assert torch.equal(two_only, one[:, :2])  # the NAR stops after codebook 2; what it fills is the same
    with pytest.raises(ValueError, match="1 to 2 known codebooks"):
        generate_nar(model.nar, *args, target[:, :3], lens, prompt_phones=pp, target_phones=tp, upto=2)
    with pytest.raises(ValueError, match="returns 1 to 4 codebooks"):
        generate_nar(model.nar, *args, target[:, 0], lens, prompt_phones=pp, target_phones=tp, upto=5)


def test_expected_nar_decoding_keeps_the_codes_and_returns_their_distributions():
    model = random_model()
    codes, pph, pd, tph = items()
    plain = synthesize(model, codes, pph, tph, VallESampling(seed=3), prompt_durations=pd)
    soft = synthesize(model, codes, pph, tph, VallESampling(seed=3, nar_decode="expected"), prompt_durations=pd)
    for a, b in zip(plain, soft):
        assert a.probs is None and torch.equal(a.codes, b.codes)
        n = b.codes.shape[1]
        assert b.probs.shape == (3, n, 64) and b.probs.dtype == torch.float16
        assert torch.allclose(b.probs.float().sum(-1), torch.ones(3, n), atol=1e-2)
        assert torch.equal(b.probs.float().argmax(-1), b.codes[1:])  # greedy NAR: its codes are the modes
    with pytest.raises(ValueError, match="nar_decode must be"):
        VallESampling(nar_decode="mean")


def test_decode_codebooks_keeps_the_first_codebooks_and_skips_the_rest(monkeypatch):
    import codec_lm.valle.generate as generate

    model = random_model()
    codes, pph, pd, tph = items()
    full = synthesize(model, codes, pph, tph, VallESampling(seed=3, nar_decode="expected"), prompt_durations=pd)
    two = synthesize(model, codes, pph, tph, VallESampling(seed=3, nar_decode="expected", decode_codebooks=2),
                     prompt_durations=pd)
    for a, b in zip(full, two):
        assert torch.equal(b.codes, a.codes[:2]) and torch.equal(b.probs, a.probs[:1])
        assert torch.equal(b.durations, a.durations) and b.ended == a.ended
    calls = []
    monkeypatch.setattr(generate, "generate_nar", lambda *a, **k: calls.append(1))
    one = synthesize(model, codes, pph, tph, VallESampling(seed=3, nar_decode="expected", decode_codebooks=1),
                     prompt_durations=pd)
    assert calls == []  # codebook 1 is the AR's: no NAR pass
    assert all(torch.equal(b.codes, a.codes[:1]) and b.probs is None for a, b in zip(full, one))
    with pytest.raises(ValueError, match="decode_codebooks 5 is more than this model's 4"):
        synthesize(model, codes, pph, tph, VallESampling(decode_codebooks=5), prompt_durations=pd)
    with pytest.raises(ValueError, match="decode_codebooks must be >= 1"):
        VallESampling(decode_codebooks=0)


def test_text_changes_the_monotonic_losses():
    """The aligned phonemes reach the AR and the NAR (a model that cannot read them would not care)."""
    model = random_model()
    batch = _batch()
    stage = torch.tensor([1, 2])
    other = {**batch, "phonemes": (batch["phonemes"] + 7) % 100 + 5}
    with torch.no_grad():
        a, b = model(**batch, stage=stage), model(**other, stage=stage)
    for key in ("ar_loss", "advance_loss", "nar_loss"):
        assert abs(float(a[key] - b[key])) > 1e-4, key


# ------------------------------------------------------------------ decoding
@pytest.mark.parametrize("group, lookahead", [(1, 0), (2, 0), (2, 1)])
def test_cached_and_uncached_decoding_agree(group, lookahead):
    model = random_model(group_size=group, lookahead=lookahead)
    inputs = aligned_inputs(model)
    sampling = VallESampling(temperature=1.0, top_p=0.9, seed=3)
    runs = []
    for cached in (True, False):
        gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
        runs.append(decode_with_logits(model, inputs, cached, sampling=sampling, generators=gens))
    (cached, cached_logits), (full, full_logits) = runs
    assert len(cached_logits) == len(full_logits) >= 3
    for (ca, cb), (fa, fb) in zip(cached_logits, full_logits):
        assert float((ca - fa).abs().max()) < 1e-4 and float((cb - fb).abs().max()) < 1e-4
    assert torch.equal(cached.tokens, full.tokens) and torch.equal(cached.path, full.path)
    assert torch.equal(cached.lengths, full.lengths)


@pytest.mark.parametrize("seed", range(4))
def test_pointer_never_skips_or_goes_back_and_ends_after_the_last_phoneme(seed):
    """Random weights, a batch of three texts of different lengths (seeds 2 and 3: a lookahead model;
    odd seeds: the sampled stay / advance rule)."""
    model = random_model(seed=seed, lookahead=seed // 2)
    inputs = aligned_inputs(model, seed=seed + 1)
    gens = [torch.Generator().manual_seed(seed * 10 + i) for i in range(3)]
    sampling = VallESampling(temperature=1.0, advance=("median", "sample")[seed % 2])
    ar = generate_ar_aligned(model.ar, **inputs, sampling=sampling, generators=gens)
    for i in range(3):
        path = ar.path[i][ar.path[i] >= 0]
        steps = int(ar.lengths[i]) // 2
        assert path.numel() == steps <= int(inputs["max_steps"][i]) and bool((ar.path[i, steps:] == -1).all())
        assert int(path[0]) == int(inputs["start"][i]) and int(path[-1]) == int(inputs["text_lens"][i]) - 1
        assert set(torch.diff(path).tolist()) <= {0, 1}  # stays or moves on by one
        assert bool((ar.tokens[i, : steps * 2] >= 0).all()) and bool((ar.tokens[i, steps * 2:] == -1).all())
    assert len(set(ar.lengths.tolist())) > 1


def test_stuck_pointer_is_moved_on_and_the_length_cap_is_the_last_resort():
    model = random_model()
    with torch.no_grad():
        model.ar.advance.bias.fill_(-1e4)  # the head never says "advance"
    codes, pph, pd, tph = items()
    out = synthesize(model, codes, pph, tph, VallESampling(seed=0, max_phone_seconds=0.05), prompt_durations=pd)
    hold = math.ceil(0.05 * 93.75 / 2) * 2  # frames: the pointer moves on after this long
    for g, tp in zip(out, tph):
        assert g.ended and g.durations.tolist() == [hold] * (len(tp) + 1) and g.codes.shape[1] == hold * (len(tp) + 1)
    stuck = synthesize(model, codes, pph, tph, VallESampling(seed=0, max_phone_seconds=None, max_length_ratio=1.0),
                       prompt_durations=pd)
    for g, c, pp, tp in zip(stuck, codes, pph, tph):
        cap = max(math.ceil(math.ceil(c.shape[1] / len(pp) * (len(tp) + 1)) / 2), len(tp) + 1)
        assert not g.ended and g.codes.shape[1] == 2 * cap  # reported: ended is False
        # stuck on its first phoneme until the cap leaves one step for each of the others
        assert g.durations.tolist() == [2 * (cap - len(tp))] + [2] * len(tp)
    with torch.no_grad():
        model.ar.advance.bias.fill_(1e4)  # always "advance": one step per phoneme, the minimum
    fast = synthesize(model, codes, pph, tph, VallESampling(seed=0), prompt_durations=pd)
    assert all(g.ended and g.durations.tolist() == [2] * (len(tp) + 1) for g, tp in zip(fast, tph))


def test_given_target_steps_drive_the_pointer_instead_of_the_head():
    """The oracle-duration diagnostic: each target phoneme (and the closing boundary) gets exactly
    the steps asked for, whatever the head says, in a batch of texts of different lengths."""
    model = random_model()
    codes, pph, pd, tph = items()
    steps = [[(i % 3) + 1 for i in range(len(tp) + 1)] for tp in tph]
    for bias in (-1e4, 1e4):  # a head that never / always moves on
        with torch.no_grad():
            model.ar.advance.bias.fill_(bias)
        out = synthesize(model, codes, pph, tph, VallESampling(seed=0, max_phone_seconds=None), prompt_durations=pd,
                         target_steps=steps)
        for g, st in zip(out, steps):
            assert g.ended and g.durations.tolist() == [2 * x for x in st] and g.codes.shape[1] == 2 * sum(st)
    with pytest.raises(ValueError, match="target_steps needs"):
        synthesize(model, codes, pph, tph, VallESampling(seed=0), prompt_durations=pd,
                   target_steps=[st[:-1] for st in steps])


@pytest.mark.parametrize("p, steps", [(0.2, 4), (0.3, 2), (0.6, 1)])
def test_median_rule_moves_on_at_the_median_of_the_heads_length_distribution(p, steps):
    """A head that says "advance" with chance p at every step: the median length is the first k
    with (1 - p)^k <= 1/2 (0.8^4 = 0.41, 0.7^2 = 0.49, 0.4^1), whatever the temperature or seed."""
    model = random_model()
    with torch.no_grad():
        model.ar.advance.weight.zero_()
        model.ar.advance.bias.fill_(math.log(p / (1 - p)))
    codes, pph, pd, tph = items()
    # max_length_ratio 10: these prompts speak at 2-4 frames a phoneme, so the usual cap would cut in.
    for sampling in (VallESampling(seed=0, advance="median", max_length_ratio=10),
                     VallESampling(seed=9, temperature=0.5, advance="median", max_length_ratio=10)):
        out = synthesize(model, codes, pph, tph, sampling, prompt_durations=pd)
        assert all(g.ended and g.durations.tolist() == [2 * steps] * (len(tp) + 1) for g, tp in zip(out, tph))
    sampled = synthesize(model, codes, pph, tph, VallESampling(seed=0, advance="sample"), prompt_durations=pd)
    assert len({d for g in sampled for d in g.durations.tolist()}) > 1  # the draw spreads the lengths
    with pytest.raises(ValueError, match="advance must be one of median, sample"):
        VallESampling(advance="mean")


@pytest.mark.parametrize("speed, steps", [(1.0, 4), (0.7, 5), (0.5, 7), (2.0, 2)])
def test_speed_scales_the_median_rules_phoneme_lengths(speed, steps):
    """Chance 0.2 of moving on at every step: the pointer moves on once 0.8^k <= 0.5^(1/speed), at
    k = 4 (median), 5 (0.7: 0.37), 7 (0.5: 0.25) and 2 (2.0: 0.71): about 4 / speed."""
    model = random_model()
    with torch.no_grad():
        model.ar.advance.weight.zero_()
        model.ar.advance.bias.fill_(math.log(0.2 / 0.8))
    codes, pph, pd, tph = items()
    out = synthesize(model, codes, pph, tph, VallESampling(seed=0, speed=speed, max_length_ratio=10),
                     prompt_durations=pd)
    assert all(g.ended and g.durations.tolist() == [2 * steps] * (len(tp) + 1) for g, tp in zip(out, tph))
    # drawn: the mean length of a constant hazard p is 1 / p steps, and 1 / (speed p) about
    lengths = {}
    for sp in (1.0, 0.5):
        got = synthesize(model, codes * 3, pph * 3, [[7] * 40] * 9,
                         VallESampling(seed=1, advance="sample", speed=sp, max_length_ratio=100),
                         prompt_durations=pd * 3)
        lengths[sp] = torch.cat([g.durations[:-1] for g in got]).float().mean().item() / 2
    assert 4.0 < lengths[1.0] < 6.0 and 1.6 < lengths[0.5] / lengths[1.0] < 2.4, lengths
    with pytest.raises(ValueError, match="speed must be in"):
        VallESampling(speed=0)
    with pytest.raises(ValueError, match="needs a monotonic VALL-E"):
        synthesize(random_model(alignment="none", group_size=1), codes, pph, tph, VallESampling(speed=0.9))


@pytest.mark.parametrize("sampling", [
    VallESampling(temperature=0, repetition_window=0),
    VallESampling(seed=2, advance="median"),
    VallESampling(temperature=1.2, top_k=40, top_p=0.9, nar_temperature=1.0, seed=7),
    VallESampling(seed=5, num_candidates=3),
], ids=["greedy", "median", "sampled", "candidates"])
@pytest.mark.parametrize("lookahead", [0, 1])
def test_batched_decoding_matches_one_by_one(sampling, lookahead):
    model = random_model(lookahead=lookahead)
    codes, pph, pd, tph = items()
    batched = synthesize(model, codes, pph, tph, sampling, prompt_durations=pd)
    for i in range(3):
        alone = synthesize(model, codes[i:i + 1], pph[i:i + 1], tph[i:i + 1], sampling, prompt_durations=pd[i:i + 1])[0]
        assert torch.equal(alone.codes, batched[i].codes) and torch.equal(alone.durations, batched[i].durations), i
    for g, tp in zip(batched, tph):
        d = g.durations
        assert g.ended and len(d) == len(tp) + 1 and bool((d >= 2).all()) and int(d.sum()) == g.codes.shape[1]
        assert g.codes.shape[0] == 4 and bool((g.codes >= 0).all())
    assert len({g.codes.shape[1] for g in batched}) > 1


def test_decoding_input_errors():
    model = random_model()
    codes, pph, pd, tph = items()
    with pytest.raises(ValueError, match="needs the prompt's phone durations"):
        synthesize(model, codes, pph, tph)
    with pytest.raises(ValueError, match="Prompt 1: The prompt's durations"):
        synthesize(model, codes, pph, tph, prompt_durations=[pd[0], pd[1][:-1], pd[2]])
    with pytest.raises(ValueError, match="shorter than one AR step"):
        synthesize(model, [codes[0][:, :1]], [[4]], tph[:1], prompt_durations=[[1]])
    with pytest.raises(ValueError, match="generate_ar_aligned"):
        from codec_lm.valle import generate_ar

        generate_ar(model.ar, torch.ones(1, 3, dtype=torch.long), torch.tensor([3]),
                    torch.zeros(1, 4, dtype=torch.long), torch.tensor([4]), torch.tensor([1]), torch.tensor([5]),
                    VallESampling())


def test_repetition_aware_sampling_defaults_and_rate():
    implicit, monotonic = VallEConfig(), VallEConfig(**SMALL)
    assert (VallESampling().resolved(implicit).repetition_window, VallESampling().resolved(implicit)
            .repetition_threshold) == (10, 0.1)
    tuned = VallESampling().resolved(monotonic)  # the shipped tiny-valle (monotonic) decodes with these
    assert (tuned.repetition_window, tuned.repetition_threshold) == (20, 0.45)
    assert VallESampling(repetition_window=0).resolved(monotonic).repetition_window == 0  # explicit values win
    # 1 1 1 1 2: with a window of 4 the ratios are 0, 1/4, 2/4, 3/4, 0
    seq = torch.tensor([1, 1, 1, 1, 2])
    assert repetition_rate([seq], 4, 0.4) == (2, 5) and repetition_rate([seq], 4, 0.0) == (3, 5)
    assert repetition_rate([seq, seq], 4, 0.6) == (2, 10)
    with pytest.raises(ValueError, match="window"):
        repetition_rate([seq], 0, 0.5)


# ------------------------------------------------------------------ overfitting
@pytest.fixture(scope="module")
def aligned_utterance(tinyvoices):
    """The shortest TinyVoices training utterance: codes [2, N] from a random-weights MelRVQ
    (2 x 64 at 93.75 Hz) and its boundary-wrapped phonemes with durations from the shipped aligner."""
    from vocos_configs import MEL

    from aligner import fold_stress, with_boundaries
    from codec_lm.codecs import MelRVQ, MelRVQCodec, MelRVQConfig, build_vocos
    from tts.aligner import load_aligner
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts
    from tts.mel import MelFeatures

    torch.manual_seed(0)
    codec = MelRVQCodec(MelRVQ(MelRVQConfig(n_codebooks=2, codebook_size=64, dim=64, n_layers=1, kmeans_init=False)),
                        build_vocos(MEL)).eval()
    cut = min(load_cuts(tinyvoices, "train"), key=lambda c: c.duration)
    _, ids = TTSDataset().phonemize(cut)
    wav = torch.from_numpy(cut.load_audio()[0])[None]
    aligner, vocab, _ = load_aligner("tiny-aligner")
    with torch.no_grad():
        codes = codec.encode(wav)[0]
        mel = MelFeatures()(wav)
        wrapped = with_boundaries(list(ids), vocab.space_id)
        durations, _ = aligner.align(mel, torch.tensor([mel.shape[-1]]), torch.tensor([wrapped]),
                                     torch.tensor([len(wrapped)]))
    durations = fold_stress([vocab.symbols[i] for i in wrapped], durations[0].tolist())
    assert sum(durations) == codes.shape[1]
    return wrapped, torch.tensor(durations), codes, codec.frame_rate


def test_tiny_model_overfits_one_utterance_and_reproduces_it(aligned_utterance):
    """Trained on one prompt/target split, greedy decoding gives back the target's codes (whole
    steps of 2 frames) and the pointer gives each phoneme the steps it was trained on."""
    ids, durations, codes, frame_rate = aligned_utterance
    split = ids.index(4, len(ids) // 3) + 1  # just after a word boundary, as a prompt ends
    prompt_frames = int(durations[:split].sum())
    torch.manual_seed(0)
    model = VallE(VallEConfig(n_codebooks=2, codebook_size=64, dim=64, heads=2, ar_layers=2, nar_layers=2,
                              dropout=0.0, frame_rate=frame_rate, alignment="monotonic", group_size=2))
    steps = 250
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(1.0, i / steps))))
    prompt, target = codes[None, :, :prompt_frames], codes[None, :, prompt_frames:]
    batch = dict(phonemes=torch.tensor([ids]), phoneme_lens=torch.tensor([len(ids)]), prompt=prompt,
                 prompt_lens=torch.tensor([prompt_frames]), target=target, target_lens=torch.tensor([target.shape[-1]]),
                 durations=durations[None], prompt_phoneme_lens=torch.tensor([split]))
    for _ in range(steps):
        out = model(**batch)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        sched.step()
    assert float(out["ar_acc"]) == 1.0 and float(out["advance_acc"]) == 1.0
    greedy = VallESampling(temperature=0, repetition_window=0)
    got = synthesize(model, [prompt[0]], [ids[:split]], [ids[split:-1]], greedy,
                     prompt_durations=[durations[:split]])[0]
    n = target.shape[-1] // 2 * 2
    trained = step_durations(durations[split:], n // 2, 2, at_least_one=True) * 2
    assert got.ended and torch.equal(got.durations, trained), "the pointer's durations differ"
    assert got.codes.shape == (2, n) and torch.equal(got.codes[0], target[0, 0, :n]), "AR codes differ"
    assert torch.equal(got.codes, target[0, :, :n]), "NAR codes differ"


def test_tts_eval_repetition_reports_the_firing_rate_of_ground_truth(codes_setup, tmp_path, capsys):
    import json

    from tts.cli import main
    from tts.data.manifests import load_cuts

    root, _ = codes_setup
    manifest = root / "codes" / "cuts_test_seen_codes.jsonl.gz"
    assert main(["eval", "repetition", "--cuts", str(manifest), "--out", str(tmp_path / "r"), "--windows", "4,8",
                 "--thresholds", "0.3"]) == 0
    summary = json.loads((tmp_path / "r" / "repetition.json").read_text())
    seqs = [torch.from_numpy(c.load_custom("codes")[:, 0].astype("int64")) for c in load_cuts(manifest)]
    assert summary["frames"] == sum(len(s) for s in seqs) and len(summary["rates"]) == 2
    assert summary["rates"][1]["fired"] == repetition_rate(seqs, 8, 0.3)[0]
    capsys.readouterr()
    assert main(["eval", "repetition", "--cuts", str(root / "cuts_train.jsonl.gz"), "--out", str(tmp_path / "x")]) == 2
    assert "holds no codec codes" in capsys.readouterr().err
