"""codec_lm.maskgct aligned (``text_conditioning="aligned"``): each code frame's phoneme in both
stages, a duration model trained beside, and synthesis that plans the target's frames from the
prompt's measured durations. The prefix model is unchanged."""

import pytest
import torch

from codec_lm.maskgct import (MaskGCT, MaskGCTConfig, MaskGCTSampling, aligned_frames, synthesize,
                              synthesize_acoustic)
from codec_lm.maskgct.generate import s2a_logits, t2s_logits
from nn_common import expand_by_durations
from test_maskgct_semantic import SEMANTIC, SMALL

ALIGNED = dict(text_conditioning="aligned", duration_dim=16, duration_layers=1)

pytestmark = pytest.mark.usefixtures("single_thread")


def aligned_model(seed=0, **kw):
    torch.manual_seed(seed)
    return MaskGCT(MaskGCTConfig(**{**SMALL, **SEMANTIC, **ALIGNED, **kw})).eval()


def test_config_and_the_prefix_model_unchanged():
    cfg = MaskGCTConfig(**SMALL, **SEMANTIC, **ALIGNED)
    assert cfg.aligned and not MaskGCTConfig(**SMALL).aligned
    for bad in (dict(text_conditioning="frames"), dict(duration_dim=0), dict(duration_layers=1.5),
                dict(duration_weight=-1.0)):
        with pytest.raises(ValueError, match="MaskGCTConfig"):
            MaskGCTConfig(**{**SMALL, **bad})
    torch.manual_seed(0)
    keys = MaskGCT(MaskGCTConfig(**SMALL, **SEMANTIC)).state_dict()  # what older checkpoints hold
    assert not any(k.startswith("duration.") or ".phones." in k for k in keys)
    extra = set(aligned_model().state_dict()) - set(keys)
    assert {k.split(".")[0] for k in extra} == {"duration", "t2s", "s2a"}
    assert {k for k in extra if not k.startswith("duration.")} == {"t2s.phones.weight", "s2a.phones.weight"}


def aligned_batch(seed=0, lens=(40, 29, 13)):
    """Three utterances with phone durations summing to their code frames."""
    g = torch.Generator().manual_seed(seed)
    b, n = len(lens), max(lens)
    codes = torch.randint(0, 32, (b, 3, n), generator=g)
    sem_lens = [-(-m // 4) for m in lens]
    semantic = torch.full((b, max(sem_lens)), -1)
    phonemes = torch.zeros(b, 12, dtype=torch.long)
    durations = torch.zeros(b, 12, dtype=torch.long)
    ph_lens = []
    for i, m in enumerate(lens):
        codes[i, :, m:] = -1
        semantic[i, : sem_lens[i]] = torch.randint(0, 16, (sem_lens[i],), generator=g)
        k = min(12, m // 3)
        cuts = torch.sort(torch.randperm(m - 1, generator=g)[: k - 1] + 1).values
        d = torch.diff(torch.cat([torch.tensor([0]), cuts, torch.tensor([m])]))
        phonemes[i, :k] = torch.randint(5, 200, (k,), generator=g)
        durations[i, :k] = d
        ph_lens.append(k)
    return phonemes, torch.tensor(ph_lens), codes, torch.tensor(lens), semantic, durations


def test_forward_trains_every_part_and_needs_durations():
    model = aligned_model(drop_all_prob=0.3, drop_prompt_prob=0.3).train()
    phonemes, ph_lens, codes, code_lens, semantic, durations = aligned_batch()
    assert torch.equal(durations.sum(1), code_lens)
    out = model(phonemes, ph_lens, codes, code_lens, semantic, durations)
    assert {"t2s_loss", "s2a_loss", "dur_loss"} <= set(out) and torch.isfinite(out["loss"])
    assert torch.allclose(out["loss"], out["t2s_loss"] + out["s2a_loss"] + out["dur_loss"])
    out["loss"].backward()
    for name in ("t2s.phones.weight", "s2a.phones.weight", "duration.embed.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="needs the phone durations"):
        model(phonemes, ph_lens, codes, code_lens, semantic)


def test_t2s_reads_the_frames_phonemes_not_a_prefix():
    model = aligned_model()
    phonemes, ph_lens, _, code_lens, semantic, durations = aligned_batch()
    frames = model.frame_text(phonemes, durations, 40)
    tokens, lens, prompt = semantic.clamp(min=0), torch.tensor([10, 8, 4]), torch.tensor([2, 1, 0])
    base = model.t2s(phonemes, ph_lens, tokens, lens, prompt, frames)
    other = model.t2s(torch.randint(5, 200, phonemes.shape), ph_lens, tokens, lens, prompt, frames)
    assert torch.equal(base, other)  # the phoneme sequence itself is not read
    moved = frames.clone()
    moved[0, 8:12] = 7  # the phonemes of token 2 of item 0
    changed = model.t2s(phonemes, ph_lens, tokens, lens, prompt, moved)
    assert not torch.allclose(changed[0], base[0]) and torch.equal(changed[1:], base[1:])
    with pytest.raises(ValueError, match="needs the phoneme of each code frame"):
        model.t2s(phonemes, ph_lens, tokens, lens, prompt)


def test_guidance_batched_equals_unbatched():
    model = aligned_model()
    phonemes, ph_lens, codes, code_lens, semantic, durations = aligned_batch()
    frames = model.frame_text(phonemes, durations, 40)
    tokens, lens, prompt = semantic.clamp(min=0), torch.tensor([10, 8, 4]), torch.tensor([2, 1, 1])
    one = t2s_logits(model, phonemes, ph_lens, tokens, lens, prompt, 2.0, 0.5, batched=False, frame_text=frames)
    two = t2s_logits(model, phonemes, ph_lens, tokens, lens, prompt, 2.0, 0.5, batched=True, frame_text=frames)
    for i, m in enumerate(lens.tolist()):
        assert torch.allclose(one[i, prompt[i]:m], two[i, prompt[i]:m], atol=1e-5)
    up = model.upsample(semantic.clamp(min=0), 40)
    acoustic, layer, plens = codes.clamp(min=0), torch.tensor([0, 1, 2]), torch.tensor([8, 4, 4])
    one = s2a_logits(model, up, acoustic, code_lens, plens, layer, 2.0, 0.5, batched=False, frame_text=frames)
    two = s2a_logits(model, up, acoustic, code_lens, plens, layer, 2.0, 0.5, batched=True, frame_text=frames)
    for i, m in enumerate(code_lens.tolist()):
        assert torch.allclose(one[i, plens[i]:m], two[i, plens[i]:m], atol=1e-5)


def test_aligned_frames_plan_prompt_and_target():
    model = aligned_model()
    with torch.no_grad():  # a duration model that says log(1 + 3.5) for every symbol: 3.5 frames
        model.duration.out[1].weight.zero_()
        model.duration.out[1].bias.fill_(torch.log(torch.tensor(4.5)).item())
    prompt_ids, prompt_d = [4, 10, 11, 4], torch.tensor([3, 5, 6, 4])  # 18 frames, cut to 16 (4 whole tokens)
    frames, t = aligned_frames(model, prompt_ids, prompt_d, [12, 13], 16)
    assert frames[:16].tolist() == [4] * 3 + [10] * 5 + [11] * 6 + [4] * 2  # the cut frames leave the last symbol
    assert t == 12 and len(frames) == 28  # 3 symbols of round(3.5) = 4 frames: 3 whole tokens
    assert frames[16:].tolist() == [12] * 4 + [13] * 4 + [4] * 4
    odd, t = aligned_frames(model, prompt_ids, prompt_d, [12, 13], 16, speed=1.75)  # 2 frames each: 6 -> 2 tokens
    assert t == 6 and odd[16:].tolist() == [12] * 2 + [13] * 2 + [4] * 4  # the boundary lasts to the token's end
    timed, t = aligned_frames(model, prompt_ids, prompt_d, [12, 13], 16, frames=10)
    assert t == 10 and len(timed) == 28 and torch.equal(timed[:16], frames[:16])
    slow, t_slow = aligned_frames(model, prompt_ids, prompt_d, [12, 13] * 5, 16, speed=0.5)
    fast, t_fast = aligned_frames(model, prompt_ids, prompt_d, [12, 13] * 5, 16, speed=2.0)
    assert t_slow > t_fast
    with pytest.raises(ValueError, match="do not cover"):
        aligned_frames(model, prompt_ids, prompt_d, [12], 20)
    with pytest.raises(ValueError, match="do not cover"):
        aligned_frames(model, prompt_ids, prompt_d[:3], [12], 12)


def test_synthesize_plans_lengths_batched_equals_alone():
    model = aligned_model()
    g = torch.Generator().manual_seed(4)
    prompts = [torch.randint(0, 32, (3, p), generator=g) for p in (9, 18)]  # the first is padded in the batch
    prompt_sem = [torch.randint(0, 16, (s,), generator=g) for s in (3, 5)]
    pph, pd = [[4, 9, 4], [4, 7, 8, 4]], [torch.tensor([3, 3, 3]), torch.tensor([2, 8, 6, 2])]
    tph = [[30, 31], [20, 21, 22, 23]]
    opts = MaskGCTSampling(steps=3, s2a_steps=(2, 1), seed=3)
    out = synthesize(model, prompts, pph, tph, opts, prompt_semantic=prompt_sem, prompt_durations=pd)
    planned = [aligned_frames(model, p, d, t, pr.shape[-1] // 4 * 4)[1] for p, d, t, pr in zip(pph, pd, tph, prompts)]
    assert [o.shape for o in out] == [(3, t) for t in planned]
    assert all(o.min() >= 0 and o.max() < 32 for o in out)
    alone = synthesize(model, prompts[:1], pph[:1], tph[:1], opts, prompt_semantic=prompt_sem[:1],
                       prompt_durations=pd[:1])
    assert torch.equal(alone[0], out[0])  # batched = one by one (item i samples with seed + i)
    timed = synthesize(model, prompts, pph, tph, opts, frames=[5, 13], prompt_semantic=prompt_sem, prompt_durations=pd)
    assert [o.shape[1] for o in timed] == [5, 13]
    with pytest.raises(ValueError, match="needs prompt_durations"):
        synthesize(model, prompts, pph, tph, opts, prompt_semantic=prompt_sem)


def test_s2a_alone_needs_and_reads_the_frames_phonemes():
    model = aligned_model()
    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(0, 32, (3, 12), generator=g)]
    targets, prompt_sem = [torch.randint(0, 16, (5,), generator=g)], [torch.randint(0, 16, (3,), generator=g)]
    opts = MaskGCTSampling(s2a_steps=1, seed=0, temperature=0.0)
    text = torch.randint(5, 200, (32,), generator=g)
    out = synthesize_acoustic(model, prompts, targets, opts, prompt_semantic=prompt_sem, frame_text=[text])
    assert out[0].shape == (3, 20)
    # a 14-frame prompt is cut to its 3 whole tokens: the phonemes of its last 2 frames go with it
    longer = [torch.cat([prompts[0], prompts[0][:, :2]], dim=1)]
    text14 = torch.cat([text[:12], torch.tensor([7, 7]), text[12:]])
    cut = synthesize_acoustic(model, longer, targets, opts, prompt_semantic=prompt_sem, frame_text=[text14])
    assert torch.equal(cut[0], out[0])
    with pytest.raises(ValueError, match="needs frame_text"):
        synthesize_acoustic(model, prompts, targets, opts, prompt_semantic=prompt_sem)


def test_t2s_learns_tokens_from_the_frames_phonemes():
    """Tokens that follow the phoneme said at their frames (one of 16 per token): after 150 steps on
    random sequences an aligned T2S writes the targets of new sequences from the phonemes alone
    (every target token masked, one greedy pass); without the phonemes it cannot."""
    torch.manual_seed(0)
    model = MaskGCT(MaskGCTConfig(**{**SMALL, **SEMANTIC, **ALIGNED, "dim": 64}, drop_all_prob=0.0,
                                  drop_prompt_prob=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)

    def sample(b=16, s=12):
        ids = torch.randint(5, 21, (b, s), generator=g)  # one phoneme per token, 4 frames each
        return ids, torch.full((b, s), 4), ids - 5

    for _ in range(150):
        ids, d, sem = sample()
        b, s = ids.shape
        codes = torch.randint(0, 32, (b, 3, 4 * s), generator=g)
        out = model(ids, torch.full((b,), s), codes, torch.full((b,), 4 * s), sem, d)
        opt.zero_grad()
        out["t2s_loss"].backward()
        opt.step()
    model.eval()
    ids, d, sem = sample(4)
    frames = model.frame_text(ids, d, 48)
    lens, prompt = torch.full((4,), 12), torch.full((4,), 2)
    tokens = sem.clone()
    tokens[:, 2:] = model.t2s.mask_id
    with torch.no_grad():
        read = model.t2s(ids, lens, tokens, lens, prompt, frames).argmax(-1)
        blind = model.t2s(ids, lens, tokens, lens, prompt, torch.zeros_like(frames)).argmax(-1)
    acc = (read[:, 2:] == sem[:, 2:]).float().mean()
    acc_blind = (blind[:, 2:] == sem[:, 2:]).float().mean()
    assert acc > 0.9 and acc_blind < 0.3, (float(acc), float(acc_blind))


def test_frame_text_is_the_phonemes_repeated():
    model = aligned_model()
    ids, d = torch.tensor([[4, 9, 8, 4]]), torch.tensor([[1, 2, 3, 1]])
    assert torch.equal(model.frame_text(ids, d, 9), expand_by_durations(ids, d, 9))
    assert model.frame_text(ids, d, 9).tolist() == [[4, 9, 9, 8, 8, 8, 4, 0, 0]]
