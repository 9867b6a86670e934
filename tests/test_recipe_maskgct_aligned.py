"""recipes/maskgct aligned (tiny_aligned.yaml): CPU steps on TinyVoices codes, semantic tokens and
phone durations, an export that names codec, tokenizer and phone aligner, the Synthesizer (which
measures the prompt with the aligner), the S2A check, and the configuration errors."""

import pytest
import torch

from test_recipe_maskgct import tiny_args as codebook1_args
from test_recipe_maskgct_semantic import assert_synthesizes_reproducibly
from test_recipe_maskgct_semantic import semantic_setup  # noqa: F401  (a fixture: the tokenizer)

from tts.checkpoint import read_checkpoint

pytest.importorskip("lightning")

CUTS = ("semantic/cuts_train_aligned_codes_semantic.jsonl.gz", "semantic/cuts_test_seen_aligned_codes_semantic.jsonl.gz")


@pytest.fixture(scope="module")
def aligned_semantic(aligned_codes_setup, semantic_setup, tmp_path_factory):  # noqa: F811
    """Semantic manifests of the aligned codes (they keep the phone alignments)."""
    from tts.data.features import prepare_features

    root, codec = aligned_codes_setup
    _, _, tokenizer = semantic_setup
    out = tmp_path_factory.mktemp("aligned_semantic")
    for name in ("cuts_train_aligned_codes.jsonl.gz", "cuts_test_seen_aligned_codes.jsonl.gz"):
        prepare_features(root / "codes" / name, out / "semantic", kind="semantic", tokenizer=tokenizer,
                         batch_duration=30)
    return out, codec, tokenizer


@pytest.fixture(scope="module")
def trained(tinyvoices, aligned_semantic, tmp_path_factory):
    from recipes.cli import train

    root, codec, tokenizer = aligned_semantic
    out = tmp_path_factory.mktemp("maskgct_aligned")
    run_dir, export = out / "run", out / "export"
    args = codebook1_args(tinyvoices, root, codec, run_dir, 4, "--model.semantic_tokenizer", str(tokenizer),
                          "--model.maskgct.duration_dim", "16", "--model.maskgct.duration_layers", "1",
                          "--export_dir", str(export), config="tiny_aligned", cuts=CUTS)
    return run_dir, export, train("maskgct", args)


def test_train_and_export_name_codec_tokenizer_and_aligner(trained, aligned_semantic):
    from codec_lm.maskgct import MaskGCT, MaskGCTConfig
    from tts.checkpoint import build_model

    run_dir, export, result = trained
    _, codec, tokenizer = aligned_semantic
    assert result["global_step"] == 4
    info = read_checkpoint(export, family="maskgct")
    assert set(info.dependencies) == {"codec", "semantic", "aligner"}
    assert (info.dependencies["codec"], info.dependencies["semantic"]) == (codec.resolve(), tokenizer.resolve())
    assert info.dependencies["aligner"].name == "tiny-aligner"
    config = build_model(info, MaskGCT, MaskGCTConfig, "MaskGCT").config
    assert config.aligned and (config.semantic_source, config.duration_dim) == ("aligner", 16)
    card = (export / "README.md").read_text()
    assert "| text | aligned:" in card and "| phone aligner |" in card
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/dur_loss", "train/t2s_acc", "val/dur_loss", "val/text_gap", "val/per"):
        assert key in metrics, key


def test_synthesizer_measures_the_prompt(trained, tinyvoices):
    from tts import Synthesizer

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    assert synth.backend.aligner is not None and synth.backend.tokenizer is not None
    assert_synthesizes_reproducibly(synth, tinyvoices)


def test_s2a_check_aligns_prompt_and_target(trained, tinyvoices, tmp_path):
    from tts import Synthesizer
    from tts.data.manifests import load_cuts
    from tts.eval import Evaluator
    from tts.eval.s2a import run_s2a_check

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    cuts = load_cuts(tinyvoices, "test_unseen")
    quiet = Evaluator(asr=False, speaker=False, dnsmos=False)
    for mode in ("other", "prefix"):
        report = run_s2a_check(cuts, synth, tmp_path / mode, prompt=mode, prefix_seconds=1.0, limit=2, evaluator=quiet,
                               options={"s2a_steps": 1})
        assert len(report.rows) == 2
        for row in report.rows:
            original = next(c for c in cuts if c.id == row["id"]).duration
            assert abs(row["duration"] - original) < 0.05, (mode, row["duration"], original)


def test_configuration_errors_are_clear(trained, aligned_semantic, tmp_path):
    from recipes.common import RecipeError
    from recipes.maskgct.module import MaskGCTModule
    from tts import Synthesizer
    from tts.checkpoint import CheckpointError, save_checkpoint

    _, codec, tokenizer = aligned_semantic
    small = {"dim": 32, "heads": 2, "t2s_layers": 1, "s2a_layers": 1, "semantic_source": "aligner",
             "text_conditioning": "aligned", "duration_dim": 16, "duration_layers": 1}
    with pytest.raises(RecipeError, match="needs model.aligner"):
        MaskGCTModule(codec=str(codec), semantic_tokenizer=str(tokenizer), maskgct=small)
    module = MaskGCTModule(codec=str(codec), semantic_tokenizer=str(tokenizer), maskgct=small, aligner="tiny-aligner")
    codes = torch.zeros(1, 4, 8, dtype=torch.long)
    with pytest.raises(RecipeError, match="data.durations: true"):
        module._check({"codes": codes, "code_lens": torch.tensor([8]), "semantic": torch.zeros(1, 2, dtype=torch.long),
                       "semantic_lens": torch.tensor([2])})
    lost = save_checkpoint(tmp_path / "lost", "maskgct", module.config, module.model.state_dict(), vocab=module.vocab,
                           dependencies={"codec": codec, "semantic": tokenizer})
    with pytest.raises(CheckpointError, match="names no aligner"):
        Synthesizer.from_pretrained(lost, device="cpu")
