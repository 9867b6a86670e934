"""recipes/melrvq: a few CPU training steps over a Vocos folder's mels, export -> load_codec, resume, errors."""

import pytest
import torch
import yaml
from conftest import REPO
from synthetic_corpus import make_corpus, voice_like
from vocos_configs import MEL

from tts.checkpoint import read_checkpoint
from tts.codecs import load_codec

pytest.importorskip("lightning")
pytest.importorskip("lhotse")


@pytest.fixture(scope="module")
def setup_dirs(tmp_path_factory):
    from codec_lm.codecs import build_vocos, save_vocos

    root = tmp_path_factory.mktemp("melrvq")
    corpus = make_corpus(root / "corpus", n_train=4, n_dev=2, seconds=0.6)
    torch.manual_seed(0)
    vocoder = save_vocos(build_vocos(MEL), MEL, root / "vocos")
    return root, corpus, vocoder


def tiny_args(corpus, vocoder, run_dir, max_steps, *extra):
    return ["--config", "tiny", "--data.data_dir", str(corpus), "--model.vocoder", str(vocoder),
            "--trainer.default_root_dir", str(run_dir), "--trainer.logger.init_args.save_dir", str(run_dir),
            "--trainer.max_steps", str(max_steps), "--trainer.val_check_interval", "2",
            "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks.init_args.every_n_train_steps", "2", "--model.warmup_steps", "2",
            "--model.codec.codebook_size", "32", "--model.codec.dim", "64", "--model.codec.n_codebooks", "4",
            "--data.batch_size", "2", "--data.crop_samples", "12000", "--data.val_crop_samples", "12000",
            *extra]


@pytest.fixture(scope="module")
def trained(setup_dirs):
    from recipes.cli import train

    root, corpus, vocoder = setup_dirs
    run_dir, export = root / "run", root / "export"
    result = train("melrvq", tiny_args(corpus, vocoder, run_dir, 6, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_export_and_load(trained, setup_dirs):
    run_dir, export, result = trained
    _, _, vocoder = setup_dirs
    assert result["global_step"] == 6
    info = read_checkpoint(export, family="melrvq")
    assert info.dependencies["vocoder"] == vocoder.resolve()
    assert info.config["n_codebooks"] == 4 and info.config["n_mels"] == 100 and info.meta["training"]["steps"] == 6
    codec = load_codec(export)
    wav = torch.from_numpy(voice_like(0.5, seed=9)).unsqueeze(0)
    codes = codec.encode(wav)
    assert codes.shape == (1, 4, 12000 // 256 + 1) and codes.dtype == torch.long and int(codes.max()) < 32
    assert codec.decode(codes).shape == (1, (12000 // 256) * 256)
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)
    for k, v in codec.model.state_dict().items():
        if k.endswith("embed_avg"):  # EMA sums are not stored: rebuilt from embed x cluster_size on load
            torch.testing.assert_close(v, ckpt["state_dict"][f"model.{k}"], rtol=1e-3, atol=1e-3)
        else:
            assert torch.equal(v, ckpt["state_dict"][f"model.{k}"]), k
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/recon_l1", "train/commit", "val/recon_l1", "val/codebook_usage"):
        assert key in metrics


def test_resume_restores_step_and_optimizer_state(trained, setup_dirs):
    import recipe_probe
    from recipes.cli import train

    run_dir, _, first = trained
    root, corpus, vocoder = setup_dirs
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("melrvq", tiny_args(corpus, vocoder, run_dir, 8, "--ckpt_path", "last",
                                       "--trainer.callbacks+=recipe_probe.StateProbe"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == 8


def test_export_from_lightning_checkpoint(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, _, result = trained
    out = export_from_checkpoint("melrvq", result["last"], tmp_path / "again")
    assert load_codec(out).n_codebooks == 4


def test_shipped_config_builds(setup_dirs):
    from recipes.melrvq.module import MelRVQModule

    _, _, vocoder = setup_dirs
    cfg = yaml.safe_load((REPO / "recipes" / "melrvq" / "configs" / "tiny.yaml").read_text())["model"]
    module = MelRVQModule(vocoder=str(vocoder), **cfg)
    assert (module.config.n_codebooks, module.config.codebook_size, module.config.frame_rate) == (8, 1024, 93.75)


def test_config_errors(setup_dirs, tmp_path):
    from recipes.common import RecipeError
    from recipes.melrvq.module import MelRVQModule
    from tts.checkpoint import CheckpointError

    _, _, vocoder = setup_dirs
    with pytest.raises(RecipeError, match=r"Unknown MelRVQ settings \['n_mels'\]"):
        MelRVQModule(vocoder=str(vocoder), codec={"n_mels": 80})
    with pytest.raises(RecipeError, match="n_codebooks must be a positive integer"):
        MelRVQModule(vocoder=str(vocoder), codec={"n_codebooks": 0})
    with pytest.raises(CheckpointError, match="neither a shipped model"):
        MelRVQModule(vocoder=str(tmp_path / "no-vocoder"))
