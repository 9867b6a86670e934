"""codec_lm.valle: losses, KV-cached decoding, sampling, length bounds, batching, candidates, overfitting."""

import math
import subprocess
import sys

import pytest
import torch

from codec_lm.valle import (VallE, VallEConfig, VallESampling, generate_ar, generate_nar, join_phonemes,
                            length_limits, synthesize)
from codec_lm.valle.sampling import filter_logits, inverse_cdf, sample_tokens

SMALL = dict(n_codebooks=4, codebook_size=64, dim=64, heads=2, ar_layers=2, nar_layers=2, dropout=0.0)


pytestmark = pytest.mark.usefixtures("single_thread")


def random_model(seed=0, **kw):
    torch.manual_seed(seed)
    return VallE(VallEConfig(**{**SMALL, **kw})).eval()


def items(seed=1, n=3, q=4, k=64):
    """Prompts of different lengths and texts of different lengths."""
    g = torch.Generator().manual_seed(seed)
    prompt_lens, text_lens, target_lens = [30, 11, 22][:n], [9, 4, 13][:n], [12, 20, 6][:n]
    codes = [torch.randint(0, k, (q, p), generator=g) for p in prompt_lens]
    pph = [torch.randint(5, 200, (n_,), generator=g).tolist() for n_ in text_lens]
    tph = [torch.randint(5, 200, (n_,), generator=g).tolist() for n_ in target_lens]
    return codes, pph, tph


def test_config_validation():
    cfg = VallEConfig()
    assert (cfg.eos_id, cfg.bos_id) == (1024, 1025)
    for bad in (dict(dim=30, heads=4), dict(n_codebooks=0), dict(codebook_size=1), dict(dropout=1.0),
                dict(n_codebooks=4, nar_layers=0), dict(separator_id=0), dict(frame_rate=0), dict(heads=True)):
        with pytest.raises(ValueError, match="VallEConfig"):
            VallEConfig(**bad)
    VallEConfig(n_codebooks=1, nar_layers=0)  # one codebook: AR only
    assert VallE(VallEConfig(**{**SMALL, "n_codebooks": 1, "nar_layers": 0})).nar is None


def test_losses_score_only_target_tokens():
    model = random_model().train()
    b = 2
    ph, pl = torch.randint(5, 100, (b, 10)), torch.tensor([10, 6])
    prompt, plens = torch.randint(0, 64, (b, 4, 8)), torch.tensor([8, 5])
    target, tlens = torch.randint(0, 64, (b, 4, 7)), torch.tensor([7, 3])
    out = model(ph, pl, prompt, plens, target, tlens)
    assert set(out) == {"loss", "ar_loss", "ar_acc", "ar_top10", "nar_loss", "nar_acc", "nar_top10"}
    assert abs(out["ar_loss"].item() - math.log(65)) < 1.0 and 0 <= out["ar_top10"].item() <= 1
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())  # AR and NAR both train
    # Padding (codes beyond the lengths, prompt padding) never changes the losses.
    target2, prompt2 = target.clone(), prompt.clone()
    target2[1, :, 3:] = 7
    prompt2[1, :, 5:] = 9
    stage = torch.tensor([1, 3])
    torch.manual_seed(0)
    a = model.eval()(ph, pl, prompt, plens, target, tlens, stage)
    b_ = model(ph, pl, prompt2, plens, target2, tlens, stage)
    for key in a:
        assert torch.allclose(a[key], b_[key], atol=1e-6), key
    with pytest.raises(ValueError, match="codebooks"):
        model(ph, pl, prompt[:, :2], plens, target[:, :2], tlens)


def test_cached_and_uncached_decoding_give_the_same_logits():
    model = random_model()
    codes, pph, tph = items()
    text = torch.nn.utils.rnn.pad_sequence([torch.tensor(join_phonemes(p, t, 4)) for p, t in zip(pph, tph)], True)
    text_lens = torch.tensor([len(p) + 1 + len(t) for p, t in zip(pph, tph)])
    prompt = torch.nn.utils.rnn.pad_sequence([c[0] for c in codes], True)
    prompt_lens = torch.tensor([c.shape[1] for c in codes])
    sampling = VallESampling(temperature=1.0, top_p=0.9, seed=3)
    runs = []
    for use_cache in (True, False):
        gens = [torch.Generator().manual_seed(s) for s in (1, 2, 3)]
        runs.append(generate_ar(model.ar, text, text_lens, prompt, prompt_lens, torch.tensor([5, 1, 3]),
                                torch.tensor([40, 25, 30]), sampling, gens, use_cache=use_cache, return_logits=True))
    cached, full = runs
    assert len(cached.logits) == len(full.logits) >= 5
    worst = max(float((a - b).abs().max()) for a, b in zip(cached.logits, full.logits))
    assert worst < 1e-4, worst
    assert torch.equal(cached.tokens, full.tokens) and torch.equal(cached.lengths, full.lengths)


def test_fused_decoding_step_matches_the_blocks_and_sees_new_weights():
    """The inference step (pre-transposed weights, addmm) computes what the blocks compute, with
    and without padding in the batch, and weights loaded after a decode are used by the next one."""
    from codec_lm.valle.modules import KVCache

    model = random_model()
    ar = model.ar
    g = torch.Generator().manual_seed(0)
    text, prompt = torch.randint(5, 200, (2, 7), generator=g), torch.randint(0, 64, (2, 9), generator=g)
    text_lens, prompt_lens = torch.tensor([7, 5]), torch.tensor([9, 6])

    def three_steps(fused):
        cache = KVCache(len(ar.blocks), 16 + 3)
        ctx = torch.inference_mode() if fused else torch.enable_grad()
        with ctx:
            valid = torch.cat([ar.prefill(text, text_lens, prompt, prompt_lens, cache),
                               torch.ones(2, 3, dtype=torch.bool)], 1)
            outs = [ar.step(torch.tensor([65, 3]), t, valid[:, : 16 + t + 1], cache) for t in range(3)]
        return torch.stack([o.detach() for o in outs])

    slow, fast = three_steps(False), three_steps(True)
    assert ar._step_weights is not None
    assert float((slow - fast).abs().max()) < 1e-4
    other = random_model(seed=5)
    ar.load_state_dict(other.ar.state_dict())  # in place: the cached copies are now stale
    after = three_steps(True)
    assert float((after - fast).abs().max()) > 1e-2
    assert float((after - three_steps(False)).abs().max()) < 1e-4
    with torch.inference_mode():  # weights loaded under inference mode have no version counter
        ar.load_state_dict(random_model(seed=0).ar.state_dict(), assign=True)
    assert ar.blocks[0].attn.qkv.weight.is_inference()
    assert float((three_steps(True) - fast).abs().max()) < 1e-4


def test_length_cap_stops_a_model_that_never_emits_eos():
    model = random_model()
    with torch.no_grad():
        model.ar.head.bias[model.config.eos_id] = -1e4  # EOS never wins
    codes, pph, tph = items()
    sampling = VallESampling(temperature=1.0, max_length_ratio=1.5, seed=0)
    out = synthesize(model, codes, pph, tph, sampling)
    for c, p, t, g in zip(codes, pph, tph, out):
        lo, hi = length_limits(c.shape[1], len(p), len(t), sampling)
        assert hi == math.ceil(c.shape[1] / len(p) * len(t) * 1.5)
        assert g.codes.shape == (4, hi) and not g.ended
    capped = synthesize(model, codes[:1], pph[:1], tph[:1], VallESampling(max_frames=7, seed=0))
    assert capped[0].codes.shape == (4, 7)


def test_minimum_length_forbids_early_eos():
    model = random_model()
    with torch.no_grad():
        model.ar.head.bias[model.config.eos_id] = 1e4  # EOS always wins when allowed
    codes, pph, tph = items()
    sampling = VallESampling(min_length_ratio=0.5, seed=0)
    for c, p, t, g in zip(codes, pph, tph, synthesize(model, codes, pph, tph, sampling)):
        lo, _ = length_limits(c.shape[1], len(p), len(t), sampling)
        assert g.ended and g.codes.shape[1] == lo >= 1


@pytest.mark.parametrize("sampling", [
    VallESampling(temperature=0, repetition_window=0, max_length_ratio=1.5),
    VallESampling(temperature=1.2, top_k=40, top_p=0.9, nar_temperature=1.0, seed=7),
], ids=["greedy", "sampled"])
def test_batched_decoding_matches_one_by_one(sampling):
    model = random_model()
    codes, pph, tph = items()
    batched = synthesize(model, codes, pph, tph, sampling)
    for i in range(3):
        alone = synthesize(model, codes[i:i + 1], pph[i:i + 1], tph[i:i + 1], sampling)[0]
        assert torch.equal(alone.codes, batched[i].codes), i
        assert alone.ended == batched[i].ended
    assert len({g.codes.shape[1] for g in batched}) > 1  # the items really had different lengths


def test_seeded_sampling_is_deterministic_and_candidates_are_reranked():
    model = random_model()
    codes, pph, tph = items(n=2)
    s1 = VallESampling(seed=11, num_candidates=4)
    a, b = synthesize(model, codes, pph, tph, s1), synthesize(model, codes, pph, tph, s1)
    assert all(torch.equal(x.codes, y.codes) for x, y in zip(a, b))
    other = synthesize(model, codes, pph, tph, VallESampling(seed=12, num_candidates=4))
    assert any(x.codes.shape != y.codes.shape or not torch.equal(x.codes, y.codes) for x, y in zip(a, other))
    seen = []

    def longest(item, candidates):
        seen.append((item, [c.shape for c in candidates]))
        return [c.shape[1] for c in candidates]

    picked = synthesize(model, codes, pph, tph, s1, scorer=longest)
    assert [s[0] for s in seen] == [0, 1] and all(len(s[1]) == 4 for s in seen)
    for g, (_, shapes) in zip(picked, seen):
        assert g.codes.shape[1] == max(s[1] for s in shapes) and g.scores[g.candidate] == max(g.scores)
    with pytest.raises(ValueError, match="scores for 4 candidates"):
        synthesize(model, codes, pph, tph, s1, scorer=lambda i, c: [0.0])


def test_sampling_filters_and_repetition_aware_sampling():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True, True]]
    # probs ~ .64 .23 .09 .03 .01: a nucleus of 0.8 keeps the first two
    assert torch.isinf(filter_logits(logits, top_p=0.8)).tolist() == [[False, False, True, True, True]]
    assert not torch.isinf(filter_logits(logits, top_p=0.01)[0, 0])  # the best token always survives
    probs = torch.tensor([[0.0, 0.5, 0.0, 0.5]])
    assert inverse_cdf(probs, torch.tensor([0.0])).item() == 1 and inverse_cdf(probs, torch.tensor([0.99])).item() == 3
    # Greedy would repeat token 0 forever; RAS replaces a token that fills the window.
    logits = torch.tensor([[2.0, 1.9, 1.8]])
    window = torch.tensor([[0, 0, 0, 0]])
    u = torch.tensor([[0.0, 0.99]])
    assert sample_tokens(logits, window, u, 0.0, 0, 1.0, repetition_window=0, repetition_threshold=0.1).item() == 0
    assert sample_tokens(logits, window, u, 0.0, 0, 1.0, repetition_window=4, repetition_threshold=0.5).item() == 2
    fresh = torch.tensor([[1, 2, 1, 2]])
    assert sample_tokens(logits, fresh, u, 0.0, 0, 1.0, repetition_window=4, repetition_threshold=0.5).item() == 0


def test_input_and_option_errors():
    model = random_model()
    codes, pph, tph = items()
    with pytest.raises(ValueError, match="codec"):
        synthesize(model, [codes[0] + 64], pph[:1], tph[:1])
    with pytest.raises(ValueError, match="must not be empty"):
        synthesize(model, codes[:1], [[]], tph[:1])
    with pytest.raises(ValueError, match="one prompt"):
        synthesize(model, codes, pph[:1], tph)
    for bad in (dict(top_p=0.0), dict(temperature=-1), dict(num_candidates=0), dict(min_length_ratio=3.0),
                dict(max_frames=0), dict(repetition_threshold=2.0)):
        with pytest.raises(ValueError):
            VallESampling(**bad)


def test_nar_fills_every_codebook():
    model = random_model()
    text, text_lens = torch.randint(5, 100, (2, 6)), torch.tensor([6, 4])
    prompt, prompt_lens = torch.randint(0, 64, (2, 4, 9)), torch.tensor([9, 5])
    first, lengths = torch.randint(0, 64, (2, 8)), torch.tensor([8, 3])
    codes = generate_nar(model.nar, text, text_lens, prompt, prompt_lens, first, lengths)
    assert codes.shape == (2, 4, 8) and torch.equal(codes[0, 0], first[0])
    assert (codes[1, :, 3:] == -1).all() and (codes[1, :, :3] >= 0).all()


def test_package_does_not_import_tts_or_lightning():
    code = ("import sys\nimport codec_lm.valle\n"
            "assert not {'lightning', 'pytorch_lightning', 'tts'} & set(sys.modules), 'bad import'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def utterance(tinyvoices):
    """The shortest TinyVoices training utterance: its phoneme ids and codes [2, N] from a
    random-weights MelRVQ (2 x 64 at 93.75 Hz; a second codebook exercises the NAR)."""
    from vocos_configs import MEL

    from codec_lm.codecs import MelRVQ, MelRVQCodec, MelRVQConfig, build_vocos
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    torch.manual_seed(0)
    codec = MelRVQCodec(MelRVQ(MelRVQConfig(n_codebooks=2, codebook_size=64, dim=64, n_layers=1, kmeans_init=False)),
                        build_vocos(MEL)).eval()
    cut = min(load_cuts(tinyvoices, "train"), key=lambda c: c.duration)
    _, ids = TTSDataset().phonemize(cut)
    with torch.no_grad():
        codes = codec.encode(torch.from_numpy(cut.load_audio()[0])[None])[0]
    return list(ids), codes, codec.frame_rate


def test_tiny_model_overfits_one_utterance_and_reproduces_its_codes(utterance):
    ids, codes, frame_rate = utterance
    prompt_frames = 90  # about 1 s of prompt, the rest is the target
    split = ids.index(4, len(ids) // 3)  # a word boundary: join(prompt, target) gives back `ids`
    pph, tph = ids[:split], ids[split + 1:]
    assert join_phonemes(pph, tph, 4) == ids
    torch.manual_seed(0)
    config = VallEConfig(n_codebooks=2, codebook_size=64, dim=64, heads=2, ar_layers=2, nar_layers=2, dropout=0.0,
                         frame_rate=frame_rate)
    model = VallE(config)
    steps = 250
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(1.0, i / steps))))
    prompt, target = codes[None, :, :prompt_frames], codes[None, :, prompt_frames:]
    args = (torch.tensor([ids]), torch.tensor([len(ids)]), prompt, torch.tensor([prompt_frames]), target,
            torch.tensor([target.shape[-1]]))
    for _ in range(steps):
        out = model(*args)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        sched.step()
    assert float(out["ar_acc"]) == 1.0
    greedy = VallESampling(temperature=0, repetition_window=0, max_length_ratio=3.0)
    got = synthesize(model, [codes[:, :prompt_frames]], [pph], [tph], greedy)[0]
    assert got.ended, "the model should stop by itself, with EOS"
    assert got.codes.shape == target[0].shape
    assert torch.equal(got.codes[0], target[0, 0]), "AR tokens differ"
    assert torch.equal(got.codes, target[0]), "NAR codes differ"


def test_bench_valle_cache_is_faster_and_cli_reports(capsys):
    import json

    from tts.bench.valle import bench_valle
    from tts.cli import main

    r = bench_valle(tokens=48, batch=2)
    assert r.tokens == 48 and r.prompt_frames == 281 and r.ar_parameters > 5e6 and r.group_size == 1
    assert r.speedup > 1.0 and r.cached_peak_mib >= 0 and r.uncached_peak_mib >= 0
    assert r.cached_audio_seconds_per_s == pytest.approx(r.cached_tokens_per_s / 93.75)
    assert r.steps_per_audio_second == 93.75 and r.batch == 2 and r.batch_tokens_per_s > 0
    # The floor only reads the weights once per step: a real step cannot beat it by much.
    assert 0.0 < r.floor_fraction < 1.5
    # The cache floor adds the keys and values read: 100 phonemes + 281 prompt frames + the
    # mean 24.5 steps of 48, 2 tensors of 256 per layer and position, 6 layers, float32.
    from codec_lm.valle import VallE, VallEConfig
    from tts.bench.valle import kv_cache_bytes_per_step, weight_floor_bytes

    kv = kv_cache_bytes_per_step(VallEConfig(), 381, 48)
    assert kv == 2 * 6 * 256 * (381 + 24.5) * 4
    ratio = r.floor_tokens_per_s / r.kv_floor_tokens_per_s
    assert ratio == pytest.approx(1 + kv / weight_floor_bytes(VallE(VallEConfig()).ar))
    assert r.kv_floor_fraction == pytest.approx(r.floor_fraction * ratio)
    mono = bench_valle(tokens=21, batch=0, uncached=False, alignment="monotonic")
    assert mono.group_size == 2 and mono.steps_per_audio_second == pytest.approx(46.875)
    assert mono.batch_tokens_per_s is None and mono.uncached_tokens_per_s is None
    # The whole model: the cached AR's time plus the NAR's, over the audio (22 frames: whole steps).
    assert mono.nar_seconds > 0 and mono.audio_seconds == pytest.approx(22 / 93.75)
    ar_seconds = 22 / mono.cached_tokens_per_s
    assert mono.whole_rtf == pytest.approx((ar_seconds + mono.nar_seconds) / mono.audio_seconds)
    assert bench_valle(tokens=4, batch=0, uncached=False, nar=False).whole_rtf is None
    assert main(["bench", "valle", "--tokens", "4", "--skip-uncached", "--batch", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tokens"] == 4 and out["uncached_tokens_per_s"] is None and out["speedup"] is None
    assert out["floor_fraction"] > 0 and out["kv_floor_fraction"] > 0 and out["batch_tokens_per_s"] is None
    assert main(["bench", "valle", "--tokens", "4", "--skip-uncached", "--batch", "2", "--alignment", "monotonic"]) == 0
    text = capsys.readouterr().out
    assert "VALL-E R" in text and "weight floor" in text and "KV-cache floor" in text and "batch 2" in text
    assert "whole model (cached AR + NAR" in " ".join(text.split())
    assert main(["bench", "valle", "--group", "0"]) == 2
    assert "--group must be an integer in [1, 16], got 0." in capsys.readouterr().err
