"""The semantic tokenizer: k-means, phone purity, the aligner's stages, the folder, the manifests, the commands."""

from __future__ import annotations

import json
import math

import pytest
import torch

from aligner import AlignerConfig, PhoneAligner
from aligner.kmeans import assign, kmeans
from aligner.metrics import phone_purity
from aligner.semantic import SemanticConfig, SemanticTokenizer, pool_frames


pytestmark = pytest.mark.usefixtures("single_thread")


def test_kmeans_finds_separated_clusters_and_reseeds_empty_ones():
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = torch.arange(3).repeat_interleave(50)
    x = centers[labels] + 0.3 * torch.randn(150, 2, generator=g)
    centroids, info = kmeans(x, 3, seed=1)
    idx, dist = assign(x, centroids)
    # each blob is one cluster (in some order) and the fit is tight
    assert sorted(torch.unique(idx[labels == b]).numel() for b in range(3)) == [1, 1, 1]
    assert torch.unique(idx).numel() == 3 and info["inertia"] < 0.5 and dist.mean() < 0.5
    again, _ = kmeans(x, 3, seed=1)
    assert torch.equal(again, centroids)  # seeded
    # two distinct points for four clusters: the emptied ones are re-seeded, nothing is NaN
    twins = torch.tensor([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    c, _ = kmeans(twins, 4, iterations=5)
    assert torch.isfinite(c).all()
    with pytest.raises(ValueError, match="at least 4 points"):
        kmeans(torch.zeros(3, 2), 4)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        kmeans(torch.zeros(3, 2), 1)


def test_phone_purity_on_a_hand_made_example():
    # cluster 0: a a b (majority a), cluster 1: b b (b), cluster 2: c (c) -> 5 of 6 frames
    result = phone_purity([0, 0, 0, 1, 1, 2], ["a", "a", "b", "b", "b", "c"])
    assert result["purity"] == pytest.approx(5 / 6) and result["frames"] == 6
    assert result["clusters"] == 3 and result["phones"] == 3
    # PNMI = I(phone; token) / H(phone), by hand
    h = -(2 / 6 * math.log(2 / 6) + 3 / 6 * math.log(3 / 6) + 1 / 6 * math.log(1 / 6))
    mi = (2 / 6 * math.log((2 / 6) / (3 / 6 * 2 / 6)) + 1 / 6 * math.log((1 / 6) / (3 / 6 * 3 / 6))
          + 2 / 6 * math.log((2 / 6) / (2 / 6 * 3 / 6)) + 1 / 6 * math.log((1 / 6) / (1 / 6 * 1 / 6)))
    assert result["pnmi"] == pytest.approx(mi / h)
    perfect = phone_purity([5, 5, 7, 9], ["x", "x", "y", "z"])
    assert perfect["purity"] == 1.0 and perfect["pnmi"] == pytest.approx(1.0)
    blind = phone_purity([1, 1, 1, 1], ["x", "x", "x", "y"])  # one token: the majority phone's share, no information
    assert blind["purity"] == 0.75 and blind["pnmi"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="one label per frame"):
        phone_purity([1, 2], ["x"])


def test_pool_frames_averages_valid_frames_per_group():
    hidden = torch.arange(1.0, 8.0)[None, :, None].repeat(2, 1, 1)  # frames 1..7, two items
    hidden[1, 5:] = 0  # the second item has 5 frames
    pooled, lens = pool_frames(hidden, torch.tensor([7, 5]), 2)
    assert lens.tolist() == [4, 3] and pooled.shape == (2, 4, 1)
    assert pooled[0, :, 0].tolist() == [1.5, 3.5, 5.5, 7.0]  # the last group has one frame
    assert pooled[1, :3, 0].tolist() == [1.5, 3.5, 5.0]


def small_aligner(seed: int = 0) -> PhoneAligner:
    torch.manual_seed(seed)
    return PhoneAligner(AlignerConfig(vocab_size=500, dim=32, conv_layers=1, layers=2, heads=2, attn_dim=16,
                                      text_conv_layers=1)).eval()


def test_speech_stages_match_the_encoder():
    model = small_aligner()
    mel, lens = torch.randn(2, 100, 37) - 2, torch.tensor([37, 22])
    local, context, ctx_lens = model.encode_speech(mel, lens)
    assert model.speech_stages() == ["front", "down", "layer1", "layer2", "context"]
    with torch.no_grad():
        front, front_lens = model.speech_hidden(mel, lens, "front")
        last, last_lens = model.speech_hidden(mel, lens, "context")
        mid, mid_lens = model.speech_hidden(mel, lens, "layer1")
    assert torch.equal(front, local) and torch.equal(front_lens, lens)
    assert torch.allclose(last, context, atol=1e-6) and torch.equal(last_lens, ctx_lens)
    assert mid.shape == (2, 19, 32) and (mid[1, 11:] == 0).all()
    with pytest.raises(ValueError, match="Unknown speech-encoder stage 'layer9'"):
        model.speech_hidden(mel, lens, "layer9")


def test_tokenizer_config_and_shapes():
    with pytest.raises(ValueError, match="pool must be even"):
        SemanticConfig(stage="layer1", pool=3)
    with pytest.raises(ValueError, match="clusters must be >= 2"):
        SemanticConfig(clusters=1)
    with pytest.raises(ValueError, match="not a stage of this aligner"):
        SemanticTokenizer(SemanticConfig(stage="layer4", dim=32), small_aligner())
    with pytest.raises(ValueError, match="aligner's width"):
        SemanticTokenizer(SemanticConfig(stage="layer1", dim=192), small_aligner())
    tok = SemanticTokenizer(SemanticConfig(stage="layer1", clusters=8, dim=32), small_aligner())
    tok.centroids.copy_(torch.randn(8, 32))
    tokens, lens = tok(torch.randn(2, 100, 41) - 2, torch.tensor([41, 17]))
    assert tokens.shape == (2, 11) and lens.tolist() == [11, 5] and tok.num_tokens(41) == 11
    assert (tokens[1, 5:] == -1).all() and tokens[0].min() >= 0 and tokens.max() < 8
    assert tok.frame_rate == pytest.approx(93.75 / 4)
    with pytest.raises(ValueError, match="'centroids' is \\[4, 32\\]"):
        tok.load_codebook({"centroids": torch.zeros(4, 32), "mean": torch.zeros(32), "std": torch.ones(32)})


@pytest.fixture(scope="module")
def fitted(tinyvoices, random_aligner, tmp_path_factory):
    """A tokenizer (8 clusters of layer1 of the random test aligner) fitted on 10 training cuts."""
    from tts.data.manifests import load_cuts
    from tts.data.semantic import fit_semantic_tokenizer

    root = tmp_path_factory.mktemp("semantic")
    load_cuts(tinyvoices, "train").subset(first=10).to_file(root / "cuts_train.jsonl.gz")
    summary = fit_semantic_tokenizer(root / "cuts_train.jsonl.gz", random_aligner, root / "tok", clusters=8,
                                     stage="layer1", max_tokens=1000, iterations=10, command="test")
    return root, summary


def _waves(tinyvoices, n: int = 3):
    from tts.data.manifests import load_cuts

    cuts = sorted(load_cuts(tinyvoices, "test_seen"), key=lambda c: c.duration)[:n]
    return [torch.from_numpy(c.load_audio()[0]) for c in cuts]


def test_fitted_folder_round_trips_and_tokenizes_deterministically(fitted, tinyvoices, random_aligner, tmp_path):
    from tts.checkpoint import read_checkpoint
    from tts.semantic import load_semantic_tokenizer, save_semantic_tokenizer, tokenize_audio

    root, summary = fitted
    assert summary["tokens"] == 1000 and summary["clusters"] == 8 and 1 <= summary["iterations"] <= 10
    info = read_checkpoint(root / "tok", family="semantic")
    assert info.dependencies["aligner"] == random_aligner.resolve() and info.meta["weights_dtype"] == "float16"
    assert info.config["stage"] == "layer1" and info.meta["training"]["steps"] == summary["iterations"]
    card = (root / "tok" / "README.md").read_text()
    assert "`test`" in card and "## Measured" in card and "Not measured yet" in card
    tok = load_semantic_tokenizer(root / "tok")
    waves = _waves(tinyvoices)
    first = tokenize_audio(tok, waves)
    assert all(torch.equal(a, b) for a, b in zip(first, tokenize_audio(tok, waves)))  # the same audio, the same tokens
    alone = [tokenize_audio(tok, [w])[0] for w in waves]
    assert all(torch.equal(a, b) for a, b in zip(first, alone))  # whatever else is in the batch
    assert [len(t) for t in first] == [tok.num_tokens(w.numel() // 256 + 1) for w in waves]
    assert len(torch.unique(torch.cat(first))) > 1
    # saved again (float16 -> float32 -> float16 is exact), loaded: identical buffers and tokens
    save_semantic_tokenizer(tmp_path / "again", tok, random_aligner)
    again = load_semantic_tokenizer(tmp_path / "again")
    assert all(torch.equal(a, b) for a, b in zip(tok.codebook_state().values(), again.codebook_state().values()))
    assert all(torch.equal(a, b) for a, b in zip(first, tokenize_audio(again, waves)))
    # stored in float32, the tokens are exactly those of the tokenizer in memory
    tok.centroids.add_(0.001)
    save_semantic_tokenizer(tmp_path / "f32", tok, random_aligner, dtype=None)
    assert all(torch.equal(a, b) for a, b in zip(tokenize_audio(tok, waves),
                                                 tokenize_audio(load_semantic_tokenizer(tmp_path / "f32"), waves)))
    from tts.errors import TTSError

    with pytest.raises(TTSError, match="reads 24000 Hz audio, got 16000 Hz"):
        tokenize_audio(tok, waves, sample_rate=16000)


def test_tokenizer_folder_errors(fitted, random_aligner, tmp_path):
    import os
    import shutil

    import yaml

    from tts.checkpoint import CheckpointError
    from tts.semantic import load_semantic_tokenizer

    root, _ = fitted
    with pytest.raises(CheckpointError, match="'aligner' model, but a 'semantic' model is needed"):
        load_semantic_tokenizer(random_aligner)
    broken = tmp_path / "broken"
    shutil.copytree(root / "tok", broken)
    doc = yaml.safe_load((broken / "model.yaml").read_text())
    doc["dependencies"] = {}
    (broken / "model.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(CheckpointError, match="names no aligner"):
        load_semantic_tokenizer(broken)
    doc["dependencies"] = {"aligner": os.path.relpath(random_aligner, broken)}
    doc["config"]["dim"] = 64
    (broken / "model.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(CheckpointError, match="does not fit its aligner"):
        load_semantic_tokenizer(broken)


def test_semantic_features_beside_the_codes(fitted, codes_setup):
    """`--kind semantic` over a code manifest: cuts keep their codes and gain tokens, one per 4 code frames."""
    from tts.data.dataset import TTSDataset
    from tts.data.features import prepare_features
    from tts.data.manifests import DataError, load_cuts

    root, _ = fitted
    codes_root, _ = codes_setup
    summary = prepare_features(codes_root / "codes" / "cuts_test_seen_codes.jsonl.gz", root / "sem", kind="semantic",
                               tokenizer=root / "tok", batch_duration=20)
    assert summary["manifest"].endswith("cuts_test_seen_codes_semantic.jsonl.gz")
    cuts = load_cuts(summary["manifest"]).to_eager()
    cut = cuts[0]
    assert cut.has_custom("codes") and cut.has_custom("semantic")
    stored = cut.semantic.load()
    assert stored.dtype.name == "int16" and stored.shape[1] == 1
    assert stored.shape[0] == -(-(cut.recording.num_samples // 256 + 1) // 4)
    assert cut.semantic.frame_shift == pytest.approx(4 * 256 / 24000)
    batch = TTSDataset(features="codes", semantic=True)[cuts.subset(first=4)]
    assert torch.equal(batch["semantic_lens"], -(-batch["code_lens"] // 4))
    assert batch["semantic"].max() < 8 and (batch["semantic"][:, 0] >= 0).all()
    with pytest.raises(DataError, match="no stored semantic tokens"):
        TTSDataset(features="codes", semantic=True)[load_cuts(codes_root / "codes" / "cuts_test_seen_codes.jsonl.gz")
                                                    .subset(first=1)]
    with pytest.raises(DataError, match="needs --tokenizer"):
        prepare_features(codes_root / "codes" / "cuts_test_seen_codes.jsonl.gz", root / "x", kind="semantic")


def test_commands_fit_and_score_a_tokenizer(aligned_codes_setup, tinyvoices, random_aligner, tmp_path, capsys):
    from tts.cli import main

    aligned, _ = aligned_codes_setup
    dev = aligned / "cuts_test_seen_aligned.jsonl.gz"
    out = tmp_path / "tok"
    assert main(["prepare", "semantic-tokenizer", "--cuts", str(aligned / "cuts_train_aligned.jsonl.gz"),
                 "--aligner", str(random_aligner), "--clusters", "8", "--stage", "front", "--max-tokens", "1500",
                 "--iterations", "5", "--eval-cuts", str(dev), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["stage"] == "front" and 0 < summary["purity"]["frame"]["purity"] <= 1
    card = (out / "README.md").read_text()
    assert "tts prepare semantic-tokenizer --cuts" in card and "--clusters 8" in card and "--eval-cuts" in card
    assert f"tts eval semantic --tokenizer tok --cuts {dev}" in card and "| mel frame (93.75 Hz) |" in card
    assert main(["eval", "semantic", "--tokenizer", str(out), "--cuts", str(dev), "--out", str(tmp_path / "e1")]) == 0
    scored = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert scored["frame"] == summary["purity"]["frame"]  # the card's figure is what the command measures
    assert main(["eval", "semantic", "--cuts", str(aligned / "codes" / "cuts_test_seen_aligned_codes.jsonl.gz"),
                 "--out", str(tmp_path / "e2")]) == 0
    baseline = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert baseline["tokenizer"].startswith("codebook 1") and "token" not in baseline
    assert json.loads((tmp_path / "e2" / "purity.json").read_text())["frame"] == baseline["frame"]
    # one-line errors
    assert main(["prepare", "semantic-tokenizer", "--cuts", str(aligned / "cuts_train_aligned.jsonl.gz"),
                 "--aligner", str(random_aligner), "--clusters", "5000", "--out", str(tmp_path / "t2")]) == 2
    assert "fewer --clusters" in capsys.readouterr().err
    assert main(["prepare", "semantic-tokenizer", "--cuts", str(aligned / "cuts_train_aligned.jsonl.gz"),
                 "--aligner", str(random_aligner), "--stage", "layer7", "--out", str(tmp_path / "t3")]) == 2
    assert "not a stage of this aligner" in capsys.readouterr().err
    assert main(["prepare", "semantic-tokenizer", "--cuts", str(dev), "--aligner", str(random_aligner),
                 "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["eval", "semantic", "--cuts", str(tinyvoices / "cuts_test_seen.jsonl.gz"), "--out",
                 str(tmp_path / "e3")]) == 2
    assert "no stored codes" in capsys.readouterr().err
    assert main(["eval", "semantic", "--tokenizer", str(out), "--cuts", str(tinyvoices / "cuts_test_seen.jsonl.gz"),
                 "--out", str(tmp_path / "e4")]) == 2
    assert "no phone alignment" in capsys.readouterr().err
