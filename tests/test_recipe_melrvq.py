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


def test_float16_export_halves_the_folder_and_loads_in_float32(trained, tmp_path):
    from recipes.export import export_from_checkpoint

    _, _, result = trained
    full = export_from_checkpoint("melrvq", result["last"], tmp_path / "f32")
    half = export_from_checkpoint("melrvq", result["last"], tmp_path / "f16", dtype="float16")
    assert read_checkpoint(half, family="melrvq").meta["weights_dtype"] == "float16"
    size = lambda d: (d / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    a, b = load_codec(full), load_codec(half)
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert w.dtype == v.dtype, k  # computed in float32 after loading
        if v.is_floating_point():
            torch.testing.assert_close(w, v, rtol=2e-3, atol=1e-3)  # float16 keeps ~11 bits
        else:
            assert torch.equal(w, v), k
    wav = torch.from_numpy(voice_like(0.5, seed=9)).unsqueeze(0)
    assert b.encode(wav).shape == a.encode(wav).shape


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


def test_first_codebook_output_is_its_vectors_with_a_gradient_to_the_encoder():
    from codec_lm.codecs import MelRVQ, MelRVQConfig

    torch.manual_seed(0)
    model = MelRVQ(MelRVQConfig(n_codebooks=3, codebook_size=16, dim=32, n_layers=1, kmeans_init=False)).train()
    out = model(torch.randn(2, 100, 20))
    first = out["first"]
    assert first.shape == (2, 20, 32)
    vectors = torch.nn.functional.embedding(out["codes"][:, 0], model.rvq.codebooks[0])
    torch.testing.assert_close(first.detach(), vectors)
    first.pow(2).sum().backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0


def _aligned_cut(tmp_path, symbols, durations, sr=24000, hop=256):
    """A recording of sum(durations) frames with a stored alignment of ``symbols``."""
    import soundfile as sf
    from lhotse import Recording, SupervisionSegment
    from lhotse.cut import MonoCut

    from tts.data.manifests import ALIGNMENT_KEY, alignment_items

    n = sum(durations) * hop
    path = tmp_path / "a.wav"
    sf.write(path, voice_like(n / sr, seed=1), sr)
    rec = Recording.from_file(path)
    items = alignment_items(symbols, durations, sr / hop)
    sup = SupervisionSegment(id="a", recording_id=rec.id, start=0, duration=rec.duration, text="x",
                             alignment={ALIGNMENT_KEY: items})
    return MonoCut(id="a", start=0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup])


def test_crops_carry_the_aligned_phoneme_of_each_frame(tmp_path):
    from recipes.crops import IGNORE, AudioCrops
    from text_frontend import PhonemeVocab

    vocab = PhonemeVocab.default()
    symbols = [s for s in vocab.symbols if len(s) == 1 and s.isalpha()][:3]
    ids = vocab.encode(symbols)
    cut = _aligned_cut(tmp_path, symbols, [10, 5, 20])
    wav, labels = AudioCrops([cut], 24000, 30 * 256, train=False, phones=True)[0]
    assert wav.shape == (30 * 256,) and labels.shape == (31,)
    assert labels[:10].tolist() == [ids[0]] * 10 and labels[10:15].tolist() == [ids[1]] * 5
    assert labels[15:31].tolist() == [ids[2]] * 16
    # A crop longer than the cut repeats its audio; the repeated frames have no label.
    _, labels = AudioCrops([cut], 24000, 50 * 256, train=False, phones=True)[0]
    assert labels[:35].ne(IGNORE).all() and labels[35:].eq(IGNORE).all()
    # Random training crops: each label is the phoneme at the frame's time in the cut.
    crops = AudioCrops([cut], 24000, 8 * 256, train=True, phones=True)
    for _ in range(5):
        _, labels = crops[0]
        assert set(labels.tolist()) <= set(ids)


def test_phone_targets_train_and_are_left_out_of_the_export(aligned_codes_setup, setup_dirs, tmp_path):
    from recipes.cli import train

    root, _ = aligned_codes_setup
    _, _, vocoder = setup_dirs
    run_dir, export = tmp_path / "run", tmp_path / "export"
    result = train("melrvq", tiny_args(root, vocoder, run_dir, 4, "--export_dir", str(export),
                                       "--model.phone_weight", "1.0", "--data.phones", "true",
                                       "--data.train_split", "train_aligned", "--data.val_split",
                                       "test_seen_aligned"))
    assert result["global_step"] == 4
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/phone_ce", "train/phone_acc", "val/phone_acc"):
        assert key in metrics
    ckpt = torch.load(result["last"], map_location="cpu", weights_only=True)["state_dict"]
    assert any(k.startswith("phone_head.") for k in ckpt)
    codec = load_codec(export)
    assert not any("phone_head" in k for k in codec.model.state_dict())


def test_phone_weight_without_labels_is_a_clear_error(setup_dirs, tmp_path):
    from recipes.cli import train
    from recipes.common import RecipeError

    _, corpus, vocoder = setup_dirs
    with pytest.raises(RecipeError, match="needs phoneme labels: add --data.phones true"):
        train("melrvq", tiny_args(corpus, vocoder, tmp_path / "run", 2, "--model.phone_weight", "1.0"))
