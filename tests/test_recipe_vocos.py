"""recipes/vocos: a few CPU training steps on a synthetic corpus, export -> Vocoder, resume, errors."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from conftest import REPO
from synthetic_corpus import make_corpus

from tts.cli import main
from tts.vocoder import Vocoder

pytest.importorskip("lightning")
pytest.importorskip("lhotse")

CONFIGS = sorted((REPO / "recipes" / "vocos" / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), n_train=4, n_dev=2, seconds=0.6)


def tiny_args(corpus, run_dir, max_steps, *extra):
    """The tiny config made tinier: one small discriminator of each kind, 2 x 4096-sample crops."""
    return ["--config", "tiny", "--data.data_dir", str(corpus), "--trainer.default_root_dir", str(run_dir),
            "--trainer.logger.init_args.save_dir", str(run_dir), "--trainer.max_steps", str(max_steps),
            "--trainer.val_check_interval", "2", "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar",
            "false", "--trainer.enable_model_summary", "false", "--trainer.callbacks.init_args.every_n_train_steps",
            "2", "--model.pretrain_mel_steps", "1", "--model.mpd_periods", "[2]", "--model.mrd_fft_sizes", "[512]",
            "--model.backbone.init_args.dim", "32", "--model.backbone.init_args.intermediate_dim", "64",
            "--model.backbone.init_args.num_layers", "1", "--model.head.init_args.dim", "32",
            "--data.batch_size", "2", "--data.crop_samples", "4096", "--data.val_crop_samples", "4864",
            "--data.train_repeats", "1", *extra]


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    from recipes.cli import train

    run_dir = tmp_path_factory.mktemp("run")
    export = run_dir / "export"
    result = train("vocos", tiny_args(corpus, run_dir, 5, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_and_export_loads_as_vocoder(trained):
    run_dir, export, result = trained
    # pretrain_mel_steps=1: batch 1 steps the generator only, batches 2-3 both optimizers -> 5 steps.
    assert result["global_step"] == 5 and result["export_dir"] == str(export)
    assert sorted(p.name for p in export.iterdir()) == ["README.md", "config.yaml", "pytorch_model.bin"]
    voc = Vocoder.from_pretrained(export, kind="mel")
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)
    for k, v in voc.model.state_dict().items():
        assert torch.equal(v, ckpt["state_dict"][f"generator.{k}"]), k
    wav = voc.resynthesize(torch.randn(4800) * 0.1)
    assert wav.shape == (1, 4608) and torch.isfinite(wav).all()
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    assert "generator/mel_loss" in metrics and "discriminator/total" in metrics and "val/mel_loss" in metrics


def test_resume_restores_step_and_optimizer_state(trained, corpus):
    import recipe_probe
    from recipes.cli import train

    run_dir, _, first = trained
    ckpt = torch.load(first["last"], map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("vocos", tiny_args(corpus, run_dir, 7, "--ckpt_path", "last",
                                      "--trainer.callbacks+=recipe_probe.StateProbe"))
    assert len(recipe_probe.RECORDS) == 1
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == 7


def test_export_from_lightning_checkpoint(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, export, result = trained
    out = export_from_checkpoint("vocos", result["last"], tmp_path / "again")
    assert Vocoder.from_pretrained(out).hop_length == 256


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_shipped_configs_build(config, corpus):
    # Every shipped YAML builds its model and data module (the trainer section of the
    # GPU config is not instantiated here: this machine has no GPU).
    from recipes.crops import AudioCropDataModule
    from recipes.vocos.module import VocosModule

    cfg = yaml.safe_load(config.read_text())
    module = VocosModule(**cfg["model"])
    assert module.kind == "mel" and module.generator.feature_extractor.mel_spec.n_mels == 100
    data = AudioCropDataModule(data_dir=str(corpus), **cfg["data"])
    data.setup("fit")
    assert next(iter(data.train_dataloader())).shape == (cfg["data"]["batch_size"] if len(data.train_set) >=
                                                         cfg["data"]["batch_size"] else len(data.train_set),
                                                         cfg["data"]["crop_samples"])


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["train", "vocos", "--data.data_dir", "x"]) == 2
    assert "Give a config" in capsys.readouterr().err
    assert main(["train", "vocos", "--config", "huge"]) == 2
    err = capsys.readouterr().err
    assert "neither a YAML file nor a shipped vocos config" in err and "tiny" in err
    assert main(["train", "vocos", "--config", "tiny", "--data.data_dir", str(tmp_path),
                 "--trainer.default_root_dir", str(tmp_path), "--trainer.logger.init_args.save_dir",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "No cut manifest" in err and "Traceback" not in err
    export = tmp_path / "taken"
    export.mkdir()
    (export / "file").write_text("x")
    assert main(["train", "vocos", "--config", "tiny", "--data.data_dir", str(tmp_path),
                 "--trainer.default_root_dir", str(tmp_path), "--export_dir", str(export)]) == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_kill_and_resume(corpus, tmp_path):
    """SIGKILL a real `tts train` process mid-run, then resume from its last.ckpt."""
    import recipe_probe
    from recipes.cli import train

    run_dir = tmp_path / "run"
    args = tiny_args(corpus, run_dir, 400)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tts.cli", "train", "vocos", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run_dir / "checkpoints" / "last.ckpt"
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            try:
                if last.is_file() and torch.load(last, map_location="cpu", weights_only=True)["global_step"] >= 5:
                    break
            except (RuntimeError, EOFError):  # caught while being written
                pass
            time.sleep(1)
        assert proc.poll() is None, "training ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    recipe_probe.RECORDS.clear()
    result = train("vocos", tiny_args(corpus, run_dir, ckpt["global_step"] + 2, "--ckpt_path", "last",
                                      "--trainer.callbacks+=recipe_probe.StateProbe"))
    recipe_probe.assert_same_state(recipe_probe.RECORDS[0], ckpt)
    assert result["global_step"] == ckpt["global_step"] + 2


def _harmonic_voice() -> tuple[torch.Tensor, torch.Tensor]:
    """``(t [24000], voice [1, 24000])``: 1 s of a 150 Hz voice with 19 harmonics and a little noise."""
    torch.manual_seed(0)
    t = torch.arange(24000) / 24000
    voice = sum(torch.sin(2 * torch.pi * 150 * k * t) / k for k in range(1, 20))[None] * 0.1
    return t, voice + 0.003 * torch.randn_like(voice)


def test_stft_loss_grows_with_a_frame_rate_buzz():
    """The multi-resolution STFT loss is 0 for the same audio, grows with the depth of a buzz
    at the vocoder's frame rate (93.75 Hz), and trains: its gradient reaches the waveform."""
    from recipes.vocos.stft_loss import MultiResolutionSTFTLoss

    t, voice = _harmonic_voice()
    stft = MultiResolutionSTFTLoss()
    assert float(stft(voice, voice)) < 1e-6
    losses = [float(stft(voice * (1 + a * torch.cos(2 * torch.pi * 93.75 * t)), voice)) for a in (0.1, 0.2, 0.5)]
    assert 0 < losses[0] < losses[1] < losses[2]
    guess = (voice * 0.5).requires_grad_()
    stft(guess, voice).backward()
    assert guess.grad is not None and guess.grad.abs().sum() > 0


def test_stft_loss_option_trains(corpus, tmp_path):
    from recipes.cli import train

    result = train("vocos", tiny_args(corpus, tmp_path, 3, "--model.stft_loss_coeff", "2"))
    assert result["global_step"] == 3
    metrics = (next(tmp_path.glob("logs/version_*")) / "metrics.csv").read_text()
    assert "generator/stft_loss" in metrics


def test_phase_loss_frees_absolute_phase_and_grows_with_frame_jitter():
    """The phase-derivative loss is ~0 for the same audio and small for its phase rotated by
    one angle everywhere (a mel does not fix absolute phase), grows with random phase jumps
    between frames (what overlap-add turns into a frame-rate buzz), and its gradient
    reaches the waveform, finite."""
    from recipes.vocos.phase_loss import PhaseDerivativeLoss

    _, voice = _harmonic_voice()
    window = torch.hann_window(1024)
    spec = torch.stft(voice, 1024, 256, 1024, window, return_complex=True)  # [1, F, N]

    def resynth(rotation: torch.Tensor) -> torch.Tensor:
        return torch.istft(spec * torch.polar(torch.ones_like(rotation), rotation), 1024, 256, 1024, window,
                           length=voice.shape[-1])

    loss = PhaseDerivativeLoss()
    assert float(loss(voice, voice)) < 1e-3
    jitter = torch.rand(1, 1, spec.shape[-1]) * 2 * torch.pi - torch.pi
    losses = [float(loss(resynth(a * jitter), voice)) for a in (0.3, 0.6, 1.0)]
    assert 0.05 < losses[0] < losses[1] < losses[2] <= 2
    # One rotation for every frame and bin: only the bins next to DC change (the rotated
    # spectrum is not quite a real signal's), far less than the mildest jitter.
    assert float(loss(resynth(torch.full((1, 1, spec.shape[-1]), 1.3)), voice)) < 0.2 * losses[0]
    guess = (voice * 0.5 + 0.01 * torch.randn_like(voice)).requires_grad_()
    loss(guess, voice).backward()
    assert torch.isfinite(guess.grad).all() and guess.grad.abs().sum() > 0


def test_phase_loss_option_trains(corpus, tmp_path):
    from recipes.cli import train

    result = train("vocos", tiny_args(corpus, tmp_path, 3, "--model.phase_loss_coeff", "2"))
    assert result["global_step"] == 3
    metrics = (next(tmp_path.glob("logs/version_*")) / "metrics.csv").read_text()
    assert "generator/phase_loss" in metrics


@pytest.mark.parametrize("max_steps, pretrain, expected", [(3000, 3000, (0, 3000)), (3400, 3000, (200, 3200)),
                                                           (1000, 0, (500, 500)), (7, 1, (3, 4)), (-1, 5, (0, 0))])
def test_each_schedule_lasts_as_long_as_its_optimizer_steps(max_steps, pretrain, expected):
    """A mel-only run's generator schedule spans all its batches (it used to end half-way and
    rise again); with GAN batches each optimizer steps once per batch."""
    from types import SimpleNamespace

    from recipes.vocos.module import VocosModule

    module = SimpleNamespace(trainer=SimpleNamespace(max_steps=max_steps),
                             hparams=SimpleNamespace(pretrain_mel_steps=pretrain))
    assert VocosModule.optimizer_steps(module) == expected
