"""The model-facing commands end to end with a random tiny flow model: synth, edit, eval, models."""

import json

import pytest
import soundfile as sf

from conftest import DEMO_PROMPT, REPO
from tts.cli import main

PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()


def test_synth_writes_audio(random_flow, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["synth", "Hello from the command line.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                 "--model", str(random_flow), "-o", str(out), "--seed", "1", "--nfe", "4"]) == 0
    info = sf.info(out)
    assert info.samplerate == 24000 and info.frames > 24000 * 0.5
    assert "RTF" in capsys.readouterr().out
    # the existing file is kept unless --overwrite
    before = out.read_bytes()
    assert main(["synth", "Again.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                 "--model", str(random_flow), "-o", str(out)]) == 2
    assert out.read_bytes() == before


def test_synth_rejects_options_of_other_models(random_flow, tmp_path, capsys):
    assert main(["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT, "--model",
                 str(random_flow), "-o", str(tmp_path / "o.wav"), "--temperature", "0.8"]) == 2
    assert "does not take --temperature" in capsys.readouterr().err


def test_synth_jsonl_batch(random_flow, tmp_path):
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join([
        json.dumps({"text": "First line.", "output": "a.wav", "seed": 1}),
        json.dumps({"text": "Second line, default name."}),
    ]) + "\n")
    assert main(["synth", "--jsonl", str(batch), "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                 "--model", str(random_flow), "--nfe", "2"]) == 0
    assert (tmp_path / "a.wav").is_file() and (tmp_path / "0002.wav").is_file()


def test_synth_jsonl_is_checked_before_any_work(random_flow, tmp_path, capsys):
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"text": "ok", "output": "x.wav"}) + "\n" + json.dumps({"output": "y.wav"}) + "\n")
    assert main(["synth", "--jsonl", str(batch), "--prompt", str(DEMO_PROMPT), "--model", str(random_flow)]) == 2
    assert 'line 2: each line needs a "text"' in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_edit_command(random_flow, tmp_path):
    out = tmp_path / "edited.wav"
    assert main(["edit", str(DEMO_PROMPT), "--transcript", PROMPT_TEXT, "--new-transcript",
                 PROMPT_TEXT.replace("smooth", "rough"), "--start", "1.6", "--end", "2.0", "--model", str(random_flow),
                 "-o", str(out), "--nfe", "2"]) == 0
    assert sf.info(out).frames > 0


def test_edit_needs_both_ends(random_flow, tmp_path, capsys):
    assert main(["edit", str(DEMO_PROMPT), "--transcript", "a b", "--new-transcript", "a c", "--start", "1",
                 "--model", str(random_flow), "-o", str(tmp_path / "e.wav")]) == 2
    assert "--start and --end" in capsys.readouterr().err


def test_eval_ground_truth_and_model(tinyvoices, random_flow, tmp_path, capsys):
    cuts = str(tinyvoices / "cuts_test_unseen.jsonl.gz")
    assert main(["eval", "--cuts", cuts, "--limit", "2", "--no-dnsmos", "--out", str(tmp_path / "gt")]) == 0
    gt = json.loads((tmp_path / "gt" / "report.json").read_text())
    assert gt["summary"]["items"] == 2 and gt["summary"]["wer"] is not None and gt["summary"]["sim"] > 0.5
    assert main(["eval", "--model", str(random_flow), "--cuts", cuts, "--limit", "2", "--no-dnsmos", "--nfe", "2",
                 "--out", str(tmp_path / "m")]) == 0
    rep = json.loads((tmp_path / "m" / "report.json").read_text())
    rows = rep["rows"]
    assert len(rows) == 2 and all(r["rtf"] > 0 and r["ref_wer"] is not None for r in rows)
    assert (tmp_path / "m" / "report.md").is_file() and (tmp_path / "m" / "mels.png").is_file()
    # the same folder again needs --overwrite; a manifest re-evaluates without a model
    assert main(["eval", "--cuts", cuts, "--limit", "2", "--out", str(tmp_path / "m")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["eval", "--manifest", str(tmp_path / "m" / "manifest.jsonl"), "--no-dnsmos",
                 "--out", str(tmp_path / "again")]) == 0


def test_eval_codec_with_a_vocoder(tinyvoices, random_flow, tmp_path):
    vocoder = random_flow.parent / "tiny-vocos"
    assert main(["eval", "codec", "--vocoder", str(vocoder), "--cuts", str(tinyvoices / "cuts_test_unseen.jsonl.gz"),
                 "--limit", "1", "--no-dnsmos", "--out", str(tmp_path / "c")]) == 0
    summary = json.loads((tmp_path / "c" / "report.json").read_text())["summary"]
    assert summary["mel_l1"] > 0 and summary["decode_rtf"] > 0
    # the original is prompt and reference at once: no "SIM of ground truth" (it would be 1.0)
    rows = json.loads((tmp_path / "c" / "report.json").read_text())["rows"]
    assert summary["sim"] is not None and summary["sim_ref"] is None and rows[0]["sim_ref"] is None


def test_eval_errors(capsys, tmp_path):
    assert main(["eval", "--out", str(tmp_path / "x")]) == 2
    assert "--cuts" in capsys.readouterr().err
    assert main(["eval", "codec", "--cuts", "x", "--out", str(tmp_path / "x")]) == 2
    assert "--codec or --vocoder" in capsys.readouterr().err


def test_models_lists_and_shows_cards(random_flow, capsys, monkeypatch):
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-flow" in out and "flow" in out and "tiny-vocos" in out
    assert main(["models", "tiny-flow"]) == 0
    assert "random" in capsys.readouterr().out
