"""scripts/half_storage.py: a model folder copied with float16 weights, everything else kept."""

import runpy

import pytest
import torch
import yaml
from conftest import REPO

from text_frontend import PhonemeVocab
from tts.checkpoint import CheckpointError, load_state_dict, read_checkpoint, save_checkpoint

half_storage = runpy.run_path(str(REPO / "scripts" / "half_storage.py"))
SCRIPT_MAIN, HALF = half_storage["main"], half_storage["half_storage"]


@pytest.fixture()
def folder(tmp_path):
    dep = tmp_path / "codec"
    dep.mkdir()
    sd = {"w": torch.randn(32, 32), "steps": torch.tensor([3, 4])}
    src = save_checkpoint(tmp_path / "models" / "src", "valle", {"dim": 32}, sd, vocab=PhonemeVocab.default(),
                          dependencies={"codec": dep}, card="# Card\n", meta={"training": {"steps": 7}})
    doc = yaml.safe_load((src / "model.yaml").read_text())
    doc["options"] = {"cfg": 1.0, "nar_decode": "expected"}
    (src / "model.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return src, sd, dep


def test_copy_keeps_everything_but_the_precision(folder, tmp_path):
    src, sd, dep = folder
    out = HALF(src, tmp_path / "elsewhere" / "half")
    a, b = read_checkpoint(src), read_checkpoint(out)
    assert b.meta["weights_dtype"] == "float16" and "weights_dtype" not in a.meta
    assert (b.family, b.config, b.options, b.meta["training"]) == (a.family, a.config, a.options, a.meta["training"])
    assert b.dependencies == {"codec": dep.resolve()}  # re-pointed from the new place
    assert (out / "README.md").read_text() == "# Card\n" and PhonemeVocab.load(b.vocab_path) == PhonemeVocab.default()
    assert (out / "model.safetensors").stat().st_size < 0.6 * (src / "model.safetensors").stat().st_size
    loaded = load_state_dict(b)
    assert loaded["w"].dtype == torch.float32 and torch.equal(loaded["w"], sd["w"].half().float())
    assert torch.equal(loaded["steps"], sd["steps"])


def test_errors_leave_folders_alone(folder, tmp_path, capsys):
    src, _, _ = folder
    before = (src / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="is the source folder"):
        HALF(src, src)
    out = HALF(src, tmp_path / "half")
    with pytest.raises(CheckpointError, match="exists and is not empty"):
        HALF(src, out)
    with pytest.raises(CheckpointError, match="already stored in float16"):
        HALF(out, tmp_path / "again")
    assert SCRIPT_MAIN([str(tmp_path / "missing"), str(tmp_path / "x")]) == 2
    assert "error:" in capsys.readouterr().err
    assert (src / "model.safetensors").read_bytes() == before
