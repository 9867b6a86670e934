from dataclasses import dataclass

import pytest
import torch
import yaml

from text_frontend import PhonemeVocab
from tts.checkpoint import (
    CheckpointError,
    build_config,
    load_state_dict,
    read_checkpoint,
    resolve,
    save_checkpoint,
)


@dataclass
class TinyConfig:
    dim: int = 4
    layers: int = 2


def _save(tmp_path, name="ck", **kw):
    sd = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(2)}
    return save_checkpoint(tmp_path / name, "toy", TinyConfig(dim=8), sd, **kw), sd


def test_round_trip(tmp_path):
    dep = tmp_path / "vocoder"
    dep.mkdir()
    path, sd = _save(tmp_path, vocab=PhonemeVocab.default(), dependencies={"vocoder": dep}, card="# Toy\n",
                     meta={"steps": 10})
    info = read_checkpoint(path, family="toy")
    assert info.family == "toy" and info.meta["steps"] == 10
    assert build_config(TinyConfig, info) == TinyConfig(dim=8)
    assert info.dependencies["vocoder"] == dep.resolve()
    assert yaml.safe_load((path / "model.yaml").read_text())["dependencies"] == {"vocoder": "../vocoder"}
    loaded = load_state_dict(info)
    assert torch.equal(loaded["w"], sd["w"]) and torch.equal(loaded["b"], sd["b"])
    assert PhonemeVocab.load(info.vocab_path) == PhonemeVocab.default()
    assert (path / "README.md").read_text() == "# Toy\n"


def test_half_precision_storage(tmp_path):
    sd = {"w": torch.randn(64, 64), "steps": torch.tensor([3, 4])}
    full = save_checkpoint(tmp_path / "full", "toy", TinyConfig(), sd)
    half = save_checkpoint(tmp_path / "half", "toy", TinyConfig(), sd, dtype="float16")
    assert (half / "model.safetensors").stat().st_size < 0.6 * (full / "model.safetensors").stat().st_size
    info = read_checkpoint(half, family="toy")
    assert info.meta["weights_dtype"] == "float16"
    loaded = load_state_dict(info)
    # computed in float32 again; integers untouched; values within float16 rounding
    assert loaded["w"].dtype == torch.float32 and torch.equal(loaded["steps"], sd["steps"])
    torch.testing.assert_close(loaded["w"], sd["w"], rtol=1e-3, atol=1e-4)
    with pytest.raises(CheckpointError, match="beyond the range of float16"):
        save_checkpoint(tmp_path / "big", "toy", TinyConfig(), {"w": torch.tensor([1e6])}, dtype="float16")
    with pytest.raises(CheckpointError, match="Unknown storage dtype"):
        save_checkpoint(tmp_path / "odd", "toy", TinyConfig(), sd, dtype="int8")
    assert not (tmp_path / "big").exists() and not (tmp_path / "odd").exists()


def test_refuses_to_overwrite(tmp_path):
    path, _ = _save(tmp_path)
    before = (path / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="not empty"):
        _save(tmp_path)
    assert (path / "model.safetensors").read_bytes() == before
    _save(tmp_path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]  # no temporary folder left


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(CheckpointError, match="neither a shipped model"):
        read_checkpoint(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no model.yaml"):
        read_checkpoint(tmp_path / "empty")
    path, _ = _save(tmp_path)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="incomplete"):
        read_checkpoint(path)


def test_corrupt_weights_fail_the_checksum(tmp_path):
    path, _ = _save(tmp_path)
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(path)


def test_garbage_weights_are_a_clear_error(tmp_path):
    path, _ = _save(tmp_path)
    (path / "model.safetensors").write_bytes(b"not safetensors")
    info = read_checkpoint(path, verify=False)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_state_dict(info)


def test_wrong_family(tmp_path):
    path, _ = _save(tmp_path)
    with pytest.raises(CheckpointError, match="holds a 'toy' model"):
        read_checkpoint(path, family=("valle", "flow"))


def test_bad_yaml_and_unknown_keys(tmp_path):
    path, _ = _save(tmp_path)
    (path / "model.yaml").write_text("format: 1\nfamily: toy\nconfig: {dim: 8, heads: 3}\n")
    with pytest.raises(CheckpointError, match="heads"):
        build_config(TinyConfig, read_checkpoint(path))
    (path / "model.yaml").write_text("{ not: yaml: at all")
    with pytest.raises(CheckpointError, match="not valid YAML"):
        read_checkpoint(path)


def test_missing_dependency(tmp_path):
    dep = tmp_path / "codec"
    dep.mkdir()
    path, _ = _save(tmp_path, dependencies={"codec": dep})
    dep.rmdir()
    with pytest.raises(CheckpointError, match="needs its codec"):
        read_checkpoint(path)


def test_resolve_shipped_names(tmp_path, monkeypatch):
    _save(tmp_path, name="tiny-toy")
    monkeypatch.setenv("TTS_CHECKPOINTS", str(tmp_path))
    assert resolve("tiny-toy") == tmp_path / "tiny-toy"
    with pytest.raises(CheckpointError, match="tiny-toy"):
        resolve("tiny-other")


def test_set_languages_rewrites_only_that_entry(tmp_path):
    from tts.model_yaml import set_languages

    path = save_checkpoint(tmp_path / "m", "toy", {"dim": 8}, {"w": torch.zeros(2)})
    before = yaml.safe_load((path / "model.yaml").read_text())
    set_languages(path, ["en", "fr"])
    after = yaml.safe_load((path / "model.yaml").read_text())
    assert read_checkpoint(path).languages == ("en", "fr")
    assert {k: v for k, v in after.items() if k != "languages"} == before
    with pytest.raises(CheckpointError, match="languages"):
        set_languages(path, [])
