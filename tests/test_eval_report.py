"""Evaluator, summary and report writers (tts.eval.report, writers, plots).

Most tests plug stub models into the Evaluator (it takes any object with
``transcribe`` / ``embed`` / ``score``), so the bookkeeping is checked in
milliseconds; one test runs the real offline models end to end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts.eval import (
    DNSMOSScore,
    EvalError,
    EvalItem,
    Evaluator,
    compare_markdown,
    load_manifest,
    summarize,
)

FLITE = shutil.which("flite")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class StubASR:
    """Returns a fixed transcript per clip length (so each file gets its own)."""

    model_name = "stub"

    def __init__(self, by_len: dict[int, str]):
        self.by_len = by_len

    def transcribe(self, wav, sample_rate):
        assert sample_rate == 16000 and wav.dtype == np.float32
        return self.by_len[len(wav)]


class StubSpeaker:
    name = "stub"

    def embed(self, audio, sample_rate=None):
        from tts.eval.inputs import to_mono_numpy

        wav = to_mono_numpy(audio, sample_rate)
        return np.array([1.0, wav.std() * 10], dtype=np.float32)


class StubMOS:
    personalized = False

    def score(self, wav, sample_rate):
        return DNSMOSScore(ovrl=3.0, sig=3.5, bak=4.0, p808=3.2)


def _tone(path: Path, seconds: float, freq: float) -> Path:
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    return path


@pytest.fixture
def items(tmp_path) -> list[EvalItem]:
    a = _tone(tmp_path / "a.wav", 1.0, 200)
    b = _tone(tmp_path / "b.wav", 1.5, 300)
    p = _tone(tmp_path / "p.wav", 2.0, 250)
    ref = _tone(tmp_path / "ref.wav", 1.25, 220)
    return [
        EvalItem("a", a, "red green blue black", p, reference=ref, rtf=0.5),
        EvalItem("b", b, "cats dogs", p, rtf=0.25),
    ]


@pytest.fixture
def evaluator() -> Evaluator:
    asr = StubASR({16000: "red green blue", 24000: "cats dogs", 20000: "Red, green, blue, black!"})
    return Evaluator(asr=asr, speaker=StubSpeaker(), dnsmos=StubMOS())


def test_rows_and_summary(evaluator, items):
    seen = []
    report = evaluator.evaluate(items, progress=lambda done, total, item_id: seen.append((done, total, item_id)))
    assert seen == [(1, 2, "a"), (2, 2, "b")]
    a, b = report.rows
    assert a["transcript"] == "red green blue" and a["wer"] == pytest.approx(0.25)
    assert a["reference_transcript"] == "Red, green, blue, black!" and a["ref_wer"] == 0.0
    assert b["wer"] == 0.0 and b["ref_wer"] is None and b["sim_ref"] is None
    assert a["sim"] is not None and a["sim_ref"] is not None and a["dnsmos_ovrl"] == 3.0
    assert a["duration"] == 1.0 and a["rtf"] == 0.5
    s = report.summary
    assert s["items"] == 2 and s["references"] == 1 and s["audio_seconds"] == 2.5
    assert s["wer"] == pytest.approx(1 / 6)  # corpus: 1 error over 6 words
    assert s["wer_mean"] == pytest.approx(0.125)  # mean of 0.25 and 0
    assert s["ref_wer"] == 0.0 and s["rtf"] == pytest.approx(0.375) and s["dnsmos_ovrl"] == 3.0
    assert s["missed_by_quarter"] == [0.0, 0.0, 0.0, 1.0]  # "black", the last of a's four words
    assert s["ref_missed_by_quarter"] == [0.0, 0.0, 0.0, 0.0]
    assert report.config["asr"]["model"] == "stub" and report.config["speaker_encoder"] == "stub"
    assert summarize(report.rows) == s  # the summary can be recomputed from the rows


def test_metrics_can_be_switched_off(items):
    report = Evaluator(asr=False, speaker=False, dnsmos=False).evaluate(items)
    row = report.rows[0]
    assert row["transcript"] is None and row["sim"] is None and row["dnsmos_ovrl"] is None
    assert report.summary["wer"] is None and report.summary["sim"] is None
    assert report.config["asr"] is None
    md = report.to_markdown()
    assert "WER" not in md.split("## Items")[0]  # no column for what was not computed


def test_waveform_items(evaluator, tmp_path):
    wav = (0.1 * np.sin(np.arange(32000) / 5)).astype(np.float32)  # 1 s at 32 kHz -> 16000 samples
    item = EvalItem("w", wav, "red green blue", _tone(tmp_path / "p.wav", 2.0, 250), sample_rate=32000)
    (row,) = evaluator.evaluate([item]).rows
    assert row["audio"] == "ndarray[32000]" and row["duration"] == 1.0 and row["wer"] == 0.0


def test_item_errors_name_the_item(evaluator, items, tmp_path):
    items[1].audio = tmp_path / "gone.wav"
    with pytest.raises(EvalError, match=r"Item 'b':.*gone.wav.*does not exist"):
        evaluator.evaluate(items)
    with pytest.raises(EvalError, match="Nothing to evaluate"):
        evaluator.evaluate([])
    with pytest.raises(EvalError, match="ids must be unique; repeated: a"):
        evaluator.evaluate([items[0], items[0]])


def test_writers_produce_valid_json_markdown_and_pngs(evaluator, items, tmp_path):
    report = evaluator.evaluate(items)
    report.rows[1]["sim"] = float("nan")  # NaN must not leak into JSON
    paths = report.write(tmp_path / "out", items, mel_items=2)
    assert set(paths) == {"json", "markdown", "distributions", "mels"}
    data = json.loads(paths["json"].read_text())  # strict JSON: NaN would fail below
    assert set(data) == {"summary", "config", "rows"}
    assert data["rows"][1]["sim"] is None and data["summary"]["items"] == 2
    assert "NaN" not in paths["json"].read_text()
    md = paths["markdown"].read_text()
    assert md.startswith("# Evaluation")
    assert "| model | items | WER (%) | WER GT (%) | SIM | SIM GT | DNSMOS OVRL" in md
    assert "| a | 25.00 | 0.00 |" in md and "| b | 0.00 | – |" in md
    for key in ("distributions", "mels"):
        raw = paths[key].read_bytes()
        assert raw.startswith(PNG_MAGIC) and len(raw) > 10_000
    import matplotlib.image

    height, width, _ = matplotlib.image.imread(paths["mels"]).shape
    assert width > height  # two rows of three panels


def test_compare_markdown_one_row_per_model(evaluator, items):
    report = evaluator.evaluate(items)
    table = compare_markdown({"tiny-flow": report, "tiny-valle": report})
    lines = table.splitlines()
    assert lines[0].startswith("| model | items | WER (%)") and len(lines) == 4
    assert lines[2].startswith("| tiny-flow | 2 | 16.67 | 0.00 |")


def test_writers_refuse_a_missing_folder(evaluator, items, tmp_path):
    report = evaluator.evaluate(items)
    with pytest.raises(EvalError, match="does not exist. Create it first"):
        report.write_json(tmp_path / "missing" / "r.json")


def test_end_to_end_with_the_offline_models(tmp_path):
    """Real Whisper-base, Resemblyzer and DNSMOS on a manifest folder (about 15 s)."""
    if not FLITE:
        pytest.skip("flite is needed to synthesize test speech")
    texts = {
        "gen": ("slt", "The birch canoe slid on the smooth planks."),
        "ref": ("slt", "The birch canoe slid on the smooth planks."),
        "prompt": ("slt", "Please call Stella and ask her to bring these things with her from the store."),
        "other": ("awb", "The birch canoe slid on the smooth planks."),
    }
    for name, (voice, text) in texts.items():
        subprocess.run([FLITE, "-voice", voice, "-t", text, "-o", str(tmp_path / f"{name}.wav")], check=True)
    lines = [
        {
            "id": "same-voice",
            "audio": "gen.wav",
            "text": texts["gen"][1],
            "prompt": "prompt.wav",
            "reference": "ref.wav",
        },
        {"id": "other-voice", "audio": "other.wav", "text": texts["other"][1], "prompt": "prompt.wav"},
    ]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    items = load_manifest(tmp_path / "manifest.jsonl")
    from conftest import REPO

    from tts.eval import WhisperASR

    asr = WhisperASR(device="cpu", cache_dir=REPO / ".cache" / "test-models")
    report = Evaluator(asr=asr, device="cpu").evaluate(items)
    same, other = report.rows
    assert same["wer"] <= 0.4 and same["ref_wer"] <= 0.4  # Whisper-base on 16 kHz flite
    assert same["sim"] > 0.75 and same["sim_ref"] > 0.75
    assert other["sim"] < same["sim"] - 0.2
    assert 1.0 <= same["dnsmos_ovrl"] <= 5.0
    paths = report.write(tmp_path / "eval", items)
    assert json.loads(paths["json"].read_text())["config"]["speaker_encoder"] == "resemblyzer"


def test_items_in_other_languages_groups_and_the_sim_floor(tmp_path, monkeypatch):
    """Each item is heard by a Whisper forced to its own language and normalized in it; the
    corpus WER sums all languages; sim_other scores the ground truth against another
    speaker's prompt; a summary per group."""
    import tts.eval.report as report

    heard_in = []

    class FakeWhisper:
        model_name = "fake"

        def __init__(self, model=None, device=None, language="en"):
            self.language = language

        def transcribe(self, wav, sample_rate):
            heard_in.append(self.language)
            return {"en": "the cat sat", "fr": "le chat"}[self.language]

    monkeypatch.setattr(report, "WhisperASR", FakeWhisper)
    sr = 16000
    files = {}
    for name, amp in (("gen_en", 0.1), ("gen_fr", 0.2), ("ref", 0.3), ("prompt", 0.3), ("other", 0.05)):
        files[name] = tmp_path / f"{name}.wav"
        sf.write(str(files[name]), amp * np.sin(np.arange(sr) * 0.05), sr)
    items = [
        EvalItem("a", files["gen_en"], "the cat ran", files["prompt"], reference=files["ref"],
                 meta={"language": "en", "group": "neural", "other_prompt": str(files["other"])}),
        EvalItem("b", files["gen_fr"], "le chat noir", files["prompt"], reference=files["ref"],
                 meta={"language": "fr", "group": "real person", "other_prompt": str(files["other"])}),
    ]
    rep = Evaluator(asr=None, speaker=StubSpeaker(), dnsmos=False, language="en").evaluate(items)
    assert set(heard_in) == {"en", "fr"}
    by_id = {r["id"]: r for r in rep.rows}
    assert by_id["a"]["wer"] == pytest.approx(1 / 3) and by_id["b"]["wer"] == pytest.approx(1 / 3)
    assert rep.summary["wer"] == pytest.approx(2 / 6)  # 2 errors over 6 reference words
    assert rep.summary["missed_by_quarter"] is None  # two languages: no single word list to slice
    assert by_id["a"]["sim_other"] is not None and by_id["a"]["sim_other"] < by_id["a"]["sim_ref"]
    assert set(rep.summary["groups"]) == {"neural", "real person"}
    assert rep.summary["groups"]["real person"]["wer"] == pytest.approx(1 / 3)
    md = rep.to_markdown()
    assert "By source group" in md and "SIM other" in md


def test_cases_carry_language_group_and_another_speakers_case():
    from types import SimpleNamespace

    from tts.eval.cases import build_cases

    def cut(cid, speaker, kind):
        sup = SimpleNamespace(speaker=speaker, text=f"text {cid}", language="fr-fr", custom={"kind": kind})
        return SimpleNamespace(id=cid, duration=4.0, supervisions=[sup])

    cases = build_cases([cut("a1", "A", "real person"), cut("a2", "A", "real person"), cut("b1", "B", "neural"),
                         cut("b2", "B", "neural")])
    by_id = {c.id: c for c in cases}
    assert by_id["a1"].language == "fr-fr" and by_id["b1"].group == "neural"
    for c in cases:
        assert by_id[c.other].speaker != c.speaker
