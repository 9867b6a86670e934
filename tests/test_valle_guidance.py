"""VALL-E R's classifier-free guidance: phone dropout in training, guided AR decoding."""

from __future__ import annotations

import pytest
import torch

from codec_lm.valle import VallEConfig, VallESampling, synthesize
from test_valle_aligned import SMALL, _batch, aligned_inputs, decode_with_logits, items, random_model

pytestmark = pytest.mark.usefixtures("single_thread")


def test_phone_dropout_config():
    assert VallEConfig().phone_dropout == 0.0  # older checkpoints: no guidance
    assert VallEConfig(**SMALL, phone_dropout=0.15).phone_dropout == 0.15
    with pytest.raises(ValueError, match=r"phone_dropout must be in \[0, 1\)"):
        VallEConfig(**SMALL, phone_dropout=1.0)
    with pytest.raises(ValueError, match="needs alignment='monotonic'"):
        VallEConfig(phone_dropout=0.1)
    with pytest.raises(ValueError, match=r"cfg must be in \[0, 20\]"):
        VallESampling(cfg=-1.0)


def test_dropped_rows_lose_their_phonemes_and_only_their_stay_advance_loss():
    """With every row dropped the AR's loss equals that of all-zero phonemes, and the head gets nothing;
    in eval mode, or with dropout 0, nothing is dropped."""
    batch = _batch()
    model = random_model(phone_dropout=0.999).train()
    torch.manual_seed(0)
    dropped = model(**batch, stage=torch.tensor([1, 2]), parts="all")
    assert dropped["advance_loss"].item() == 0.0 and dropped["advance_acc"].item() == 0.0
    blank = random_model(phone_dropout=0.999).eval()  # the same weights, no dropout in eval
    zeros = {**batch, "phonemes": torch.zeros_like(batch["phonemes"])}
    with torch.no_grad():
        ref = blank(**zeros, stage=torch.tensor([1, 2]))
    # the AR's code loss with every phoneme 0 is the dropped rows' loss (the NAR still reads the text)
    assert abs(dropped["ar_loss"].item() - ref["ar_loss"].item()) < 1e-5
    dropped["loss"].backward()
    assert model.ar.advance.weight.grad.abs().sum() == 0  # no stay / advance signal without phonemes
    with torch.no_grad():
        kept = blank(**batch, stage=torch.tensor([1, 2]))
        plain = random_model(phone_dropout=0.0).train()
        torch.manual_seed(0)
        plain_out = plain(**batch, stage=torch.tensor([1, 2]))
    assert abs(float(kept["ar_loss"]) - float(ref["ar_loss"])) > 1e-4  # eval mode reads the text
    assert float(plain_out["advance_loss"]) > 0


def test_some_rows_dropped_keep_the_advance_loss_of_the_others():
    batch = _batch()
    model = random_model(phone_dropout=0.5).train()
    seen = set()
    for seed in range(20):
        torch.manual_seed(seed)
        out = model(**batch, stage=torch.tensor([1, 2]))
        seen.add(round(out["advance_loss"].item(), 6))
        assert torch.isfinite(out["loss"])
    assert len(seen) >= 3  # none dropped, one of two, the other, both (0)


def _step0_logits(model, inputs):
    """The unguided codes logits of decoding step 0 ``[b, g, codes]``."""
    gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
    return decode_with_logits(model, inputs, sampling=VallESampling(seed=3, max_phone_seconds=None),
                              generators=gens)[1][0][0]


@pytest.mark.parametrize("lookahead,drop_prompt", [(0, False), (1, False), (1, True)])
def test_guided_cached_and_uncached_decoding_agree_and_follow_the_formula(lookahead, drop_prompt):
    """The unconditional pass reads no phoneme, and with drop_prompt no prompt codes either."""
    model = random_model(lookahead=lookahead, phone_dropout=0.2, drop_prompt=drop_prompt)
    inputs = aligned_inputs(model)
    runs = []
    for cached, cfg in ((True, 2.0), (False, 2.0), (True, 0.0)):
        gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
        runs.append(decode_with_logits(model, inputs, cached, sampling=VallESampling(cfg=cfg, seed=3),
                                       generators=gens))
    (cached, cached_logits), (full, full_logits), (plain, plain_logits) = runs
    for (ca, cb), (fa, fb) in zip(cached_logits, full_logits):
        assert float((ca - fa).abs().max()) < 1e-4 and float((cb - fb).abs().max()) < 1e-4
    assert torch.equal(cached.tokens, full.tokens) and torch.equal(cached.path, full.path)
    # step 0 reads the same inputs with and without guidance: guided = cond + 2 (cond - uncond)
    cond = plain_logits[0][0]
    blank = {**inputs, "text": torch.zeros_like(inputs["text"]),
             "prompt_phones": torch.zeros_like(inputs["prompt_phones"])}
    no_prompt = {**blank, "prompt_steps": torch.zeros_like(inputs["prompt_steps"])}
    uncond = _step0_logits(model, no_prompt if drop_prompt else blank)
    assert float((cached_logits[0][0] - (cond + 2.0 * (cond - uncond))).abs().max()) < 1e-4
    if drop_prompt:  # the other kind of unconditional pass would differ
        assert float((_step0_logits(model, blank) - uncond).abs().max()) > 1e-3
    # the pointer reads the conditional pass (the same up to the batch's float rounding)
    assert float((cached_logits[0][1] - plain_logits[0][1]).abs().max()) < 1e-5


def test_guided_decoding_keeps_the_pointer_rules_and_batches_like_one_by_one():
    model = random_model(phone_dropout=0.2)
    codes, pph, pd, tph = items()
    sampling = VallESampling(cfg=3.0, seed=5)
    batched = synthesize(model, codes, pph, tph, sampling, prompt_durations=pd)
    for i in range(3):
        alone = synthesize(model, codes[i:i + 1], pph[i:i + 1], tph[i:i + 1], sampling, prompt_durations=pd[i:i + 1])[0]
        assert torch.equal(alone.codes, batched[i].codes) and torch.equal(alone.durations, batched[i].durations), i
    for g, tp in zip(batched, tph):
        assert g.ended and len(g.durations) == len(tp) + 1 and bool((g.durations >= 2).all())
        assert int(g.durations.sum()) == g.codes.shape[1]
    plain = synthesize(model, codes, pph, tph, VallESampling(seed=5), prompt_durations=pd)
    assert any(not torch.equal(a.codes, b.codes) for a, b in zip(plain, batched))


def test_guidance_needs_a_model_trained_for_it():
    model = random_model()  # phone_dropout 0
    codes, pph, pd, tph = items()
    with pytest.raises(ValueError, match="needs a model trained with phone_dropout > 0"):
        synthesize(model, codes, pph, tph, VallESampling(cfg=2.0), prompt_durations=pd)


def test_drop_prompt_config():
    assert VallEConfig().drop_prompt is False  # older checkpoints keep the prompt in the dropped rows
    assert VallEConfig(**SMALL, phone_dropout=0.1, drop_prompt=True).drop_prompt is True
    with pytest.raises(ValueError, match="drop_prompt needs phone_dropout > 0"):
        VallEConfig(**SMALL, drop_prompt=True)
    with pytest.raises(ValueError, match="drop_prompt must be true or false"):
        VallEConfig(**SMALL, phone_dropout=0.1, drop_prompt="yes")


@pytest.mark.parametrize("drop_prompt", [False, True])
def test_dropped_rows_read_the_prompt_codes_only_without_drop_prompt(drop_prompt):
    """Every row dropped: the AR's loss ignores the prompt's codes exactly when drop_prompt says so."""
    batch = _batch()
    other = {**batch, "prompt": (batch["prompt"] + 17) % 64}  # the same lengths, other codes
    model = random_model(phone_dropout=0.999, drop_prompt=drop_prompt).train()
    losses = []
    for b in (batch, other):
        torch.manual_seed(0)
        losses.append(model(**b, stage=torch.tensor([1, 2]))["ar_loss"].item())
    assert (abs(losses[0] - losses[1]) < 1e-6) == drop_prompt
    with torch.no_grad():  # kept rows (eval mode) always read the prompt
        kept = [model.eval()(**b, stage=torch.tensor([1, 2]))["ar_loss"].item() for b in (batch, other)]
    assert abs(kept[0] - kept[1]) > 1e-4

