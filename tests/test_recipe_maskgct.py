"""recipes/maskgct: CPU training steps on TinyVoices codes, export -> checkpoint folder, resume, DDP, Synthesizer."""

import pytest
import torch
import yaml
from conftest import REPO

from codec_lm.maskgct import MaskGCT, MaskGCTConfig
from tts.checkpoint import build_config, load_state_dict, read_checkpoint

pytest.importorskip("lightning")


def tiny_args(corpus, root, codec, run_dir, max_steps, *extra, config="tiny",
              cuts=("codes/cuts_train_codes.jsonl.gz", "codes/cuts_test_seen_codes.jsonl.gz")):
    """CLI arguments of a few CPU steps of a 32-wide model; ``cuts``: train and val manifests under ``root``."""
    return ["--config", config, "--data.data_dir", str(corpus), "--model.codec", str(codec),
            "--data.train_cuts", str(root / cuts[0]), "--data.val_cuts", str(root / cuts[1]),
            "--trainer.default_root_dir", str(run_dir), "--trainer.logger.init_args.save_dir", str(run_dir),
            "--trainer.max_steps", str(max_steps), "--trainer.val_check_interval", "3",
            "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks.init_args.every_n_train_steps", "2", "--model.warmup_steps", "2",
            "--model.maskgct.dim", "32", "--model.maskgct.heads", "2", "--model.maskgct.t2s_layers", "1",
            "--model.maskgct.s2a_layers", "1", "--model.maskgct.ff_mult", "2",
            "--data.max_duration", "12", "--data.num_workers", "0", *extra]


@pytest.fixture(scope="module")
def trained(tinyvoices, codes_setup, tmp_path_factory):
    from recipes.cli import train

    root, codec = codes_setup
    out = tmp_path_factory.mktemp("maskgct")
    run_dir, export = out / "run", out / "export"
    result = train("maskgct", tiny_args(tinyvoices, root, codec, run_dir, 6, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_export_and_load(trained, codes_setup):
    run_dir, export, result = trained
    _, codec = codes_setup
    assert result["global_step"] == 6
    info = read_checkpoint(export, family="maskgct")
    assert info.dependencies["codec"] == codec.resolve()
    config = build_config(MaskGCTConfig, info)
    assert (config.dim, config.t2s_layers, config.n_codebooks, config.codebook_size, config.vocab_size) == \
        (32, 1, 4, 64, 500)
    assert config.frame_rate == 93.75 and config.semantic_source == "codebook1" and info.vocab_path is not None
    model = MaskGCT(config)
    model.load_state_dict(load_state_dict(info))
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)
    for k, v in model.state_dict().items():  # the export holds the checkpoint's (EMA) weights
        assert torch.equal(v, ckpt["state_dict"][f"model.{k}"]), k
    assert "recipe command" in (export / "README.md").read_text()
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/loss", "train/t2s_acc", "train/s2a_loss", "val/loss", "val/t2s_loss", "val/s2a_acc",
                "val/text_gap", "val/per", "val/sim"):
        assert key in metrics, key


def test_resume_restores_step_and_optimizer_state(trained, tinyvoices, codes_setup):
    import recipe_probe
    from recipes.cli import train

    run_dir, _, first = trained
    root, codec = codes_setup
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("maskgct", tiny_args(tinyvoices, root, codec, run_dir, 8, "--ckpt_path", "last",
                                        "--trainer.callbacks+=recipe_probe.StateProbe"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == 8


def test_export_from_lightning_checkpoint(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, _, result = trained
    out = export_from_checkpoint("maskgct", result["last"], tmp_path / "again")
    assert read_checkpoint(out, family="maskgct").config["dim"] == 32
    assert read_checkpoint(out).options == {}
    # --option: the model's own synthesis defaults, in model.yaml and on the card
    out = export_from_checkpoint("maskgct", result["last"], tmp_path / "fast", options={"steps": "10", "s2a-steps": 1})
    assert read_checkpoint(out).options == {"steps": 10, "s2a_steps": 1}
    assert "`--steps 10 --s2a-steps 1`" in (out / "README.md").read_text()


def test_shipped_configs_build(codes_setup):
    from recipes.maskgct.module import MaskGCTModule

    _, codec = codes_setup
    cfg = yaml.safe_load((REPO / "recipes" / "maskgct" / "configs" / "tiny.yaml").read_text())
    module = MaskGCTModule(codec=str(codec), **cfg["model"])
    assert module.config.dim == 256 and module.config.n_codebooks == 4
    gpu = yaml.safe_load((REPO / "recipes" / "maskgct" / "configs" / "libritts_gpu.yaml").read_text())
    assert gpu["trainer"]["strategy"] == "ddp" and gpu["trainer"]["use_distributed_sampler"] is False
    assert gpu["trainer"]["precision"] == "bf16-mixed"
    big = MaskGCTConfig(**gpu["model"]["maskgct"])  # valid hyper-parameters (8 x 1024 codec by default)
    assert (big.dim, big.t2s_layers, big.s2a_layers) == (1024, 16, 12)
    # MaskGCTConfig() equals the tiny YAML's model (the benchmarks' "default" size).
    assert all(getattr(MaskGCTConfig(), k) == v for k, v in cfg["model"]["maskgct"].items())


def test_configuration_errors_are_clear(codes_setup, tinyvoices):
    from recipes.common import RecipeError
    from recipes.data import CodesDataModule
    from recipes.maskgct.module import MaskGCTModule

    _, codec = codes_setup
    with pytest.raises(RecipeError, match="Unknown maskgct settings"):
        MaskGCTModule(codec=str(codec), maskgct={"width": 3})
    with pytest.raises(RecipeError, match="come from the codec"):
        MaskGCTModule(codec=str(codec), maskgct={"n_codebooks": 3})
    with pytest.raises(RecipeError, match="Invalid model.maskgct"):
        MaskGCTModule(codec=str(codec), maskgct={"dim": 30, "heads": 4})
    dm = CodesDataModule(str(tinyvoices))
    with pytest.raises(RecipeError, match="tts prepare features"):
        dm.train_dataloader()  # the corpus has no codes/ manifests
    dm = CodesDataModule(str(tinyvoices), train_cuts="cuts_train.jsonl.gz")
    with pytest.raises(RecipeError, match="no codec codes"):
        dm.train_dataloader()
    module = MaskGCTModule(codec=str(codec), maskgct={"dim": 32, "heads": 2, "t2s_layers": 1, "s2a_layers": 1})
    with pytest.raises(RecipeError, match="do not come from codec"):
        module._check({"codes": torch.zeros(1, 2, 5, dtype=torch.long)})
    with pytest.raises(RecipeError, match="CodesDataModule"):
        module._check({"mel": torch.zeros(1, 100, 5)})


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tinyvoices, codes_setup, tmp_path):
    """strategy ddp, 2 CPU processes (gloo): the same YAML scales by devices/num_nodes."""
    import recipe_probe

    root, codec = codes_setup
    run_dir = tmp_path / "ddp"
    recipe_probe.train_ddp_on_two_cpu_processes("maskgct", lambda n, *extra: tiny_args(tinyvoices, root, codec, run_dir, n, *extra),
                                                run_dir, cwd=tmp_path)


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tinyvoices, codes_setup, tmp_path):
    """SIGKILL a training process after its first checkpoint; resume with the same step and optimizer state."""
    import recipe_probe

    root, codec = codes_setup
    run_dir = tmp_path / "killed"
    recipe_probe.kill_and_resume("maskgct", lambda n, *extra: tiny_args(tinyvoices, root, codec, run_dir, n, *extra),
                                 run_dir, cwd=tmp_path)


def test_synthesizer_loads_the_export(trained, tinyvoices):
    """The exported folder runs through the Synthesizer: prompt -> codes -> T2S + S2A -> codec -> audio."""
    from tts import Synthesizer
    from tts.audio import Audio
    from tts.data.manifests import load_cuts
    from tts.errors import TTSError

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    assert synth.family == "maskgct" and synth.sample_rate == 24000
    assert {"steps", "temperature", "top_k", "cfg", "duration", "speed"} <= set(synth.options)
    cut = min(load_cuts(tinyvoices, "test_seen"), key=lambda c: c.duration)
    prompt = Audio(torch.from_numpy(cut.load_audio()[0]), 24000)
    text = cut.supervisions[0].text
    fast = {"steps": 4, "s2a_steps": 1}
    audio = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=3, top_k=20, **fast)
    again = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=3, top_k=20, **fast)
    assert audio.sample_rate == 24000 and audio.wav.shape[-1] > 0 and torch.isfinite(torch.as_tensor(audio.wav)).all()
    assert torch.equal(torch.as_tensor(audio.wav), torch.as_tensor(again.wav))  # seeded
    hop = 24000 / 93.75
    for seconds in (1.0, 2.5):  # the duration option: the requested length within one frame
        timed = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=1, duration=seconds, cfg=0.0, **fast)
        assert abs(timed.wav.shape[-1] - seconds * 24000) <= hop, (seconds, timed.wav.shape[-1])
    with pytest.raises(TTSError, match="--top-k"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", top_k=-2)
    with pytest.raises(TTSError, match="does not take --nfe"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", nfe=8)


def test_checkpoint_without_its_codec_is_a_clear_error(trained, tmp_path):
    import recipe_probe

    _, export, _ = trained
    recipe_probe.assert_missing_codec_is_clear(export, tmp_path, "MaskGCT")


def test_fine_tuning_starts_from_the_given_weights(trained, tinyvoices, codes_setup, tmp_path):
    import recipe_probe

    root, codec = codes_setup
    _, export, result = trained
    recipe_probe.assert_fine_tuning_starts_from(
        "maskgct", lambda run_dir, *extra: tiny_args(tinyvoices, root, codec, run_dir, 1, *extra), export,
        result["last"], tmp_path)
