"""recipes/valle: CPU training steps on TinyVoices codes, export -> checkpoint folder, resume, prompts, DDP;
the implicit config (tiny_implicit) and the monotonic one (tiny, VALL-E R)."""

import pytest
import torch
import yaml
from conftest import REPO

from codec_lm.valle import VallE, VallEConfig
from tts.checkpoint import build_config, load_state_dict, read_checkpoint

pytest.importorskip("lightning")


def tiny_args(corpus, root, codec, run_dir, max_steps, *extra):
    return ["--config", "tiny_implicit", "--data.data_dir", str(corpus), "--model.codec", str(codec),
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
                "val/text_gap", "val/per", "val/sim"):
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
    cfg = yaml.safe_load((REPO / "recipes" / "valle" / "configs" / "tiny_implicit.yaml").read_text())
    module = VallEModule(codec=str(codec), **cfg["model"])
    assert module.config.dim == 256 and module.config.n_codebooks == 4 and module.config.alignment == "none"
    aligned = yaml.safe_load((REPO / "recipes" / "valle" / "configs" / "tiny.yaml").read_text())
    module = VallEModule(codec=str(codec), **aligned["model"])
    assert module.config.alignment == "monotonic" and module.config.steps_per_second <= 47
    assert module.aligner_dir is not None and aligned["data"]["alignment"] == "monotonic"
    assert aligned["data"]["group_size"] == module.config.group_size
    assert "_aligned_codes" in aligned["data"]["train_cuts"]
    assert aligned["data"]["prompt_seconds"] == [3.0, 5.0]  # the evaluation's prompts
    gpu = yaml.safe_load((REPO / "recipes" / "valle" / "configs" / "libritts_gpu.yaml").read_text())
    assert gpu["trainer"]["strategy"] == "ddp" and gpu["trainer"]["use_distributed_sampler"] is False
    assert gpu["data"]["prompt"] == "speaker"
    big = VallEConfig(**gpu["model"]["valle"])  # valid hyper-parameters (8 x 1024 codec by default)
    assert (big.dim, big.ar_layers, big.nar_layers) == (1024, 12, 12)
    assert (gpu["data"]["alignment"], gpu["data"]["group_size"]) == (big.alignment, big.group_size)
    VallEConfig(**{**gpu["model"]["valle"], "alignment": "monotonic", "group_size": 2})  # the documented choice
    # VallEConfig() equals the tiny_implicit YAML's model (the benchmarks' "default" size).
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
    assert set(synth.options) == {"temperature", "top_k", "top_p", "num_candidates", "rerank", "advance", "speed",
                                  "cfg", "nar_decode", "decode_codebooks"}
    cut = min(load_cuts(tinyvoices, "test_seen"), key=lambda c: c.duration)
    from tts.audio import Audio

    prompt = Audio(torch.from_numpy(cut.load_audio()[0]), 24000)
    audio = synth.synthesize("Hi there.", prompt, prompt_text=cut.supervisions[0].text, seed=3, top_k=20)
    again = synth.synthesize("Hi there.", prompt, prompt_text=cut.supervisions[0].text, seed=3, top_k=20)
    assert audio.sample_rate == 24000 and 0 < audio.wav.shape[-1] and torch.isfinite(torch.as_tensor(audio.wav)).all()
    assert torch.equal(torch.as_tensor(audio.wav), torch.as_tensor(again.wav))  # seeded
    with pytest.raises(TTSError, match="--top-p"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", top_p=2.0)
    with pytest.raises(TTSError, match="--advance"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", advance="mean")
    with pytest.raises(TTSError, match="does not take --nfe"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", nfe=8)
    # a plain VALL-E has no pointer to slow down and no phone aligner to hear candidates with
    with pytest.raises(TTSError, match="--speed needs a VALL-E R"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", speed=0.9)
    with pytest.raises(TTSError, match="--rerank phones hears the candidates"):
        synth.synthesize("Hi.", prompt, prompt_text="hello", num_candidates=2, rerank="phones")


def test_checkpoint_without_its_codec_is_a_clear_error(trained, tmp_path):
    import recipe_probe

    _, export, _ = trained
    recipe_probe.assert_missing_codec_is_clear(export, tmp_path, "VALL-E")


# ------------------------------------------------------------------ monotonic alignment (VALL-E R): tiny.yaml
def aligned_args(corpus, root, codec, run_dir, max_steps, *extra):
    args = tiny_args(corpus, root, codec, run_dir, max_steps, *extra)
    args[1] = "tiny"  # the monotonic config (tiny_args names tiny_implicit)
    args[args.index("--data.train_cuts") + 1] = str(root / "codes" / "cuts_train_aligned_codes.jsonl.gz")
    args[args.index("--data.val_cuts") + 1] = str(root / "codes" / "cuts_test_seen_aligned_codes.jsonl.gz")
    return args


@pytest.fixture(scope="module")
def trained_monotonic(tinyvoices, aligned_codes_setup, tmp_path_factory):
    from recipes.cli import train

    root, codec = aligned_codes_setup
    out = tmp_path_factory.mktemp("valler")
    run_dir, export = out / "run", out / "export"
    result = train("valle", aligned_args(tinyvoices, root, codec, run_dir, 4, "--export_dir", str(export)))
    return run_dir, export, result


def test_monotonic_config_trains_exports_and_synthesizes(trained_monotonic, aligned_codes_setup):
    from tts import Synthesizer

    from conftest import DEMO_PROMPT

    run_dir, export, result = trained_monotonic
    assert result["global_step"] == 4
    info = read_checkpoint(export, family="valle")
    assert set(info.dependencies) == {"codec", "aligner"} and info.dependencies["aligner"].name == "tiny-aligner"
    config = build_config(VallEConfig, info)
    assert (config.alignment, config.group_size, config.dim) == ("monotonic", 2, 32)
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/ar_loss", "train/advance_loss", "train/advance_acc", "val/advance_loss", "val/nar_loss",
                "val/text_gap", "val/per", "val/sim"):
        assert key in metrics, key
    assert "Monotonic phone alignment" in (export / "README.md").read_text()
    synth = Synthesizer.from_pretrained(export, device="cpu")
    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    audio = synth.synthesize("Hello there.", DEMO_PROMPT, prompt_text=text, seed=0, top_k=20)
    again = synth.synthesize("Hello there.", DEMO_PROMPT, prompt_text=text, seed=0, top_k=20)
    assert torch.isfinite(audio.wav).all() and torch.equal(audio.wav, again.wav)
    # untrained, the pointer still gives each of the sentence's symbols a step of 2 frames
    from text_frontend import Frontend

    symbols = len(Frontend("en-us").encode("Hello there.").ids) + 1
    assert audio.wav.shape[-1] >= symbols * 2 * 256


def test_monotonic_export_without_its_aligner_is_a_clear_error(trained_monotonic, tmp_path):
    import shutil

    from tts import Synthesizer
    from tts.errors import TTSError

    _, export, _ = trained_monotonic
    copy = shutil.copytree(export, tmp_path / "m")
    text = (copy / "model.yaml").read_text()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("aligner:")]
    (copy / "model.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(TTSError, match="names no aligner"):
        Synthesizer.from_pretrained(copy, device="cpu")


@pytest.mark.parametrize("mode", ["prefix", "speaker"])
def test_monotonic_prompted_batches(aligned_codes_setup, mode):
    """Prompt and target split where inference splits them, with durations that fit the codes."""
    from recipes.valle.data import PromptedDataset
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    root, _ = aligned_codes_setup
    cuts = load_cuts(root / "codes" / "cuts_train_aligned_codes.jsonl.gz").to_eager()
    ds = PromptedDataset(TTSDataset(features="codes", durations=True), mode, cuts, prompt_seconds=(1.0, 2.0),
                         deterministic=True, alignment="monotonic", group_size=2)
    batch = ds[cuts.subset(first=8)]
    model = VallE(VallEConfig(n_codebooks=4, codebook_size=64, dim=32, heads=2, ar_layers=1, nar_layers=1,
                              alignment="monotonic", group_size=2))
    out = model(batch["lm_phonemes"], batch["lm_phoneme_lens"], batch["prompt_codes"], batch["prompt_lens"],
                batch["target_codes"], batch["target_lens"], durations=batch["lm_durations"],
                prompt_phoneme_lens=batch["lm_prompt_phoneme_lens"])
    assert torch.isfinite(out["loss"])
    speakers = 0
    for i in range(len(batch["ids"])):
        lm = batch["lm_phonemes"][i, : batch["lm_phoneme_lens"][i]]
        d = batch["lm_durations"][i, : len(lm)]
        k = int(batch["lm_prompt_phoneme_lens"][i])
        p, t = int(batch["prompt_lens"][i]), int(batch["target_lens"][i])
        assert int(d[:k].sum()) == p and int(d[k:].sum()) == t and bool((d >= 1).all())
        assert lm[0] == 4 and lm[k - 1] == 4 and lm[k] != 4 and lm[-1] == 4  # the prompt ends at a word boundary
        assert t // 2 >= len(lm) - k  # a step for every target symbol
        ph = batch["phonemes"][i, : batch["phoneme_lens"][i]]
        codes = batch["codes"][i, :, : batch["code_lens"][i]]
        prompt, target = batch["prompt_codes"][i, :, :p], batch["target_codes"][i, :, :t]
        if batch["prompt_ids"][i] is None:
            assert torch.equal(lm, ph) and torch.equal(torch.cat([prompt, target], 1), codes)
            assert p <= codes.shape[1] // 2
        else:
            speakers += 1
            opening = int(batch["durations"][i, 0])
            assert torch.equal(lm[k:], ph[1:]) and torch.equal(target, codes[:, opening:])
    assert mode == "prefix" or speakers > 0


def test_monotonic_configuration_errors_are_clear(aligned_codes_setup, codes_setup, tinyvoices):
    import warnings

    from recipes.common import RecipeError
    from recipes.valle.data import VallEDataModule
    from recipes.valle.module import VallEModule

    root, codec = aligned_codes_setup
    small = {"dim": 32, "heads": 2, "ar_layers": 1, "nar_layers": 1, "alignment": "monotonic", "group_size": 2}
    with pytest.raises(RecipeError, match="needs model.aligner"):
        VallEModule(codec=str(codec), valle=small)
    with pytest.raises(RecipeError, match="Invalid model.valle"):
        VallEModule(codec=str(codec), valle={**small, "alignment": "none"}, aligner="tiny-aligner")
    with pytest.raises(RecipeError, match="data.alignment"):
        VallEDataModule(str(tinyvoices), alignment="soft")
    unaligned = VallEDataModule(str(codes_setup[0]), alignment="monotonic", group_size=2, num_workers=0)
    with pytest.raises(RecipeError, match="has no phone alignment"):
        unaligned.train_dataloader()  # codes of cuts_train.jsonl.gz, not of the aligned manifest
    def data(group):
        return VallEDataModule(str(root), train_cuts="codes/cuts_train_aligned_codes.jsonl.gz",
                               alignment="monotonic", group_size=group, num_workers=0)

    with pytest.warns(UserWarning, match=r"of \d+ cuts .* too short for a step of 5 frames"):
        data(5).train_dataloader()  # about 5 frames per phoneme: some cuts are left out, and counted
    with pytest.raises(RecipeError, match="No cut .* lower model.valle.group_size"):
        data(12).train_dataloader()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data(2).train_dataloader()
    assert not [w for w in caught if "too short" in str(w.message)]  # at two frames per step every cut fits
    module = VallEModule(codec=str(codec), valle=small, aligner="tiny-aligner")
    from types import SimpleNamespace

    module._trainer = SimpleNamespace(datamodule=VallEDataModule(str(root)))  # data without the alignment
    with pytest.raises(RecipeError, match=r"data.alignment \(none\) differs from model.valle.alignment"):
        module.setup("fit")
    module._trainer = None
    module._checked = True
    with pytest.raises(RecipeError, match="data.alignment: monotonic"):
        module._losses({"lm_phonemes": torch.ones(1, 3, dtype=torch.long)})


def test_text_gap_fails_for_a_model_that_ignores_the_aligned_phonemes(aligned_codes_setup):
    """The probe can fail: after the same 60 steps on three utterances, a VALL-E R whose phoneme
    tables are frozen at zero has no text gap, and one that reads them has a clear one."""
    from recipes.probes import text_gap
    from recipes.valle.data import PromptedDataset
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    root, _ = aligned_codes_setup
    cuts = load_cuts(root / "codes" / "cuts_test_seen_aligned_codes.jsonl.gz").to_eager()
    ds = PromptedDataset(TTSDataset(features="codes", durations=True), "prefix", cuts, prompt_seconds=(1.0, 1.5),
                         deterministic=True, alignment="monotonic", group_size=2)
    batch = ds[sorted(cuts, key=lambda c: c.duration)[:3]]
    gaps = {}
    for reads_text in (False, True):
        torch.manual_seed(0)
        model = VallE(VallEConfig(n_codebooks=4, codebook_size=64, dim=64, heads=2, ar_layers=1, nar_layers=1,
                                  dropout=0.0, alignment="monotonic", group_size=2))
        if not reads_text:
            for table in (model.ar.text.embed, model.ar.phone, model.nar.text.embed, model.nar.phone):
                table.weight.data.zero_()
                table.weight.requires_grad_(False)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)

        def loss(b, model=model):
            return model(b["lm_phonemes"], b["lm_phoneme_lens"], b["prompt_codes"], b["prompt_lens"],
                         b["target_codes"], b["target_lens"], durations=b["lm_durations"],
                         prompt_phoneme_lens=b["lm_prompt_phoneme_lens"])["loss"]

        for _ in range(60):
            opt.zero_grad()
            loss(batch).backward()
            opt.step()

        class Probe:
            text_keys = ("lm_phonemes", "lm_phoneme_lens")

            def probe_loss(self, b, loss=loss):
                return loss(b)

        model.eval()
        gaps[reads_text] = text_gap(Probe(), [batch], seed=0)
    assert abs(gaps[False]) < 1e-4 and gaps[True] > 0.1, gaps


def test_fine_tuning_starts_from_the_given_weights(trained, tinyvoices, codes_setup, tmp_path):
    import recipe_probe

    root, codec = codes_setup
    _, export, result = trained
    recipe_probe.assert_fine_tuning_starts_from(
        "valle", lambda run_dir, *extra: tiny_args(tinyvoices, root, codec, run_dir, 1, *extra), export,
        result["last"], tmp_path)


def test_nar_only_fine_tuning_keeps_the_ar_and_trains_the_nar(trained_monotonic, tinyvoices, aligned_codes_setup,
                                                              tmp_path):
    """``model.train_parts: nar``: a new NAR for a finished AR; the export's AR weights are the source's."""
    from recipes.cli import train
    from tts.checkpoint import load_state_dict

    root, codec = aligned_codes_setup
    _, source, _ = trained_monotonic
    export = tmp_path / "export"
    result = train("valle", aligned_args(tinyvoices, root, codec, tmp_path / "run", 2, "--model.init_from",
                                         str(source), "--model.train_parts", "nar", "--model.valle.nar_stage_weights",
                                         "quadratic", "--export_dir", str(export)))
    assert result["global_step"] == 2
    before, after = load_state_dict(read_checkpoint(source)), load_state_dict(read_checkpoint(export))
    ar = [k for k in before if k.startswith("ar.")]
    nar = [k for k in before if k.startswith("nar.")]
    assert ar and nar
    assert all(torch.equal(before[k], after[k]) for k in ar)
    assert any(not torch.equal(before[k], after[k]) for k in nar)
    assert build_config(VallEConfig, read_checkpoint(export, family="valle")).nar_stage_weights == "quadratic"
    metrics = (next((tmp_path / "run").glob("logs/version_*")) / "metrics.csv").read_text()
    assert "train/nar_loss" in metrics and "train/ar_loss" not in metrics
    from recipes.common import RecipeError
    from recipes.valle.module import VallEModule

    with pytest.raises(RecipeError, match="model.train_parts must be 'all' or 'nar'"):
        VallEModule(codec=str(codec), valle={"dim": 32, "heads": 2, "ar_layers": 1, "nar_layers": 1},
                    train_parts="ar")


def test_nar_check_fills_the_codebooks_after_the_given_ones(trained_monotonic, tinyvoices, tmp_path):
    """`tts eval s2a` on a VALL-E R: its NAR from a recording's own first K codebooks."""
    from tts import Synthesizer
    from tts.data.manifests import load_cuts
    from tts.eval import Evaluator
    from tts.eval.errors import EvalError
    from tts.eval.s2a import run_s2a_check

    _, export, _ = trained_monotonic
    synth = Synthesizer.from_pretrained(export, device="cpu")
    q = synth.backend.model.config.n_codebooks
    cuts = load_cuts(tinyvoices, "test_unseen")
    quiet = Evaluator(asr=False, speaker=False, dnsmos=False)
    for k in (1, q):
        report = run_s2a_check(cuts, synth, tmp_path / f"k{k}", given_codebooks=k, limit=2, evaluator=quiet)
        assert report.summary["s2a_check"] == {"prompt": "other", "stage": "valle_nar", "given_codebooks": k,
                                               "nar_decode": "codes", "decode_codebooks": q}
        for row in report.rows:
            original = next(c for c in cuts if c.id == row["id"]).duration
            assert abs(row["duration"] - original) < 0.05, (k, row["duration"], original)
    soft = run_s2a_check(cuts, synth, tmp_path / "soft", given_codebooks=1, limit=2, evaluator=quiet,
                         options={"nar_decode": "expected"})
    assert soft.summary["s2a_check"]["nar_decode"] == "expected"
    from tts.audio import load

    for row in soft.rows:
        original = next(c for c in cuts if c.id == row["id"]).duration
        assert abs(row["duration"] - original) < 0.05
        a, b = (load(tmp_path / d / "audio" / f"{row['id']}.wav").wav for d in ("soft", "k1"))
        assert a.shape == b.shape and not torch.allclose(a, b, atol=1e-4)  # expected vectors, not the codes
    # K = 0: the AR writes codebook 1 on the recording's own durations (less its leading silence).
    timed = run_s2a_check(cuts, synth, tmp_path / "k0", given_codebooks=0, limit=2, evaluator=quiet, seed=3)
    assert timed.summary["s2a_check"]["stage"] == "valle_ar_on_given_durations"
    for row in timed.rows:
        original = next(c for c in cuts if c.id == row["id"]).duration
        assert original - 0.6 < row["duration"] < original + 0.1, (row["duration"], original)  # + a step or two
    for bad in (-1, q + 1, True):
        with pytest.raises(EvalError, match="--given-codebooks must be an integer from 0 to"):
            run_s2a_check(cuts, synth, tmp_path / "g", given_codebooks=bad, evaluator=quiet)
    with pytest.raises(EvalError, match="drop --prompt prefix"):
        run_s2a_check(cuts, synth, tmp_path / "p", prompt="prefix", given_codebooks=1, evaluator=quiet)
    # --decode-codebooks K: the NAR stops after codebook K; K = the given count decodes the recording's own.
    alone = run_s2a_check(cuts, synth, tmp_path / "alone", given_codebooks=1, limit=2, evaluator=quiet,
                          options={"decode_codebooks": 1, "nar_decode": "expected"})
    assert alone.summary["s2a_check"]["decode_codebooks"] == 1
    for row in alone.rows:
        a, b = (load(tmp_path / d / "audio" / f"{row['id']}.wav").wav for d in ("alone", "k1"))
        assert a.shape == b.shape and not torch.allclose(a, b, atol=1e-4)
    with pytest.raises(EvalError, match="--decode-codebooks must be from 2 \\(--given-codebooks\\)"):
        run_s2a_check(cuts, synth, tmp_path / "few", given_codebooks=2, evaluator=quiet,
                      options={"decode_codebooks": 1})
