"""recipes/flow: CPU training steps on TinyVoices, export -> checkpoint folder, resume, DDP on 2 processes,
speaker prompts (recipes/flow/pairs.py, recipes/flow/data.py)."""

import pytest
import torch
import yaml
from conftest import REPO
from vocos_configs import MEL

from flow import FlowConfig, FlowTTS
from tts.checkpoint import build_config, load_state_dict, read_checkpoint

pytest.importorskip("lightning")


@pytest.fixture(scope="module")
def vocoder(tmp_path_factory):
    from codec_lm.codecs import build_vocos, save_vocos

    torch.manual_seed(0)
    return save_vocos(build_vocos(MEL), MEL, tmp_path_factory.mktemp("flowvoc") / "vocos")


def tiny_args(corpus, vocoder, run_dir, max_steps, *extra):
    return ["--config", "tiny_filler", "--data.data_dir", str(corpus), "--model.vocoder", str(vocoder),
            "--data.val_cuts", "cuts_test_seen.jsonl.gz",
            "--trainer.default_root_dir", str(run_dir), "--trainer.logger.init_args.save_dir", str(run_dir),
            "--trainer.max_steps", str(max_steps), "--trainer.val_check_interval", "3",
            "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks.init_args.every_n_train_steps", "2", "--model.warmup_steps", "2",
            "--model.flow.dim", "64", "--model.flow.depth", "2", "--model.flow.heads", "2",
            "--model.flow.text_dim", "32", "--model.flow.text_conv_layers", "1",
            "--data.max_duration", "12", "--data.num_workers", "0", *extra]


@pytest.fixture(scope="module")
def trained(tinyvoices, vocoder, tmp_path_factory):
    from recipes.cli import train

    root = tmp_path_factory.mktemp("flowrun")
    run_dir, export = root / "run", root / "export"
    result = train("flow", tiny_args(tinyvoices, vocoder, run_dir, 6, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_export_and_load(trained, vocoder):
    run_dir, export, result = trained
    assert result["global_step"] == 6
    info = read_checkpoint(export, family="flow")
    assert info.dependencies["vocoder"] == vocoder.resolve()
    config = build_config(FlowConfig, info)
    assert (config.dim, config.depth, config.mel_dim, config.vocab_size) == (64, 2, 100, 500)
    model = FlowTTS(config)
    model.load_state_dict(load_state_dict(info))
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, ckpt["state_dict"][f"model.{k}"]), k
    assert info.vocab_path is not None and "recipe command" in (export / "README.md").read_text()
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    assert all(k in metrics for k in ("train/loss", "val/loss", "val/text_gap", "val/per", "val/sim"))  # TextProbe


def test_resume_restores_step_and_optimizer_state(trained, tinyvoices, vocoder):
    import recipe_probe
    from recipes.cli import train

    run_dir, _, first = trained
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("flow", tiny_args(tinyvoices, vocoder, run_dir, 8, "--ckpt_path", "last",
                                     "--trainer.callbacks+=recipe_probe.StateProbe"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == 8


def test_export_from_lightning_checkpoint(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, _, result = trained
    out = export_from_checkpoint("flow", result["last"], tmp_path / "again")
    assert read_checkpoint(out, family="flow").config["dim"] == 64


def test_tts_export_command(trained, tmp_path, capsys):
    """`tts export` turns a stopped run's checkpoint into a model folder; misuse is one clear line."""
    from tts.cli import main

    _, _, result = trained
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "m"), "--data", "corpus"]) == 0
    assert read_checkpoint(tmp_path / "m", family="flow").meta["training"]["data"] == "corpus"
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "m")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", "vocos", str(result["last"]), "-o", str(tmp_path / "v")]) == 2
    assert "is not a vocos checkpoint" in capsys.readouterr().err
    assert main(["export", "flow", str(tmp_path / "m" / "model.yaml"), "-o", str(tmp_path / "w")]) == 2
    assert "not a readable Lightning checkpoint" in capsys.readouterr().err
    # half-precision storage: half the size, loads as float32 weights within float16 rounding
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "h"), "--dtype", "float16"]) == 0
    size = lambda d: (d / "model.safetensors").stat().st_size  # noqa: E731
    assert size(tmp_path / "h") < 0.6 * size(tmp_path / "m")
    assert read_checkpoint(tmp_path / "h").meta["weights_dtype"] == "float16"
    full, half = (load_state_dict(read_checkpoint(tmp_path / d)) for d in ("m", "h"))
    for name, value in full.items():
        torch.testing.assert_close(half[name], value, rtol=1e-3, atol=1e-4)
    assert main(["export", "vocos", str(result["last"]), "-o", str(tmp_path / "v16"), "--dtype", "float16"]) == 2
    assert "stored in float32" in capsys.readouterr().err


def test_shipped_configs_build(vocoder):
    from recipes.flow.module import FlowModule

    cfg = yaml.safe_load((REPO / "recipes" / "flow" / "configs" / "tiny.yaml").read_text())["model"]
    module = FlowModule(vocoder=str(vocoder), **cfg)
    assert 5e6 < sum(p.numel() for p in module.model.parameters()) < 8e6
    gpu = yaml.safe_load((REPO / "recipes" / "flow" / "configs" / "libritts_gpu.yaml").read_text())
    assert gpu["trainer"]["strategy"] == "ddp" and gpu["trainer"]["use_distributed_sampler"] is False
    FlowConfig(**gpu["model"]["flow"])  # valid hyper-parameters


def test_unknown_setting_is_a_clear_error(vocoder):
    from recipes.common import RecipeError
    from recipes.flow.module import FlowModule

    with pytest.raises(RecipeError, match="Unknown flow settings"):
        FlowModule(vocoder=str(vocoder), flow={"width": 3})
    with pytest.raises(RecipeError, match="Invalid model.flow"):
        FlowModule(vocoder=str(vocoder), flow={"dim": 30, "heads": 4})
    with pytest.raises(RecipeError, match="text_conditioning: aligned needs model.aligner"):
        FlowModule(vocoder=str(vocoder), flow={"text_conditioning": "aligned"})


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tinyvoices, vocoder, tmp_path):
    """strategy ddp, 2 CPU processes (gloo): the same YAML scales by devices/num_nodes."""
    import recipe_probe

    run_dir = tmp_path / "ddp"
    args_for = lambda n, *extra: tiny_args(tinyvoices, vocoder, run_dir, n, *extra)  # noqa: E731
    recipe_probe.train_ddp_on_two_cpu_processes("flow", args_for, run_dir, cwd=tmp_path)


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tinyvoices, vocoder, tmp_path):
    """SIGKILL a training process after its first checkpoint; resume with the same step, weights
    (the EMA average and the raw weights) and optimizer state."""
    import recipe_probe

    run_dir = tmp_path / "killed"
    recipe_probe.kill_and_resume("flow", lambda n, *extra: tiny_args(tinyvoices, vocoder, run_dir, n, *extra),
                                 run_dir, cwd=tmp_path)


def test_warmup_ema_follows_the_model_early_and_averages_later():
    from torch.optim.swa_utils import AveragedModel

    from recipes.callbacks import WarmupEMA

    ema = WarmupEMA(decay=0.9)
    model = torch.nn.Linear(1, 1, bias=False)
    avg = AveragedModel(model, multi_avg_fn=ema._kwargs["multi_avg_fn"], use_buffers=True)
    expected = None
    for step, value in enumerate([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]):
        model.weight.data.fill_(value)
        avg.update_parameters(model)
        if expected is None:
            expected = value  # the first update copies
        else:
            d = min(0.9, (1 + step) / (10 + step))
            expected = d * expected + (1 - d) * value
        assert abs(avg.module.weight.item() - expected) < 1e-6
    with pytest.raises(ValueError):
        WarmupEMA(decay=1.0)


# ------------------------------------------------------------------ aligned (Voicebox-style) text
@pytest.fixture(scope="module")
def aligned(tinyvoices, tmp_path_factory):
    """The test corpus's train and test_seen manifests with phone alignments from the shipped aligner."""
    from tts.data.alignment import align_cuts

    out = tmp_path_factory.mktemp("aligned")
    for split in ("train", "test_seen"):
        align_cuts(tinyvoices / f"cuts_{split}.jsonl.gz", "tiny-aligner", out=out)
    return out


def _aligned_batch(aligned, n: int):
    from tts.data.dataset import TTSDataset
    from tts.mel import MelFeatures
    from tts.data.manifests import load_cuts

    b = TTSDataset(features="audio", durations=True)[load_cuts(aligned / "cuts_test_seen_aligned.jsonl.gz").subset(
        first=n)]
    return {"mel": MelFeatures()(b["audio"]), "mel_lens": b["audio_lens"] // 256 + 1, "phonemes": b["phonemes"],
            "phoneme_lens": b["phoneme_lens"], "durations": b["durations"]}


def test_text_gap_fails_for_a_model_that_ignores_the_aligned_phones(aligned):
    """The probe can fail: after the same 100 steps on three utterances, a model whose phone
    embeddings are frozen at zero has no text gap, and one that reads them has a clear one."""
    from recipes.probes import text_gap

    batch = _aligned_batch(aligned, 3)
    gaps = {}
    for reads_text in (False, True):
        torch.manual_seed(0)
        model = FlowTTS(FlowConfig(dim=64, depth=2, heads=2, text_dim=32, text_conv_layers=1,
                                   text_conditioning="aligned", duration_dim=32, duration_layers=1, mel_mean=-2.2,
                                   mel_std=2.4, drop_audio_prob=0.0, drop_all_prob=0.0))
        if not reads_text:
            model.text_encoder.embed.weight.data.zero_()
            model.text_encoder.embed.weight.requires_grad_(False)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
        for _ in range(100):
            loss = model(batch["mel"], batch["mel_lens"], batch["phonemes"], batch["phoneme_lens"],
                         batch["durations"])["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()

        class Probe:
            text_keys = ("phonemes", "phoneme_lens")

            def probe_loss(self, b, model=model):
                return model(b["mel"], b["mel_lens"], b["phonemes"], b["phoneme_lens"], b["durations"])["flow_loss"]

        gaps[reads_text] = text_gap(Probe(), [batch], seed=0)
    assert abs(gaps[False]) < 0.005 and gaps[True] > 0.03, gaps


@pytest.fixture(scope="module")
def aligned_export(aligned, vocoder, tmp_path_factory):
    from recipes.cli import train

    root = tmp_path_factory.mktemp("alignedrun")
    run_dir, export = root / "run", root / "export"
    args = tiny_args(aligned, vocoder, run_dir, 4, "--export_dir", str(export))
    args[1] = "tiny"  # the aligned config (tiny_args names tiny_filler)
    args[args.index("--data.val_cuts") + 1] = "cuts_test_seen_aligned.jsonl.gz"
    result = train("flow", [*args, "--model.flow.duration_dim", "32", "--model.flow.duration_layers", "1"])
    return run_dir, export, result


def test_aligned_config_trains_exports_and_synthesizes(aligned_export):
    from tts import Synthesizer

    from conftest import DEMO_PROMPT

    run_dir, export, result = aligned_export
    assert result["global_step"] == 4
    info = read_checkpoint(export, family="flow")
    assert info.config["text_conditioning"] == "aligned" and set(info.dependencies) == {"vocoder", "aligner"}
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/flow_loss", "train/duration_loss", "val/duration_loss", "val/text_gap", "val/per", "val/sim"):
        assert key in metrics, key
    synth = Synthesizer.from_pretrained(export)
    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    audio = synth.synthesize("Hello there.", DEMO_PROMPT, prompt_text=text, seed=0, nfe=2)
    assert torch.isfinite(audio.wav).all() and audio.duration > 0.1  # at least a frame per symbol, untrained
    timed = synth.synthesize("Hello there.", DEMO_PROMPT, prompt_text=text, seed=0, nfe=2, duration=2.0)
    assert abs(timed.duration - 2.0) < 0.05


def test_aligned_edit_regenerates_only_the_changed_words(aligned_export):
    """The aligner finds the word; samples before and after it (outside the 20 ms seams) are the input's."""
    from text_frontend import Frontend
    from tts import Synthesizer
    from tts.audio import load
    from tts.errors import TTSError

    from conftest import DEMO_PROMPT

    synth = Synthesizer.from_pretrained(aligned_export[1])
    source = load(DEMO_PROMPT, 24000)
    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    out = synth.edit(source, text, text.replace("smooth", "rough"), seed=0, nfe=2)
    # where "smooth" lies, by the same alignment the backend made
    mel = synth.backend.vocoder.mel(source.wav)[0]
    ids, durations = synth.backend.prompt_durations(mel, Frontend("en-us").encode(text).ids)
    words = [i for i, s in enumerate(ids.tolist()) if s == 4]  # word boundaries
    symbols = Frontend("en-us").encode(text)
    k = [w for w, (a, b) in enumerate(symbols.word_spans) if "".join(symbols.symbols[a:b]).startswith("sm")][0]
    start, end = int(durations[: words[k] + 1].sum()) * 256, int(durations[: words[k + 1]].sum()) * 256
    fade = int(0.02 * 24000)
    assert torch.equal(out.wav[: start - fade], source.wav[: start - fade])
    tail = source.wav.numel() - end - fade
    assert torch.equal(out.wav[-tail:], source.wav[-tail:])
    with pytest.raises(TTSError, match="leave out --start/--end"):
        synth.edit(source, text, text.replace("smooth", "rough"), start=1.0, end=1.5)


def test_fine_tuning_starts_from_the_given_weights_and_resumes_from_its_own(trained, tinyvoices, vocoder, tmp_path):
    """model.init_from loads the weights before the first step (here with mel warping on);
    --ckpt_path last then restores the fine-tuning run's own state over them."""
    import recipe_probe
    from recipes.cli import train

    _, export, _ = trained
    run_dir = tmp_path / "ft"
    args = ("--model.init_from", str(export), "--model.mel_warp", "0.2", "--model.mel_warp_prob", "1.0",
            "--trainer.callbacks+=recipe_probe.StateProbe")
    recipe_probe.RECORDS.clear()
    first = train("flow", tiny_args(tinyvoices, vocoder, run_dir, 2, *args))
    recipe_probe.assert_starts_from(recipe_probe.RECORDS[0], load_state_dict(read_checkpoint(export)))
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    result = train("flow", tiny_args(tinyvoices, vocoder, run_dir, 3, *args, "--ckpt_path", "last"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[1], ckpt)
    assert result["global_step"] == 3
    from recipes.export import export_from_checkpoint

    out = export_from_checkpoint("flow", result["last"], tmp_path / "ft-export")
    assert f"| initialized from | `{export}`" in (out / "README.md").read_text()
    assert yaml.safe_load((out / "model.yaml").read_text())["training"]["init_from"] == str(export)


def test_fine_tuning_from_weights_of_another_shape_is_a_clear_error(trained, tinyvoices, vocoder, tmp_path):
    from recipes.cli import train
    from recipes.common import RecipeError

    _, export, result = trained
    for source in (export, result["last"]):
        with pytest.raises(RecipeError, match="do not fit this model.*model.flow"):
            train("flow", tiny_args(tinyvoices, vocoder, tmp_path / "bad", 1, "--model.init_from", str(source),
                                    "--model.flow.dim", "32"))
    with pytest.raises(RecipeError, match="does not exist"):
        train("flow", tiny_args(tinyvoices, vocoder, tmp_path / "bad", 1, "--model.init_from",
                                str(tmp_path / "nothing.ckpt")))


# ---------------------------------------------------------------- speaker prompts
def _recipe_error():
    from recipes.common import RecipeError

    return RecipeError




def _batch():
    # two items: 6 frames (symbols " a b " with 2, 1, 2, 1 frames) and 4 frames (" c " 1, 2, 1)
    mel = torch.arange(2 * 3 * 6, dtype=torch.float).reshape(2, 3, 6)
    ph = torch.tensor([[4, 10, 11, 4], [4, 12, 4, 0]])
    d = torch.tensor([[2, 1, 2, 1], [1, 2, 1, 0]])
    return mel, torch.tensor([6, 4]), ph, torch.tensor([4, 3]), d


def test_join_puts_the_prompt_before_the_target_without_its_opening_boundary():
    from recipes.flow.pairs import join_prompts

    mel, lens, ph, ph_lens, d = _batch()
    pmel = -torch.ones(1, 3, 5)
    pph, pd = torch.tensor([[4, 20, 4]]), torch.tensor([[1, 3, 1]])
    j = join_prompts(mel, lens, ph, ph_lens, d, torch.tensor([0, -1]), pmel, torch.tensor([5]), pph,
                     torch.tensor([3]), pd)
    assert j.paired.tolist() == [True, False]
    assert j.lens.tolist() == [5 + 6 - 2, 4]  # the target's 2 leading-boundary frames are left out
    assert torch.equal(j.mel[0, :, :5], pmel[0]) and torch.equal(j.mel[0, :, 5:9], mel[0, :, 2:6])
    assert torch.equal(j.mel[1, :, :4], mel[1, :, :4]) and (j.mel[1, :, 4:] == 0).all()
    assert j.phonemes[0, :6].tolist() == [4, 20, 4, 10, 11, 4] and j.phoneme_lens.tolist() == [6, 3]
    assert j.durations[0, :6].tolist() == [1, 3, 1, 1, 2, 1]
    for b in range(2):  # durations still sum to the frames
        assert int(j.durations[b, : j.phoneme_lens[b]].sum()) == int(j.lens[b])
    assert j.infill[0].tolist() == [False] * 5 + [True] * 4 and not j.infill[1].any()
    assert j.duration_mask[0].tolist() == [False] * 3 + [True] * 3 and not j.duration_mask[1].any()


def test_durations_that_do_not_fit_the_frames_are_a_clear_error():
    from recipes.flow.pairs import join_prompts

    RecipeError = _recipe_error()
    mel, lens, ph, ph_lens, d = _batch()
    d[0, 0] = 5
    with pytest.raises(RecipeError, match="_aligned manifests"):
        join_prompts(mel, lens, ph, ph_lens, d, torch.tensor([-1, -1]), mel, lens, ph, ph_lens, d)


def test_prompts_are_other_utterances_of_the_same_speaker(aligned):
    from recipes.data import SpeakerPromptDataset
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    cuts = load_cuts(aligned / "cuts_train_aligned.jsonl.gz").to_eager()
    ds = SpeakerPromptDataset(TTSDataset(features="audio", durations=True), cuts, prob=1.0, seed=0)
    chosen = cuts.subset(first=4)
    batch = ds[chosen]
    idx = batch["prompt_index"].tolist()
    assert len(idx) == 4 and any(i >= 0 for i in idx)
    prompts = batch["prompt_batch"]
    assert prompts["phonemes"].shape[0] == sum(i >= 0 for i in idx) and "durations" in prompts
    speakers = {c.id: c.supervisions[0].speaker for c in cuts}
    for cut, i in zip(chosen, idx):
        if i < 0:  # only a speaker with no other utterance goes without
            assert sum(s == cut.supervisions[0].speaker for s in speakers.values()) == 1
    none = SpeakerPromptDataset(TTSDataset(features="audio", durations=True), cuts, prob=0.0)[chosen]
    assert none["prompt_index"].tolist() == [-1] * 4 and "prompt_batch" not in none


def test_speaker_prompts_need_alignments(tinyvoices):
    from recipes.flow.data import FlowDataModule

    RecipeError = _recipe_error()
    with pytest.raises(RecipeError, match="data.durations: true"):
        FlowDataModule(str(tinyvoices), speaker_prompt_prob=0.5)
    with pytest.raises(RecipeError, match="speaker_prompt_prob must be in"):
        FlowDataModule(str(tinyvoices), speaker_prompt_prob=1.5, durations=True)


def test_aligned_training_with_speaker_prompts(aligned, vocoder, tmp_path, monkeypatch):
    import recipes.flow.module as module
    from recipes.cli import train

    joined = []
    real = module.join_prompts  # where the recipe calls it
    monkeypatch.setattr(module, "join_prompts", lambda *a: joined.append(real(*a)) or joined[-1])

    run_dir = tmp_path / "run"
    args = tiny_args(aligned, vocoder, run_dir, 3)
    args[1] = "tiny"
    args[args.index("--data.val_cuts") + 1] = "cuts_test_seen_aligned.jsonl.gz"
    result = train("flow", [*args, "--model.flow.duration_dim", "32", "--model.flow.duration_layers", "1",
                            "--data.speaker_prompt_prob", "1.0"])
    assert result["global_step"] == 3
    assert len(joined) == 3 and all(j.paired.any() for j in joined)  # every training batch had prompts
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    assert "train/flow_loss" in metrics and "nan" not in metrics.lower()


def test_export_lists_the_languages_of_its_training_data(trained, tmp_path, capsys):
    """model.yaml `languages` lists the languages with 30 minutes or more of training speech, so
    `--language` warns for the others."""
    import gzip
    import json

    from tts.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # 40 min of American English, 35 of Spanish, 10 of French: too little to speak French
    sups = [{"id": "a", "language": "en-us", "duration": 2400.0}, {"id": "b", "language": "es-419", "duration": 2100.0},
            {"id": "c", "language": "fr-fr", "duration": 600.0}]
    for name in ("cuts_train.jsonl.gz", "cuts_train_aligned.jsonl.gz"):  # the same speech, counted once
        with gzip.open(corpus / name, "wt") as f:
            for sup in sups:
                f.write(json.dumps({"id": sup["id"], "supervisions": [sup]}) + "\n")
    _, _, result = trained
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "m"), "--data", str(corpus)]) == 0
    assert read_checkpoint(tmp_path / "m", family="flow").languages == ("en", "es")
    # a small corpus speaks its main language; data that names none (or no folder): English
    small = tmp_path / "small"
    small.mkdir()
    with gzip.open(small / "cuts_train.jsonl.gz", "wt") as f:
        f.write(json.dumps({"id": "c", "supervisions": [sups[2]]}) + "\n")
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "s"), "--data", str(small)]) == 0
    assert read_checkpoint(tmp_path / "s", family="flow").languages == ("fr",)
    assert main(["export", "flow", str(result["last"]), "-o", str(tmp_path / "n"), "--data", "corpus"]) == 0
    assert read_checkpoint(tmp_path / "n", family="flow").languages == ("en",)
