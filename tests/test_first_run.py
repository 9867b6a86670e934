"""What a new user hit on the first run (issue: "The first run works on a fresh machine").

Every bad value is one line on stderr from the CLI (exit 2, no traceback, no output
file) and the same message as a ``ValueError`` subclass from the API; each model
option's out-of-range values are fed to every shipped model; and the expectations
of a person: file modes, progress, warnings, JSONL outputs, dry runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import DEMO_PROMPT, REPO, one_line_error, tone
from tts import Synthesizer
from tts.cli import build_parser, main
from tts.options import FAMILY_OPTIONS, Option, OptionError, check_options

PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
SHIPPED = {"tiny-flow": "flow", "tiny-valle": "valle", "tiny-maskgct": "maskgct"}


def bad_values(opt: Option) -> list:
    """Values just outside the option's range, of the wrong type, or not a number."""
    if opt.choices:
        return ["rk4", ""]
    values = ["abc", "nan", "inf"] if opt.kind is float else ["abc", "1.5"]
    if opt.low is not None:
        values.append(opt.low if opt.low_open else opt.low - 1)
    if opt.high is not None:
        values.append(opt.high + 1 if opt.kind is int else opt.high * 1.5 + 1)
    return values


CASES = [(model, opt, value) for model, family in SHIPPED.items() for opt in FAMILY_OPTIONS[family]
         for value in bad_values(opt)]


@pytest.fixture(scope="module")
def shipped_synth():
    loaded = {}

    def get(model: str) -> Synthesizer:
        if model not in loaded:
            loaded[model] = Synthesizer.from_pretrained(model, device="cpu")
        return loaded[model]

    return get


@pytest.mark.parametrize("model,opt,value", CASES, ids=[f"{m}-{o.name}={v}" for m, o, v in CASES])
def test_out_of_range_option_is_one_line_in_cli_and_api(model, opt, value, capsys, tmp_path, shipped_synth):
    out = tmp_path / "o.wav"
    argv = ["synth", "Hi there.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT, "--model", model,
            opt.flag, str(value), "-o", str(out)]
    message = one_line_error(capsys, argv, out)
    assert message.startswith(opt.flag) and opt.describe() in message
    assert one_line_error(capsys, [*argv, "--dry-run"], out) == message  # the dry run checks options too
    with pytest.raises(OptionError) as info:
        shipped_synth(model).synthesize("Hi there.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, **{opt.name: value})
    assert isinstance(info.value, ValueError) and str(info.value) == message


def test_nfe_message_names_no_solver_that_does_not_run(capsys, tmp_path):
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--nfe", "-3",
                                      "-o", str(tmp_path / "o.wav")])
    assert message == "--nfe must be an integer in [1, 1000], got -3." and "midpoint" not in message
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--nfe", "5", "--solver",
                                      "midpoint", "-o", str(tmp_path / "o.wav")])
    assert "--solver midpoint" in message and "even --nfe" in message


@pytest.mark.parametrize("model", list(SHIPPED))
def test_options_of_another_family_name_only_real_flags(model, capsys, tmp_path, shipped_synth):
    family = SHIPPED[model]
    other = next(o for f, opts in FAMILY_OPTIONS.items() if f != family for o in opts
                 if o.name not in {x.name for x in FAMILY_OPTIONS[family]})
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--model", model, other.flag,
                                      "1", "-o", str(tmp_path / "o.wav")])
    assert f"does not take {other.flag}" in message
    parser_flags = {s for a in build_parser()._subparsers._group_actions[0].choices["synth"]._actions
                    for s in a.option_strings}
    named = {w.strip(",.;") for w in message.split() if w.startswith("--")}
    assert named - parser_flags == set(), f"the message suggests flags the CLI does not have: {named - parser_flags}"
    assert {o.flag for o in FAMILY_OPTIONS[family]} <= named
    with pytest.raises(OptionError) as info:
        shipped_synth(model).synthesize("Hi.", DEMO_PROMPT, prompt_text=PROMPT_TEXT, **{other.name: 1})
    assert str(info.value) == message


def test_duration_is_checked_before_any_work(capsys, tmp_path):
    import time

    t0 = time.perf_counter()
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--duration", "-1",
                                      "-o", str(tmp_path / "o.wav")])
    assert message == "--duration must be a number in (0, 3600], got -1." and time.perf_counter() - t0 < 10


def test_language_name_is_normalized_for_espeak_and_whisper():
    from text_frontend import resolve_language, whisper_language

    assert resolve_language("english") == "en-us" and whisper_language("english") == "en"
    assert whisper_language("en-us") == "en" and whisper_language("cmn") == "zh" and whisper_language("de") == "de"


def test_language_name_without_prompt_text_runs(random_flow, monkeypatch, capsys, tmp_path):
    """Before: espeak took "english", Whisper refused it (a traceback)."""
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    out = tmp_path / "o.wav"
    assert main(["synth", "Hi there.", "--prompt", str(DEMO_PROMPT), "--language", "english", "--nfe", "1",
                 "--seed", "0", "-o", str(out)]) == 0, capsys.readouterr().err
    assert out.is_file()


@pytest.mark.parametrize("language,words", [("xx-yy", "Unknown language 'xx-yy'"),
                                            ("klingon", "Whisper) cannot transcribe language 'klingon'")])
def test_unknown_language_is_one_line_in_cli_and_api(random_flow, monkeypatch, capsys, tmp_path, language, words):
    """espeak-ng knows neither "xx-yy" nor ... but it does speak Klingon ("piqd"), which Whisper
    cannot transcribe: without --prompt-text that is an error before the model loads."""
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--language", language,
                                      "-o", str(tmp_path / "o.wav")])
    assert words in message
    with pytest.raises(ValueError) as info:
        Synthesizer.from_pretrained(random_flow).synthesize("Hi.", DEMO_PROMPT, language=language)
    assert str(info.value) == message


def test_dry_run_notes_an_existing_output_and_writes_nothing(capsys, tmp_path):
    out = tmp_path / "o.wav"
    out.write_bytes(b"precious")
    assert main(["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--dry-run", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "exists" in printed and "--overwrite" in printed and "nothing was written" in printed
    assert out.read_bytes() == b"precious" and sorted(p.name for p in tmp_path.iterdir()) == ["o.wav"]


def test_existing_output_error_names_the_cli_flag_only(capsys, tmp_path):
    out = tmp_path / "o.wav"
    out.write_bytes(b"precious")
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "-o", str(out)])
    assert "--overwrite" in message and "overwrite=True" not in message
    assert out.read_bytes() == b"precious"


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_output_files_follow_the_umask(mask, tmp_path):
    from tts.audio import save

    old = os.umask(mask)
    try:
        path = save(tmp_path / "o.wav", __import__("torch").zeros(2400), 24000)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_checkpoint_files_follow_the_umask(mask, tmp_path):
    from torch import nn

    from tts.checkpoint import save_checkpoint

    old = os.umask(mask)
    try:
        save_checkpoint(tmp_path / "ckpt", family="toy", config={"width": 2}, state_dict=nn.Linear(2, 2).state_dict(),
                        card="# toy\n")
    finally:
        os.umask(old)
    folder = tmp_path / "ckpt"
    assert folder.stat().st_mode & 0o777 == 0o777 & ~mask
    for f in folder.iterdir():  # the weights included: safetensors alone writes them 0600
        assert f.stat().st_mode & 0o777 == 0o666 & ~mask, f.name


def test_progress_is_reported_per_batch_of_sentences(random_flow):
    synth = Synthesizer.from_pretrained(random_flow)
    calls = []
    text = " ".join(f"Sentence number {n}." for n in range(1, 11))
    synth.synthesize(text, DEMO_PROMPT, prompt_text=PROMPT_TEXT, batch_size=4, nfe=1, seed=0,
                     progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 10), (4, 10), (8, 10), (10, 10)]


def test_long_prompt_warning_prints_once_as_one_line(random_flow, monkeypatch, capsys, tmp_path, write_wav):
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    rng = np.random.default_rng(0)
    long_prompt = write_wav("long.wav", np.concatenate([tone(1.0, freq=200 + 40 * k) + 0.01 * rng.standard_normal(
        24000).astype(np.float32) for k in range(20)]))
    assert main(["synth", "Hi.", "--prompt", str(long_prompt), "--prompt-text", "words", "--nfe", "1",
                 "-o", str(tmp_path / "o.wav")]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "only its first" in warnings[0]
    assert "UserWarning" not in err and ".py:" not in err


def test_relative_jsonl_outputs_land_under_o(random_flow, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TTS_CHECKPOINTS", str(random_flow.parent))
    batch_dir, out_dir = tmp_path / "batch", tmp_path / "out"
    batch_dir.mkdir()
    out_dir.mkdir()
    jsonl = batch_dir / "b.jsonl"
    jsonl.write_text(json.dumps({"text": "One.", "output": "named.wav"}) + "\n" + json.dumps({"text": "Two."}) + "\n")
    assert main(["synth", "--jsonl", str(jsonl), "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                 "--nfe", "1", "-o", str(out_dir)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out_dir.iterdir()) == ["0002.wav", "named.wav"]
    assert sorted(p.name for p in batch_dir.iterdir()) == ["b.jsonl"]


def test_setup_prints_no_ansi_codes_into_logs():
    res = subprocess.run(["bash", "scripts/setup.sh"], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "VENV": str(os.path.dirname(os.path.dirname(sys.executable)))})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "\x1b[" not in res.stdout + res.stderr and "setup: " in res.stdout


def test_lock_pins_a_matching_torch_pair_and_the_venv_matches_it():
    import runpy

    read_lock = runpy.run_path(str(REPO / "scripts" / "check_env.py"))["read_lock"]
    pins = read_lock(REPO / "requirements" / "lock.txt")
    assert pins["torch"] == pins["torchaudio"], "torch and torchaudio must be the same release"
    res = subprocess.run([sys.executable, "scripts/check_env.py"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and res.stdout == "", res.stdout


def test_check_options_api_converts_and_drops_none():
    assert check_options("flow", {"nfe": 8.0, "speed": "1.5", "cfg": None}) == {"nfe": 8, "speed": 1.5}
    with pytest.raises(OptionError, match="got True"):
        check_options("valle", {"top_k": True})


@pytest.mark.parametrize("command", ["edit", "eval"])
def test_edit_and_eval_check_model_options_the_same_way(command, capsys, tmp_path):
    out = tmp_path / "o.wav"
    argv = (["edit", str(DEMO_PROMPT), "--transcript", "a b", "--new-transcript", "a c", "-o", str(out)]
            if command == "edit" else
            ["eval", "--model", "tiny-flow", "--cuts", str(tmp_path / "cuts.jsonl.gz"), "--out", str(tmp_path / "r")])
    message = one_line_error(capsys, [*argv, "--nfe", "0"], out)
    assert message == "--nfe must be an integer in [1, 1000], got 0."
    assert not (tmp_path / "r").exists()
