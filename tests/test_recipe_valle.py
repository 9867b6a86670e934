"""recipes/valle: CPU training steps on TinyVoices codes, export -> checkpoint folder, resume, prompts, DDP."""

import pytest
import torch
import yaml
from conftest import REPO

from codec_lm.valle import VallE, VallEConfig
from tts.checkpoint import build_config, load_state_dict, read_checkpoint

pytest.importorskip("lightning")


def tiny_args(corpus, root, codec, run_dir, max_steps, *extra):
    return ["--config", "tiny", "--data.data_dir", str(corpus), "--model.codec", str(codec),
            "--data.train_cuts", str(root / "codes" / "cuts_train_codes.jsonl.gz"),
            "--data.val_cuts", str(root / "codes" / "cuts_test_seen_codes.jsonl.gz"),
            "--trainer.default_root_dir", str(run_dir), "--trainer.logger.init_args.save_dir", str(run_dir),
            "--trainer.max_steps", str(max_steps), "--trainer.val_check_interval", "3",
            "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks.init_args.every_n_train_steps", "2", "--model.warmup_steps", "2",
            "--model.valle.dim", "32", "--model.valle.heads", "2", "--model.valle.ar_layers", "1",
            "--model.valle.nar_layers", "1", "--model.valle.ff_mult", "2",
            "--data.max_duration", "12", "--data.num_workers", "0", *extra]


@pytest.fixture(scope="module")
def trained(tinyvoices, codes_setup, tmp_path_factory):
    from recipes.cli import train

    root, codec = codes_setup
    out = tmp_path_factory.mktemp("valle")
    run_dir, export = out / "run", out / "export"
    result = train("valle", tiny_args(tinyvoices, root, codec, run_dir, 6, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_export_and_load(trained, codes_setup):
    run_dir, export, result = trained
    _, codec = codes_setup
    assert result["global_step"] == 6
    info = read_checkpoint(export, family="valle")
    assert info.dependencies["codec"] == codec.resolve()
    config = build_config(VallEConfig, info)
    assert (config.dim, config.ar_layers, config.n_codebooks, config.codebook_size, config.vocab_size) == \
        (32, 1, 4, 64, 500)
    assert config.frame_rate == 93.75 and info.vocab_path is not None
    model = VallE(config)
    model.load_state_dict(load_state_dict(info))
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)
    for k, v in model.state_dict().items():  # the export holds the checkpoint's (EMA) weights
        assert torch.equal(v, ckpt["state_dict"][f"model.{k}"]), k
    assert "recipe command" in (export / "README.md").read_text()
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/loss", "train/ar_top10", "train/nar_top10", "val/loss", "val/ar_top10", "val/nar_loss",
                "val/text_gap", "val/per"):
        assert key in metrics, key


def test_resume_restores_step_and_optimizer_state(trained, tinyvoices, codes_setup):
    import recipe_probe
    from recipes.cli import train

    run_dir, _, first = trained
    root, codec = codes_setup
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("valle", tiny_args(tinyvoices, root, codec, run_dir, 8, "--ckpt_path", "last",
                                      "--trainer.callbacks+=recipe_probe.StateProbe"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == 8


def test_export_from_lightning_checkpoint(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, _, result = trained
    out = export_from_checkpoint("valle", result["last"], tmp_path / "again")
    assert read_checkpoint(out, family="valle").config["dim"] == 32


@pytest.mark.parametrize("mode", ["prefix", "speaker"])
def test_prompted_batches(tinyvoices, codes_setup, mode):
    from recipes.valle.data import PromptedDataset
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    root, _ = codes_setup
    cuts = load_cuts(root / "codes" / "cuts_train_codes.jsonl.gz").to_eager()
    ds = PromptedDataset(TTSDataset(features="codes"), mode, cuts, prompt_seconds=(1.0, 2.0), deterministic=True)
    batch = ds[cuts.subset(first=6)]
    again = ds[list(cuts.subset(cut_ids=batch["ids"]))]  # deterministic: the same prompts again
    assert torch.equal(batch["prompt_codes"], again["prompt_codes"])
    for i, cut_id in enumerate(batch["ids"]):
        n, p, t = batch["code_lens"][i], batch["prompt_lens"][i], batch["target_lens"][i]
        codes = batch["codes"][i, :, :n]
        prompt, target = batch["prompt_codes"][i, :, :p], batch["target_codes"][i, :, :t]
        phonemes = batch["phonemes"][i, : batch["phoneme_lens"][i]]
        lm = batch["lm_phonemes"][i, : batch["lm_phoneme_lens"][i]]
        if mode == "prefix":
            assert batch["prompt_ids"][i] is None and 1 <= p <= n // 2
            assert 80 <= p <= 2.0 * 93.75 + 1 or p == n // 2  # 1-2 s at 93.75 Hz
            assert torch.equal(torch.cat([prompt, target], 1), codes) and torch.equal(lm, phonemes)
        else:
            other = cuts[batch["prompt_ids"][i]]
            assert other.id != cut_id and other.supervisions[0].speaker == batch["speakers"][i]
            assert torch.equal(target, codes) and p == other.load_custom("codes").shape[0]
            assert torch.equal(lm[-len(phonemes):], phonemes) and lm[-len(phonemes) - 1] == 4


def test_shipped_configs_build(codes_setup):
    from recipes.valle.module import VallEModule

    _, codec = codes_setup
    cfg = yaml.safe_load((REPO / "recipes" / "valle" / "configs" / "tiny.yaml").read_text())
    module = VallEModule(codec=str(codec), **cfg["model"])
    assert module.config.dim == 256 and module.config.n_codebooks == 4
    gpu = yaml.safe_load((REPO / "recipes" / "valle" / "configs" / "libritts_gpu.yaml").read_text())
    assert gpu["trainer"]["strategy"] == "ddp" and gpu["trainer"]["use_distributed_sampler"] is False
    assert gpu["data"]["prompt"] == "speaker"
    big = VallEConfig(**gpu["model"]["valle"])  # valid hyper-parameters (8 x 1024 codec by default)
    assert (big.dim, big.ar_layers, big.nar_layers) == (1024, 12, 12)
    # VallEConfig() equals the tiny YAML's model (the benchmarks' "default" size).
    assert all(getattr(VallEConfig(), k) == v for k, v in cfg["model"]["valle"].items())


def test_configuration_errors_are_clear(codes_setup, tinyvoices, tmp_path):
    from recipes.common import RecipeError
    from recipes.valle.data import VallEDataModule
    from recipes.valle.module import VallEModule

    _, codec = codes_setup
    with pytest.raises(RecipeError, match="Unknown valle settings"):
        VallEModule(codec=str(codec), valle={"width": 3})
    with pytest.raises(RecipeError, match="come from the codec"):
        VallEModule(codec=str(codec), valle={"n_codebooks": 3})
    with pytest.raises(RecipeError, match="Invalid model.valle"):
        VallEModule(codec=str(codec), valle={"dim": 30, "heads": 4})
    with pytest.raises(RecipeError, match="data.prompt"):
        VallEDataModule(str(tinyvoices), prompt="random")
    dm = VallEDataModule(str(tinyvoices))
    with pytest.raises(RecipeError, match="tts prepare features"):
        dm.train_dataloader()  # the corpus has no codes/ manifests
    dm = VallEDataModule(str(tinyvoices), train_cuts="cuts_train.jsonl.gz")
    with pytest.raises(RecipeError, match="no codec codes"):
        dm.train_dataloader()
    module = VallEModule(codec=str(codec), valle={"dim": 32, "heads": 2, "ar_layers": 1, "nar_layers": 1})
    zeros = torch.zeros(1, 2, 5, dtype=torch.long)
    bad = {"target_codes": zeros, "prompt_codes": zeros}
    with pytest.raises(RecipeError, match="do not come from codec"):
        module._check(bad)
    with pytest.raises(RecipeError, match="VallEDataModule"):
        module._check({"codes": bad["target_codes"]})


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tinyvoices, codes_setup, tmp_path):
    """strategy ddp, 2 CPU processes (gloo): the same YAML scales by devices/num_nodes."""
    import recipe_probe

    root, codec = codes_setup
    run_dir = tmp_path / "ddp"
    recipe_probe.train_ddp_on_two_cpu_processes("valle", lambda n, *extra: tiny_args(tinyvoices, root, codec, run_dir, n, *extra),
                                                run_dir, cwd=tmp_path)


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tinyvoices, codes_setup, tmp_path):
    """SIGKILL a training process after its first checkpoint; resume with the same step and optimizer state."""
    import recipe_probe

    root, codec = codes_setup
    run_dir = tmp_path / "killed"
    recipe_probe.kill_and_resume("valle", lambda n, *extra: tiny_args(tinyvoices, root, codec, run_dir, n, *extra),
                                 run_dir, cwd=tmp_path)


def test_synthesizer_loads_the_export(trained, tinyvoices):
    """The exported folder runs through the Synthesizer: prompt -> codec codes -> AR + NAR -> codec -> audio."""
    from tts import Synthesizer
    from tts.data.manifests import load_cuts
    from tts.errors import TTSError

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    assert synth.family == "valle" and synth.sample_rate == 24000
    assert set(synth.options) == {"temperature", "top_k", "top_p", "num_candidates"}
    cut = min(load_cuts(tinyvoices, "test_seen"), key=lambda c: c.duration)
    from tts.audio import Audio

    prompt = Audio(torch.from_numpy(cut.load_audio()[0]), 24000)
    audio = synth.synthesize("Hi there.", prompt, prompt_text=cut.supervisions[0].text, seed=3, top_k=20)
    again = synth.synthesize("Hi there.", prompt, prompt_text=cut.supervisions[0].text, seed=3, top_k=20)
    assert audio.sample_rate == 24000 and 0 < audio.wav.shape[-1] and torch.isfinite(torch.as_tensor(audio.wav)).all()
    assert torch.equal(torch.as_tensor(audio.wav), torch.as_tensor(again.wav))  # seeded
    with pytest.raises(TTSError, match="--top-p"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", top_p=2.0)
    with pytest.raises(TTSError, match="does not take --nfe"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", nfe=8)


def test_checkpoint_without_its_codec_is_a_clear_error(trained, tmp_path):
    import recipe_probe

    _, export, _ = trained
    recipe_probe.assert_missing_codec_is_clear(export, tmp_path, "VALL-E")
