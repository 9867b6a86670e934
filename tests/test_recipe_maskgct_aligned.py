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
    for key in ("train/dur_loss", "train/t2s_acc", "val/dur_loss", "val/text_gap", "val/per", "val/s2a1_full_loss",
                "val/s2a1_full_acc"):
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


def _code_item(n: int, q: int, hop: int, durations: list[int], base: int) -> dict:
    """One item's codes ``[q, n]`` and tokens numbered from ``base`` (a token's value: its first frame)."""
    codes = (base + torch.arange(n))[None].repeat(q, 1)
    semantic = base + torch.arange(0, n, hop)
    return {"codes": codes, "semantic": semantic, "phonemes": torch.arange(1, len(durations) + 1) + base,
            "durations": torch.tensor(durations)}


def _batch(items: list[dict]) -> dict:
    from nn_common import pad_stack

    codes, code_lens = pad_stack([i["codes"] for i in items], -1)
    ph, ph_lens = pad_stack([i["phonemes"] for i in items], 0)
    return {"codes": codes, "code_lens": code_lens, "semantic": pad_stack([i["semantic"] for i in items], -1)[0],
            "phonemes": ph, "phoneme_lens": ph_lens, "durations": pad_stack([i["durations"] for i in items], 0)[0]}


def test_speaker_prompts_join_in_whole_tokens():
    """A 23-frame prompt (hop 4) keeps 20 frames, its last phones losing the 3; the item loses 4 of
    its 6 opening-silence frames; codes, tokens and phones stay aligned."""
    from recipes.maskgct.pairs import join_code_prompts

    hop = 4
    item = _code_item(30, 2, hop, [6, 10, 14], base=1000)
    alone = _code_item(9, 2, hop, [3, 6], base=3000)
    batch = _batch([item, alone])
    batch["prompt_batch"] = _batch([_code_item(23, 2, hop, [5, 16, 1, 1], base=2000)])
    batch["prompt_index"] = torch.tensor([0, -1])
    j = join_code_prompts(batch, hop)
    assert j.prompt_frames.tolist() == [20, -1]
    assert j.code_lens.tolist() == [20 + 26, 9]
    joined = j.codes[0, 0, : j.code_lens[0]].tolist()
    assert joined == list(range(2000, 2020)) + list(range(1004, 1030))
    # each token is its first frame's value: token k of the join starts at frame hop * k
    tokens = j.semantic[0, : -(-int(j.code_lens[0]) // hop)].tolist()
    assert tokens == [joined[hop * k] for k in range(len(tokens))]
    n = int(j.phoneme_lens[0])
    assert j.phonemes[0, :n].tolist() == [2001, 2002, 1001, 1002, 1003]
    assert j.durations[0, :n].tolist() == [5, 15, 2, 10, 14] and sum(j.durations[0, :n].tolist()) == 46
    assert j.codes[1, 0, :9].tolist() == list(range(3000, 3009)) and j.durations[1, :2].tolist() == [3, 6]
    from recipes.common import RecipeError

    batch["prompt_batch"]["durations"][0, 0] = 4  # 22 frames of phones for 23 of codes
    with pytest.raises(RecipeError, match="durations of prompt 0 sum to 22 frames, its codes have 23"):
        join_code_prompts(batch, hop)


def test_model_takes_the_given_prompts():
    from codec_lm.maskgct import MaskGCT, MaskGCTConfig

    torch.manual_seed(0)
    model = MaskGCT(MaskGCTConfig(dim=32, heads=2, t2s_layers=1, s2a_layers=1, ff_mult=2, n_codebooks=2,
                                  codebook_size=16, semantic_source="aligner", semantic_clusters=8, semantic_hop=4,
                                  text_conditioning="aligned", duration_dim=8, duration_layers=1))
    b = _batch([_code_item(24, 2, 4, [4, 12, 8], base=0)])
    codes, sem = b["codes"] % 16, b["semantic"] % 8
    out = model(b["phonemes"] % 30 + 5, b["phoneme_lens"], codes, b["code_lens"], sem, b["durations"],
                prompt_frames=torch.tensor([8]))
    assert torch.isfinite(out["loss"])
    with pytest.raises(ValueError, match="whole semantic tokens"):
        model(b["phonemes"] % 30 + 5, b["phoneme_lens"], codes, b["code_lens"], sem, b["durations"],
              prompt_frames=torch.tensor([6]))


def test_training_with_speaker_prompts(tinyvoices, aligned_semantic, tmp_path, monkeypatch):
    """``--data.speaker_prompt_prob 1``: training batches come with prompts, joined before their items."""
    from recipes.cli import train
    from recipes.maskgct import module

    joined = []
    real = module.join_code_prompts  # where the recipe calls it
    monkeypatch.setattr(module, "join_code_prompts", lambda batch, hop: joined.append(real(batch, hop)) or joined[-1])
    root, codec, tokenizer = aligned_semantic
    args = codebook1_args(tinyvoices, root, codec, tmp_path / "run", 2, "--model.semantic_tokenizer", str(tokenizer),
                          "--model.maskgct.duration_dim", "16", "--model.maskgct.duration_layers", "1",
                          "--data.speaker_prompt_prob", "1.0", config="tiny_aligned", cuts=CUTS)
    assert train("maskgct", args)["global_step"] == 2
    assert len(joined) >= 2 and all((j.prompt_frames[j.prompt_frames >= 0] % 4 == 0).all() for j in joined)
    assert any((j.prompt_frames > 0).any() for j in joined)
