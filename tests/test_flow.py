"""Flow matching: solvers, schedules, the model's loss, overfitting, durations and infilling."""

import math

import pytest
import torch

from flow import FlowConfig, FlowSampling, FlowTTS, estimate_frames, infill, synthesize
from flow.generate import sample
from flow.solvers import integrate, steps_for_nfe, time_grid

TINY = dict(dim=64, depth=2, heads=2, text_dim=32, text_conv_layers=1, ff_mult=2)


def test_solvers_integrate_analytic_fields():
    y0 = torch.tensor([1.0, 2.0])
    exact = y0 * math.exp(-1.0)  # dy/dt = -y
    for solver, steps, tol in (("euler", 200, 3e-3), ("midpoint", 20, 1e-3)):
        y = integrate(lambda t, y: -y, y0, time_grid(steps, sway=None), solver)
        assert torch.allclose(y, exact, atol=tol), solver
    # dy/dt = 3 t^2 -> y(1) = y0 + 1; midpoint is exact for a quadratic integrand up to O(h^2)
    y = integrate(lambda t, y: 3 * t**2 * torch.ones_like(y), y0, time_grid(50, sway=-1.0), "midpoint")
    assert torch.allclose(y, y0 + 1, atol=1e-3)


def test_sway_grid():
    g = time_grid(16, sway=-1.0)
    assert g[0] == 0 and abs(g[-1] - 1) < 1e-6 and (g[1:] > g[:-1]).all()
    assert g[1] < 1 / 16  # more steps near t = 0
    assert torch.allclose(time_grid(4, sway=None), torch.linspace(0, 1, 5))


def test_nfe_to_steps():
    assert steps_for_nfe(16, "euler") == 16 and steps_for_nfe(16, "midpoint") == 8
    with pytest.raises(ValueError, match="even"):
        steps_for_nfe(15, "midpoint")
    with pytest.raises(ValueError, match="Unknown solver"):
        FlowSampling(solver="rk4")


@pytest.mark.parametrize("bad", [dict(dim=30, heads=4), dict(mask_min=0.9, mask_max=0.5), dict(conv_pos_kernel=4),
                                 dict(drop_audio_prob=1.0), dict(depth=0),
                                 dict(prompt_prob=1.5)])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        FlowConfig(**bad)


def test_loss_only_on_masked_frames():
    torch.manual_seed(0)
    model = FlowTTS(FlowConfig(**TINY, drop_audio_prob=0.0, drop_all_prob=0.0))
    mel = torch.randn(2, 100, 50)
    lens = torch.tensor([50, 30])
    mask = model.infill_mask(lens, 50)
    spans = mask.sum(1)
    assert (spans >= (0.7 * lens).long()).all() and (spans <= lens).all()
    # the padded frames of the second item never enter the loss: changing them changes nothing
    torch.manual_seed(1)
    a = model(mel, lens, torch.randint(5, 50, (2, 12)))["loss"]
    mel2 = mel.clone()
    mel2[1, :, 30:] = 100.0
    torch.manual_seed(1)
    b = model(mel2, lens, torch.randint(5, 50, (2, 12)))["loss"]
    assert torch.allclose(a, b)


def test_prompt_prob_puts_the_span_at_the_end():
    lens = torch.tensor([50, 30, 41, 7] * 50)
    torch.manual_seed(0)
    always = FlowTTS(FlowConfig(**TINY, prompt_prob=1.0)).infill_mask(lens, 50)
    idx = torch.arange(50)[None]
    last = (always & (idx == (lens - 1)[:, None])).any(1)
    assert last.all() and not (always & (idx >= lens[:, None])).any()  # ends on each item's last frame
    torch.manual_seed(0)
    never = FlowTTS(FlowConfig(**TINY)).infill_mask(lens, 50)
    # the default places spans anywhere: many leave context after them
    assert (~(never & (idx == (lens - 1)[:, None])).any(1)).float().mean() > 0.3
    torch.manual_seed(0)
    half = FlowTTS(FlowConfig(**TINY, prompt_prob=0.5)).infill_mask(lens, 50)
    share = (half & (idx == (lens - 1)[:, None])).any(1).float().mean()
    assert 0.5 < share < 0.95  # half at the end, plus the random spans that reach it anyway


def test_cfg_zero_equals_conditional_prediction():
    torch.manual_seed(0)
    model = FlowTTS(FlowConfig(**TINY)).eval()
    ctx = torch.randn(1, 40, 100)
    known = torch.zeros(1, 40, dtype=torch.bool)
    known[:, :10] = True
    text = torch.randint(5, 50, (1, 40))
    lens = torch.tensor([40])
    guided = sample(model, ctx, known, text, lens, FlowSampling(nfe=4, cfg=0.0, seed=3))
    with torch.inference_mode():  # the same Euler loop, written out with only the conditional field
        y = torch.randn((1, 40, 100), generator=torch.Generator().manual_seed(3))
        grid = time_grid(4, -1.0)
        c = ctx.masked_fill(~known[..., None], 0)
        for t0, t1 in zip(grid[:-1], grid[1:]):
            y = y + (t1 - t0) * model.velocity(y, c, text, t0.expand(1), torch.ones(1, 40, dtype=torch.bool))
    assert torch.allclose(guided[:, 10:], y[:, 10:], atol=1e-5)
    assert torch.equal(guided[:, :10], ctx[:, :10])


@pytest.mark.parametrize("cfg_audio, expected", [(None, 11 + 2 * 11), (2.0, 11 + 2 * 11), (0.0, 11 + 2 * 10),
                                                 (1.0, 11 + 1 * 1 + 2 * 10)])
def test_guidance_combines_the_right_predictions(monkeypatch, cfg_audio, expected):
    """A stand-in field that reads only which conditions an item has: 1 for the prompt's audio,
    10 for the text. The field is v(text, audio) + cfg_audio * (v(text, audio) - v(text, none))
    + cfg * (v(text, none) - v(none)); cfg_audio None or equal to cfg is classic CFG."""
    model = FlowTTS(FlowConfig(**TINY)).eval()

    def velocity(x, context, text, t, mask=None, text_features=None):
        has_audio = (context.abs().sum((1, 2)) > 0).float()
        has_text = (text.abs().sum(1) > 0).float()
        return (has_audio + 10 * has_text)[:, None, None].expand_as(x)

    monkeypatch.setattr(model, "velocity", velocity)
    ctx = torch.randn(1, 20, 100)
    known = torch.zeros(1, 20, dtype=torch.bool)
    known[:, :5] = True
    text = torch.randint(5, 50, (1, 20))
    out = sample(model, ctx, known, text, torch.tensor([20]), FlowSampling(nfe=4, cfg=2.0, cfg_audio=cfg_audio, seed=3))
    y0 = torch.randn((20, 100), generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out[0, 5:] - y0[5:], torch.full((15, 100), float(expected)), atol=1e-4)
    with pytest.raises(ValueError, match="cfg_audio"):
        FlowSampling(cfg_audio=-1.0)


def test_duration_and_speed_give_the_requested_length():
    model = FlowTTS(FlowConfig(**TINY)).eval()
    prompt, pp, tp = torch.randn(100, 120), torch.randint(5, 50, (40,)), torch.randint(5, 50, (60,))
    assert estimate_frames(120, 40, 60) == 180
    assert estimate_frames(120, 40, 60, speed=2.0) == 90
    out = synthesize(model, [prompt], [pp], [tp], FlowSampling(nfe=2, seed=0))
    assert out[0].shape == (100, 180)
    out = synthesize(model, [prompt], [pp], [tp], FlowSampling(nfe=2, speed=1.5, seed=0))
    assert out[0].shape == (100, 120)
    out = synthesize(model, [prompt, prompt[:, :50]], [pp, pp], [tp, tp], FlowSampling(nfe=2, seed=0), frames=[77, None])
    assert out[0].shape == (100, 77) and out[1].shape == (100, estimate_frames(50, 40, 60))


def test_batch_matches_single_items():
    torch.manual_seed(0)
    model = FlowTTS(FlowConfig(**TINY)).eval()
    prompts = [torch.randn(100, 30), torch.randn(100, 45)]
    pps = [torch.randint(5, 50, (10,)), torch.randint(5, 50, (14,))]
    tps = [torch.randint(5, 50, (12,)), torch.randint(5, 50, (9,))]
    options = FlowSampling(nfe=4, cfg=1.5, seed=7)
    both = synthesize(model, prompts, pps, tps, options, frames=[20, 33])
    for i in range(2):
        alone = synthesize(model, prompts[i:i + 1], pps[i:i + 1], tps[i:i + 1], options, frames=[[20, 33][i]])[0]
        assert torch.allclose(both[i], alone, atol=1e-4), i


def test_synthesis_path_matches_the_training_path():
    """Synthesis computes the velocity with faster kernels (oneDNN linear layers on CPU, the
    time modulation fused into the layer norms) than training (autograd, a time per item):
    the same numbers up to float32 rounding, on random weights that make every block count
    (the init's zero gates would make them the identity)."""
    torch.manual_seed(0)
    model = FlowTTS(FlowConfig(**TINY))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.1)
    x, ctx, text = torch.randn(2, 50, 100), torch.randn(2, 50, 100), torch.randint(0, 50, (2, 50))
    t = torch.tensor([0.3, 0.3])
    mask = torch.ones(2, 50, dtype=torch.bool)
    mask[1, 40:] = False
    for m in (None, mask):
        trained = model.velocity(x, ctx, text, t, m)
        assert trained.requires_grad
        with torch.inference_mode():
            fast = model.velocity(x, ctx, text, t[:1], m)  # one time for the batch, as synthesis passes it
        assert trained.abs().mean() > 0.1 and torch.allclose(fast, trained.detach(), atol=1e-5, rtol=1e-5)


def test_rotary_inference_path_is_bitwise_the_autograd_path():
    from nn_common import Rotary, apply_rotary

    qkv = torch.randn(2, 30, 3, 4, 16).permute(2, 0, 3, 1, 4)  # q, k, v [b, h, n, e] as attention views them
    cos, sin = Rotary(16)(30, "cpu")
    for x in qkv[:2]:
        fast = apply_rotary(x, cos, sin)
        slow = apply_rotary(x.clone().requires_grad_(), cos, sin)
        assert torch.equal(fast, slow.detach())


def test_conv_position_embedding_is_two_masked_conv1d():
    """Without autograd ConvPositionEmbedding runs its Conv1d weights as conv2d (faster on
    CPU): the same as the Conv1d layers themselves (training's path), padding zeroed before each."""
    import torch.nn.functional as F

    from flow.modules import ConvPositionEmbedding

    torch.manual_seed(0)
    pos = ConvPositionEmbedding(64, kernel=7)
    x = torch.randn(2, 40, 64)
    mask = torch.ones(2, 40, dtype=torch.bool)
    mask[1, 25:] = False
    for m in (None, mask):
        keep = torch.ones(2, 1, 40) if m is None else m[:, None].float()
        h = x.transpose(1, 2)
        for conv in pos.convs:
            h = F.mish(conv(h * keep))
        with torch.no_grad():
            fast = pos(x, m)
        trained = pos(x, m)
        assert trained.requires_grad and torch.equal(trained, (h * keep).transpose(1, 2))
        assert torch.allclose(fast, trained.detach(), atol=1e-5)


def test_infill_keeps_frames_outside_the_span():
    model = FlowTTS(FlowConfig(**TINY)).eval()
    feats = torch.randn(100, 80)
    out = infill(model, feats, 30, 50, 35, torch.randint(5, 50, (30,)), FlowSampling(nfe=2, seed=0))
    assert out.shape == (100, 80 - 20 + 35)
    assert torch.equal(out[:, :30], feats[:, :30])
    assert torch.equal(out[:, 65:], feats[:, 50:])
    with pytest.raises(ValueError, match="outside"):
        infill(model, feats, 70, 90, 5, torch.randint(5, 50, (30,)))


def test_tiny_model_overfits_one_utterance(tinyvoices):
    """Train on one utterance; the model then continues it from its first half."""
    from text_frontend import Frontend
    from tts.mel import MelFeatures
    from tts.data.manifests import load_cuts

    from flow.model import pad_text

    cut = next(iter(load_cuts(tinyvoices, "dev")))
    wav = torch.from_numpy(cut.load_audio()[0])[None]
    mel = MelFeatures()(wav)[:, :, :240]  # [1, 100, n]: the first 2.5 s
    phon = torch.tensor(Frontend("en-us").encode(cut.supervisions[0].text).ids)[None]
    torch.manual_seed(0)
    config = FlowConfig(dim=128, depth=3, heads=2, text_dim=32, text_conv_layers=1,
                        drop_audio_prob=0.0, drop_all_prob=0.0, mask_min=0.3, mask_max=0.7)
    model = FlowTTS(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    lens = torch.tensor([mel.shape[-1]])
    for _ in range(300):  # 8 copies per step: 8 masks, times and noises
        loss = model(mel.expand(8, -1, -1), lens.expand(8), phon.expand(8, -1))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    half = mel.shape[-1] // 2
    known = torch.zeros(1, mel.shape[-1], dtype=torch.bool)
    known[:, :half] = True
    out = sample(model, mel.transpose(1, 2), known, pad_text(phon, mel.shape[-1]), lens,
                 FlowSampling(nfe=16, cfg=0.0, seed=0))
    err = (out[0, half:] - mel[0, :, half:].T).abs().mean()
    baseline = (mel[0, :, half:].T - mel[0, :, half:].mean()).abs().mean()  # predicting the mean level
    assert err < 0.6 * baseline, (err, baseline)
