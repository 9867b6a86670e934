"""recipes/maskgct with a semantic tokenizer (tiny_semantic.yaml): CPU steps on TinyVoices codes and
tokens, export naming codec and tokenizer, the Synthesizer, the S2A check, and the configuration errors."""

import pytest
import torch

from test_recipe_maskgct import tiny_args as codebook1_args

from tts.checkpoint import read_checkpoint

pytest.importorskip("lightning")


@pytest.fixture(scope="module")
def semantic_setup(codes_setup, random_aligner, tmp_path_factory):
    """A tokenizer (8 clusters of the random test aligner) and the semantic manifests of ``codes_setup``'s codes."""
    from tts.data.features import prepare_features
    from tts.data.semantic import fit_semantic_tokenizer

    root, codec = codes_setup
    out = tmp_path_factory.mktemp("semantic_setup")
    tokenizer = out / "tok"
    fit_semantic_tokenizer(root / "cuts_train.jsonl.gz", random_aligner, tokenizer, clusters=8, stage="layer1",
                           max_tokens=3000, iterations=5)
    for name in ("cuts_train_codes.jsonl.gz", "cuts_test_seen_codes.jsonl.gz"):
        prepare_features(root / "codes" / name, out / "semantic", kind="semantic", tokenizer=tokenizer,
                         batch_duration=30)
    return out, codec, tokenizer


def tiny_args(corpus, root, codec, tokenizer, run_dir, max_steps, *extra):
    """The codebook-1 recipe test's arguments on the semantic config and manifests."""
    return codebook1_args(corpus, root, codec, run_dir, max_steps, "--model.semantic_tokenizer", str(tokenizer), *extra,
                          config="tiny_semantic", cuts=("semantic/cuts_train_codes_semantic.jsonl.gz",
                                                        "semantic/cuts_test_seen_codes_semantic.jsonl.gz"))


@pytest.fixture(scope="module")
def trained(tinyvoices, semantic_setup, tmp_path_factory):
    from recipes.cli import train

    root, codec, tokenizer = semantic_setup
    out = tmp_path_factory.mktemp("maskgct_semantic")
    run_dir, export = out / "run", out / "export"
    result = train("maskgct", tiny_args(tinyvoices, root, codec, tokenizer, run_dir, 4, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_and_export_name_codec_and_tokenizer(trained, semantic_setup):
    from codec_lm.maskgct import MaskGCT, MaskGCTConfig
    from tts.checkpoint import build_model

    run_dir, export, result = trained
    _, codec, tokenizer = semantic_setup
    assert result["global_step"] == 4
    info = read_checkpoint(export, family="maskgct")
    assert info.dependencies == {"codec": codec.resolve(), "semantic": tokenizer.resolve()}
    config = build_model(info, MaskGCT, MaskGCTConfig, "MaskGCT").config
    assert (config.semantic_source, config.semantic_clusters, config.semantic_hop, config.first_acoustic) == \
        ("aligner", 8, 4, 0)
    assert config.text_positions == "stretched"  # tiny_semantic.yaml's
    card = (export / "README.md").read_text()
    assert "fills the semantic tokens of `tok`" in card and "| semantic tokenizer |" in card
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/t2s_acc", "train/s2a_loss", "val/loss", "val/text_gap", "val/per", "val/sim"):
        assert key in metrics, key


def assert_synthesizes_reproducibly(synth, tinyvoices, **options):
    """A short sentence in a test voice: the same audio twice under a seed, and a given duration met to a frame."""
    from tts.audio import Audio
    from tts.data.manifests import load_cuts

    cut = min(load_cuts(tinyvoices, "test_seen"), key=lambda c: c.duration)
    prompt = Audio(torch.from_numpy(cut.load_audio()[0]), 24000)
    text = cut.supervisions[0].text
    fast = {"steps": 3, "s2a_steps": 1}
    audio = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=3, **fast)
    again = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=3, **fast)
    assert audio.wav.shape[-1] > 0 and torch.equal(torch.as_tensor(audio.wav), torch.as_tensor(again.wav))
    hop = 24000 / 93.75
    timed = synth.synthesize("Hi there.", prompt, prompt_text=text, seed=1, duration=1.3, **options, **fast)
    assert abs(timed.wav.shape[-1] - 1.3 * 24000) <= hop


def test_synthesizer_tokenizes_the_prompt(trained, tinyvoices):
    from tts import Synthesizer

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    assert synth.backend.tokenizer is not None and synth.backend.tokenizer.config.clusters == 8
    assert_synthesizes_reproducibly(synth, tinyvoices, cfg=0.0)


def test_s2a_check_resynthesizes_from_the_tokens(trained, tinyvoices, tmp_path):
    from tts import Synthesizer
    from tts.data.manifests import load_cuts
    from tts.eval import Evaluator
    from tts.eval.errors import EvalError
    from tts.eval.s2a import run_s2a_check

    _, export, _ = trained
    synth = Synthesizer.from_pretrained(export, device="cpu")
    cuts = load_cuts(tinyvoices, "test_unseen")  # speakers with several utterances: one prompts the other
    quiet = Evaluator(asr=False, speaker=False, dnsmos=False)
    for mode in ("other", "prefix"):
        report = run_s2a_check(cuts, synth, tmp_path / mode, prompt=mode, prefix_seconds=1.0, limit=2, evaluator=quiet,
                               options={"s2a_steps": 1})
        assert len(report.rows) == 2 and report.summary["s2a_check"]["prompt"] == mode
        for row in report.rows:
            original = next(c for c in cuts if c.id == row["id"]).duration
            assert abs(row["duration"] - original) < 0.05, (mode, row["duration"], original)
    given = run_s2a_check(cuts, synth, tmp_path / "given", given_codebooks=2, limit=1, evaluator=quiet,
                          options={"s2a_steps": 1})
    assert given.summary["s2a_check"]["given_codebooks"] == 2 and len(given.rows) == 1
    for bad in (-1, 99, True):
        with pytest.raises(EvalError, match="--given-codebooks must be an integer from 0 to"):
            run_s2a_check(cuts, synth, tmp_path / "g", given_codebooks=bad, evaluator=quiet)
    with pytest.raises(EvalError, match="Unknown prompt mode"):
        run_s2a_check(cuts, synth, tmp_path / "x", prompt="middle", evaluator=quiet)
    with pytest.raises(EvalError, match="lower --prefix-seconds"):
        run_s2a_check(cuts, synth, tmp_path / "y", prompt="prefix", prefix_seconds=60.0, evaluator=quiet)


def test_s2a_check_cli_errors(random_flow, tinyvoices, tmp_path, capsys):
    from tts.cli import main

    cuts = str(tinyvoices / "cuts_test_seen.jsonl.gz")
    assert main(["eval", "s2a", "--cuts", cuts, "--out", str(tmp_path / "a")]) == 2
    assert "needs --model" in capsys.readouterr().err
    assert main(["eval", "s2a", "--model", str(random_flow), "--cuts", cuts, "--out", str(tmp_path / "b")]) == 2
    assert "runs MaskGCT models" in capsys.readouterr().err


def test_configuration_errors_are_clear(semantic_setup, codes_setup, tinyvoices, tmp_path):
    import shutil

    import yaml

    from recipes.common import RecipeError
    from recipes.data import CodesDataModule
    from recipes.maskgct.module import MaskGCTModule
    from tts import Synthesizer
    from tts.checkpoint import CheckpointError

    root, codec, tokenizer = semantic_setup
    small = {"dim": 32, "heads": 2, "t2s_layers": 1, "s2a_layers": 1}
    with pytest.raises(RecipeError, match="needs model.semantic_tokenizer"):
        MaskGCTModule(codec=str(codec), maskgct={**small, "semantic_source": "aligner"})
    with pytest.raises(RecipeError, match="read only with model.maskgct.semantic_source: aligner"):
        MaskGCTModule(codec=str(codec), semantic_tokenizer=str(tokenizer), maskgct=small)
    with pytest.raises(RecipeError, match="come from the codec, the semantic tokenizer"):
        MaskGCTModule(codec=str(codec), semantic_tokenizer=str(tokenizer),
                      maskgct={**small, "semantic_source": "aligner", "semantic_clusters": 9})
    module = MaskGCTModule(codec=str(codec), semantic_tokenizer=str(tokenizer),
                           maskgct={**small, "semantic_source": "aligner"})
    assert (module.config.semantic_clusters, module.config.semantic_hop) == (8, 4)
    codes = torch.zeros(1, 4, 9, dtype=torch.long)
    with pytest.raises(RecipeError, match="data.semantic: true"):
        module._check({"codes": codes, "code_lens": torch.tensor([9])})
    with pytest.raises(RecipeError, match="do not come from tokenizer"):
        module._check({"codes": codes, "code_lens": torch.tensor([9]), "semantic": torch.zeros(1, 2, dtype=torch.long),
                       "semantic_lens": torch.tensor([2])})
    codes_root, _ = codes_setup
    dm = CodesDataModule(str(tinyvoices), train_cuts=str(codes_root / "codes" / "cuts_train_codes.jsonl.gz"),
                         semantic=True)
    with pytest.raises(RecipeError, match="holds no semantic tokens"):
        dm.train_dataloader()
    dm = CodesDataModule(str(tinyvoices), train_cuts="semantic/nope.jsonl.gz", semantic=True)
    with pytest.raises(RecipeError, match="--kind semantic --tokenizer"):
        dm.train_dataloader()
    # a semantic MaskGCT folder whose model.yaml lost its tokenizer cannot tokenize a prompt
    from tts.checkpoint import save_checkpoint

    lost = save_checkpoint(tmp_path / "lost", "maskgct", module.config, module.model.state_dict(),
                           vocab=module.vocab, dependencies={"codec": codec})
    with pytest.raises(CheckpointError, match="names no tokenizer"):
        Synthesizer.from_pretrained(lost, device="cpu")
    other = tmp_path / "tok16"
    shutil.copytree(tokenizer, other)
    doc = yaml.safe_load((other / "model.yaml").read_text())
    doc["config"]["pool"] = 2
    (other / "model.yaml").write_text(yaml.safe_dump(doc))
    mismatched = save_checkpoint(tmp_path / "mismatched", "maskgct", module.config, module.model.state_dict(),
                                 vocab=module.vocab, dependencies={"codec": codec, "semantic": other})
    with pytest.raises(CheckpointError, match="is not the one MaskGCT"):
        Synthesizer.from_pretrained(mismatched, device="cpu")
