import json
import warnings

import pytest

from text_frontend import PhonemeVocab
from text_frontend.symbols import RESERVED


def test_reserved_ids():
    v = PhonemeVocab.default()
    assert v.symbols[:5] == ["<pad>", "<bos>", "<eos>", "<unk>", " "]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id, v.space_id) == (0, 1, 2, 3, 4)
    assert v.encode([" "]) == [v.space_id]


def test_default_ids_are_stable():
    # These ids are a contract with every saved checkpoint: the default inventory
    # may only grow at the end. If this fails, you reordered text_frontend/symbols.py.
    v = PhonemeVocab.default()
    assert v.encode([";", ",", ".", "ˈ", "ˌ", "a", "z", "0", "æ", "ɐ", "ə"]) == [5, 7, 8, 28, 29, 30, 55, 56, 66, 80, 89]
    assert len(v) == 500
    assert PhonemeVocab.default() == v


def test_json_round_trip(tmp_path):
    v = PhonemeVocab.default()
    v.extend(["tʃ", "aɪ"])
    path = tmp_path / "vocab.json"
    v.save(path)
    w = PhonemeVocab.load(path)
    assert w == v
    assert w.encode(["tʃ", "aɪ", "a"]) == v.encode(["tʃ", "aɪ", "a"])
    assert PhonemeVocab.from_json(v.to_json()) == v
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "phoneme-vocab"


def test_unknown_symbols_map_to_unk_with_one_warning_each():
    v = PhonemeVocab(["a", "b"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = v.encode(["a", "☃", "b", "☃", "☂", "☃"])
    assert ids == [5, 3, 6, 3, 3, 3]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "'☃'" in messages[0] and "'☂'" in messages[1]


def test_extend_appends_without_renumbering():
    v = PhonemeVocab(["a", "b"])
    before = v.encode(["a", "b"])
    assert v.extend(["c", "a", "d"]) == ["c", "d"]
    assert v.encode(["a", "b", "c", "d"]) == before + [7, 8]


def test_build_is_deterministic_and_keeps_base_ids():
    base = PhonemeVocab(["a"])
    seqs = [["x", "a", "tʃ"], ["b", "x"]]
    v1 = PhonemeVocab.build(seqs, base=base)
    v2 = PhonemeVocab.build(list(reversed(seqs)), base=base)
    assert v1 == v2
    assert v1.symbols == list(RESERVED) + ["a", "b", "tʃ", "x"]
    assert "x" in PhonemeVocab.build(seqs) and len(PhonemeVocab.build(seqs)) == len(PhonemeVocab.default()) + 1  # only "tʃ" is new


def test_decode():
    v = PhonemeVocab(["a", "b"])
    assert v.decode([0, 5, 6, 4]) == ["<pad>", "a", "b", " "]
    with pytest.raises(ValueError, match="outside"):
        v.decode([7])


@pytest.mark.parametrize(
    "payload,match",
    [
        ("not json", "not valid JSON"),
        ('{"format": "other"}', "not a phoneme vocabulary"),
        ('{"format": "phoneme-vocab", "version": 99, "symbols": []}', "version"),
        ('{"format": "phoneme-vocab", "version": 1, "symbols": ["a"]}', "corrupt"),
        ('{"format": "phoneme-vocab", "version": 1, "symbols": ["<pad>", "<bos>", "<eos>", "<unk>", " ", "a", "a"]}', "twice"),
    ],
)
def test_corrupt_vocab_files_are_clear_errors(payload, match):
    with pytest.raises(ValueError, match=match):
        PhonemeVocab.from_json(payload)


def test_missing_vocab_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PhonemeVocab.load(tmp_path / "nope.json")


def test_bad_symbol_rejected():
    with pytest.raises(ValueError, match="non-empty"):
        PhonemeVocab(["a", ""])
