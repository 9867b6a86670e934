"""The `tts` command: help, the sub-command skeleton, and clear errors (no tracebacks)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import DEMO_PROMPT, REPO, tone
from tts.checkpoint import shipped_models
from tts.cli import main

SUBCOMMANDS = ["synth", "edit", "web", "eval", "prepare", "train", "bench", "models", "phonemize", "languages"]


def run_cli(*args, stdin=None):
    """Run the installed `tts` console script (falls back to `python -m tts.cli`)."""
    exe = shutil.which("tts", path=os.path.dirname(sys.executable))
    cmd = [exe, *args] if exe else [sys.executable, "-m", "tts.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=stdin, cwd=REPO, timeout=120)


def test_help_lists_subcommands():
    res = run_cli("--help")
    assert res.returncode == 0
    for name in SUBCOMMANDS:
        assert name in res.stdout
    assert "Coqui" in res.stdout


def test_console_script_is_installed():
    assert shutil.which("tts", path=os.path.dirname(sys.executable)), "run `make setup` (pip install -e .)"


def test_train_without_a_config_says_how_to_give_one():
    res = run_cli("train", "maskgct")
    assert res.returncode == 2
    assert "--config" in res.stderr and "tiny" in res.stderr and "Traceback" not in res.stderr


def test_unknown_subcommand_is_a_usage_error():
    res = run_cli("fly")
    assert res.returncode == 2 and "invalid choice" in res.stderr


def test_synth_dry_run_on_demo_prompt(tmp_path, capsys):
    out = tmp_path / "out.wav"
    code = main(["synth", "Hello there, 2 worlds.", "--prompt", str(DEMO_PROMPT), "-o", str(out), "--dry-run"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Hello there, two worlds." in printed and "Dry run" in printed
    assert not out.exists()


def test_synth_with_a_missing_model_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTS_CHECKPOINTS", str(tmp_path / "none"))
    code = main(["synth", "Hello.", "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav")])
    assert code == 2
    err = capsys.readouterr().err
    assert "No model 'tiny-flow'" in err and "Traceback" not in err
    assert not (tmp_path / "o.wav").exists()


def test_synth_reads_text_from_stdin(tmp_path):
    res = run_cli("synth", "-", "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav"), "--dry-run",
                  stdin="Text from standard input.")
    assert res.returncode == 0, res.stderr
    assert "Text from standard input." in res.stdout


def test_synth_reads_text_file(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("First sentence. Second one!", encoding="utf-8")
    assert main(["synth", "--text-file", str(f), "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav"), "--dry-run"]) == 0
    assert "2 sentence(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--model", "no-such-model"], "No model 'no-such-model'"),
        (["--language", "xx-yy"], "Unknown language 'xx-yy'"),
        (["--prompt", "missing.wav"], "does not exist"),
        (["-o", "no/such/dir/out.wav"], "does not exist"),
    ],
)
def test_synth_bad_inputs(extra, message, capsys, tmp_path):
    argv = ["synth", "Hello.", "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav"), "--dry-run"]
    # later options win in argparse
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_synth_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "o.wav"
    out.write_bytes(b"keep me")
    assert main(["synth", "Hi there.", "--prompt", str(DEMO_PROMPT), "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    # a dry run writes nothing, so an existing output is only a note there
    assert main(["synth", "Hi there.", "--prompt", str(DEMO_PROMPT), "-o", str(out), "--dry-run"]) == 0
    assert "--overwrite" in capsys.readouterr().out and out.read_bytes() == b"keep me"


def test_synth_bad_prompts(write_wav, tmp_path, capsys):
    silent = write_wav("silent.wav", np.zeros(48000, dtype=np.float32))
    short = write_wav("short.wav", tone(0.4))
    for path, message in [(silent, "silent"), (short, "at least 1 s")]:
        assert main(["synth", "Hi.", "--prompt", str(path), "-o", str(tmp_path / "o.wav"), "--dry-run"]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("text,message", [("", "empty"), ("?!", "nothing to speak")])
def test_synth_bad_text(text, message, capsys, tmp_path):
    assert main(["synth", text, "--prompt", str(DEMO_PROMPT), "-o", str(tmp_path / "o.wav")]) == 2
    assert message in capsys.readouterr().err


def test_phonemize_command(capsys):
    assert main(["phonemize", "Hello, world!", "--ids"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Hello, world!", "həlˈoʊ, wˈɜːld!"]
    assert all(x.isdigit() for x in lines[2].split())


def test_phonemize_json(capsys):
    assert main(["phonemize", "Guten Tag.", "--language", "de", "--json", "--no-stress"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["text"] == "Guten Tag." and len(row["words"]) == 2 and "ˈ" not in row["phonemes"]


def test_languages_command(capsys):
    assert main(["languages"]) == 0
    codes = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert "en-us" in codes and "cmn" in codes


def test_bench_frontend_json(capsys):
    assert main(["bench", "frontend", "--sentences", "30", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sentences"] == 30
    assert result["batch_per_s"] > 0 and result["normalize_per_s"] > 0 and result["single_per_s"] > 0


def test_bench_flow_json(capsys):
    assert main(["bench", "flow", "--nfe-list", "2,4", "--seconds", "1", "--repeats", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["nfe"] for r in result["rows"]] == [2, 4]
    assert all(r["rtf"] > 0 for r in result["rows"]) and result["params_m"] > 1


def test_bench_models_times_whole_models(capsys, monkeypatch):
    if "tiny-flow" not in shipped_models():
        pytest.skip("no checkpoints/ in this checkout")
    monkeypatch.chdir(REPO)  # the default prompt is the checkout's demo prompt
    assert main(["bench", "models", "--models", "tiny-flow", "--rounds", "1", "--text", "Hello there.", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (row,) = result["rows"]
    assert row["model"] == "tiny-flow" and len(row["runs"]) == 1 and row["median_seconds"] == row["runs"][0]
    assert row["audio_seconds"] > 0 and row["rtf"] == pytest.approx(row["median_seconds"] / row["audio_seconds"])
    assert result["threads"] == 1 and row["params_m"] > 1


def test_bench_models_bad_arguments_are_one_line_errors(capsys, tmp_path):
    assert main(["bench", "models", "--models", " , "]) == 2
    assert main(["bench", "models", "--rounds", "0"]) == 2
    assert main(["bench", "models", "--prompt", str(tmp_path / "none.wav")]) == 2
    (tmp_path / "p.wav").write_bytes(b"")
    assert main(["bench", "models", "--prompt", str(tmp_path / "p.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err), err
    assert "--prompt-text" in err[3]


def test_bench_flow_times_an_aligned_model(capsys):
    if "tiny-flow" not in shipped_models():
        pytest.skip("no checkpoints/ in this checkout")
    assert main(["bench", "flow", "--model", "tiny-flow", "--nfe-list", "2", "--seconds", "1", "--repeats", "1",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["nfe"] for r in result["rows"]] == [2] and result["rows"][0]["rtf"] > 0
