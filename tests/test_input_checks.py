"""The trials of issue 43 ("What a new user still trips on"): each was a traceback, a wrong
result with exit status 0, or a message that sent the user the wrong way. Now each is one
line on stderr (exit 2) that names the fix, nothing is written, and the model is not
loaded; the API raises the same message as a ``ValueError`` subclass.

File permissions: these tests run as root in CI, where the kernel lets root write into a
``chmod 555`` folder and read a ``chmod 000`` file. The checks ask ``os.access`` (what
the kernel would allow this process), so the tests make ``os.access`` answer as it does
for an ordinary user (:func:`deny`); where the tests run as another user, the same
cases are also tried with real permissions.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import torch

from conftest import DEMO_PROMPT, REPO, one_line_error
from tts import Synthesizer
from tts.errors import TTSError

PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
AS_ROOT = os.geteuid() == 0


@pytest.fixture
def no_model_load(monkeypatch):
    """Fails the test if a model is loaded: every check must come first."""

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(Synthesizer, "from_pretrained", classmethod(refuse))


@pytest.fixture
def deny(monkeypatch):
    """``deny(path, os.W_OK)``: ``os.access`` answers False for that permission on ``path``,
    as it does for a user who lacks it; every other question goes to the real function."""
    real = os.access
    denied: list[tuple[str, int]] = []

    def access(path, mode, *args, **kwargs):
        if any(os.path.samefile(path, p) and mode & m for p, m in denied if os.path.exists(path)):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    return lambda path, mode: denied.append((str(path), mode))


def synth_args(tmp_path, *extra, text="Hello there."):
    return ["synth", text, "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT, "-o",
            str(tmp_path / "o.wav"), *extra]


# ------------------------------------------------------------------ tracebacks before
@pytest.mark.parametrize("dry", [True, False])
@pytest.mark.parametrize("flags,words", [
    (["--seed", "99999999999999999999"], "--seed must be a whole number from 0 to 4294967295"),
    (["--device", "tpu"], "Unknown device 'tpu': use 'cpu', 'cuda' or 'cuda:N'"),
    (["--device", ""], "Unknown device '': use 'cpu', 'cuda' or 'cuda:N'"),
])
def test_seed_and_device_are_checked_also_by_the_dry_run(no_model_load, capsys, tmp_path, flags, words, dry):
    message = one_line_error(capsys, synth_args(tmp_path, *flags, *(["--dry-run"] if dry else [])),
                             tmp_path / "o.wav")
    assert words in message


def test_text_file_that_is_binary_a_folder_or_unreadable(no_model_load, deny, capsys, tmp_path):
    binary = tmp_path / "notes.txt"
    binary.write_bytes(DEMO_PROMPT.read_bytes()[:400])
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"hello\x00\x00world")
    unreadable = tmp_path / "secret.txt"
    unreadable.write_text("Hello.")
    deny(unreadable, os.R_OK)
    base = ["synth", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT, "-o", str(tmp_path / "o.wav")]
    assert "is not UTF-8 text" in one_line_error(capsys, [*base, "--text-file", str(binary)])
    assert "binary file, not text" in one_line_error(capsys, [*base, "--text-file", str(nul)])
    message = one_line_error(capsys, [*base, "--text-file", str(tmp_path)])
    assert "is a folder, not a file" in message and "does not exist" not in message
    message = one_line_error(capsys, [*base, "--text-file", str(unreadable)])
    assert "cannot be read" in message and "chmod u+r" in message


@pytest.mark.skipif(AS_ROOT, reason="root reads any file: deny() covers this case")
def test_text_file_unreadable_for_real(no_model_load, capsys, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Hello.")
    secret.chmod(0)
    message = one_line_error(capsys, ["synth", "--text-file", str(secret), "--prompt", str(DEMO_PROMPT),
                                      "--prompt-text", PROMPT_TEXT, "-o", str(tmp_path / "o.wav")])
    assert "cannot be read" in message


@pytest.mark.parametrize("line,words", [
    ({"text": 123}, '"text" must be a string, got 123'),
    ({"text": "Hi.", "seed": "abc"}, '"seed" must be a whole number'),
    ({"text": "Hi.", "seed": 10**20}, '"seed" must be a whole number'),
    ({"text": "Hi.", "nfe": 4}, "unknown key(s) 'nfe'; a line takes text, prompt, prompt_text, output, seed"),
    ({"text": "Hi.", "prompt_text": ""}, '"prompt_text") is empty'),
    (["Hi."], "each line must be a JSON object"),
])
def test_jsonl_lines_are_checked(no_model_load, capsys, tmp_path, line, words):
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"text": "A good line."}) + "\n" + json.dumps(line) + "\n")
    message = one_line_error(capsys, ["synth", "--jsonl", str(batch), "--prompt", str(DEMO_PROMPT), "--prompt-text",
                                      PROMPT_TEXT, "--dry-run"])
    assert message.startswith(f"{batch}, line 2: ") and words in message


def test_read_only_output_folder_is_refused_before_the_model_loads(no_model_load, deny, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    deny(ro, os.W_OK)
    for dry in ([], ["--dry-run"]):
        message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--prompt-text", PROMPT_TEXT,
                                          "-o", str(ro / "o.wav"), *dry], ro / "o.wav")
        assert f"the folder '{ro}' is not writable for you" in message and "-o" in message
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"text": "Hi."}) + "\n")
    message = one_line_error(capsys, ["synth", "--jsonl", str(batch), "-o", str(ro), "--prompt", str(DEMO_PROMPT),
                                      "--prompt-text", PROMPT_TEXT])
    assert "is not writable" in message
    message = one_line_error(capsys, ["edit", str(DEMO_PROMPT), "--transcript", PROMPT_TEXT, "--new-transcript",
                                      "Other words.", "-o", str(ro / "e.wav")], ro / "e.wav")
    assert "is not writable" in message
    assert list(ro.iterdir()) == []


@pytest.mark.skipif(AS_ROOT, reason="root writes into a 555 folder: deny() covers this case")
def test_read_only_output_folder_for_real(no_model_load, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)  # 555
    try:
        assert "is not writable" in one_line_error(capsys, synth_args(tmp_path)[:-2] + ["-o", str(ro / "o.wav")])
    finally:
        ro.chmod(0o755)


def test_a_sentence_longer_than_a_model_can_generate(no_model_load, capsys, tmp_path):
    for dry in ([], ["--dry-run"]):
        message = one_line_error(capsys, synth_args(tmp_path, "--duration", "3600", *dry), tmp_path / "o.wav")
        assert "--duration 3600 gives a sentence 3600 s; a sentence can be at most 60 s" in message
    # the same total over enough sentences is fine
    text = " ".join(["One short sentence here."] * 60)
    assert "Dry run" in _dry_run_ok(capsys, synth_args(tmp_path, "--duration", "3600", "--dry-run", text=text))


def _dry_run_ok(capsys, argv) -> str:
    from tts.cli import main

    assert main(argv) == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------ wrong results with exit 0 before
def test_s2a_steps_counts_are_checked_against_the_codebooks(no_model_load, capsys, tmp_path):
    message = one_line_error(capsys, synth_args(tmp_path, "--model", "tiny-maskgct", "--s2a-steps",
                                                ",".join(["1"] * 9), "--dry-run"))
    assert message == ("--s2a-steps gives 9 counts, but tiny-maskgct decodes 8 acoustic codebooks: give at most 8 "
                       "(the last one repeats).")
    _dry_run_ok(capsys, synth_args(tmp_path, "--model", "tiny-maskgct", "--s2a-steps", ",".join(["1"] * 8),
                                   "--dry-run"))


def test_bench_frontend_refuses_a_negative_count(capsys):
    assert one_line_error(capsys, ["bench", "frontend", "--sentences", "-5"]) == \
        "--sentences must be an integer >= 1, got -5."


def test_web_refuses_a_missing_model_dir(capsys, tmp_path, monkeypatch):
    def launch(*args, **kwargs):
        raise AssertionError("the page was served")

    monkeypatch.setattr("tts.web.app.launch", launch)
    message = one_line_error(capsys, ["web", "--model-dir", str(tmp_path / "nonexistent"), "--port", "1"])
    assert "--model-dir" in message and "is not a folder" in message
    message = one_line_error(capsys, ["models", "--dir", str(tmp_path / "nonexistent")])
    assert "--dir" in message and "is not a folder" in message


@pytest.mark.parametrize("transcript,new", [("Completely different words here.", "Completely other words here."),
                                            ("a b", "a c")])
def test_edit_refuses_a_transcript_the_recording_does_not_say(capsys, tmp_path, transcript, new):
    out = tmp_path / "e.wav"
    message = one_line_error(capsys, ["edit", str(DEMO_PROMPT), "--transcript", transcript, "--new-transcript", new,
                                      "-o", str(out)], out)
    assert message.startswith("The recording does not say its --transcript: aligned with it, it scores -")
    assert "heard /ðə" in message and "--skip-transcript-check" in message


def test_edit_with_the_right_transcript_passes_the_check():
    """The check alone (the edit itself is tested in test_synthesizer): the demo prompt with its
    own transcript scores well above the threshold, with another one far below."""
    from tts.audio import load
    from tts.recognizer import TRANSCRIPT_MIN_SCORE, PhoneRecognizer, check_transcript

    rec, audio = PhoneRecognizer(), load(DEMO_PROMPT, 24000)
    assert check_transcript(rec, audio.wav, audio.sample_rate, PROMPT_TEXT).score > TRANSCRIPT_MIN_SCORE + 1
    with pytest.raises(ValueError, match="does not say its --transcript"):
        check_transcript(rec, audio.wav, audio.sample_rate, "Completely different words here.")


# ------------------------------------------------------------------ messages that sent users the wrong way
def test_unreadable_prompt_is_not_called_not_audio(no_model_load, deny, capsys, tmp_path):
    prompt = tmp_path / "p.wav"
    prompt.write_bytes(DEMO_PROMPT.read_bytes())
    deny(prompt, os.R_OK)
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(prompt), "--prompt-text", PROMPT_TEXT,
                                      "-o", str(tmp_path / "o.wav")])
    assert "cannot be read: you have no permission" in message
    assert "not audio" not in message and "ffmpeg" not in message


def test_empty_prompt_text_says_which_text(no_model_load, capsys, tmp_path):
    message = one_line_error(capsys, ["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--prompt-text", "",
                                      "-o", str(tmp_path / "o.wav")])
    assert message.startswith("The prompt transcript (--prompt-text) is empty") and "Whisper" in message


# ------------------------------------------------------------------ languages
def test_another_language_warns_and_strict_refuses(no_model_load, capsys, tmp_path):
    from tts.cli import main

    argv = synth_args(tmp_path, "--language", "de", "--dry-run", text="Hallo Welt.")
    assert main(argv) == 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("warning: tiny-flow was trained on en, it, ru speech only")
    message = one_line_error(capsys, [*argv, "--strict"])
    assert "not de (--language)" in message and "--strict" in message
    assert main(synth_args(tmp_path, "--language", "en-gb", "--strict", "--dry-run")) == 0  # a variety of en
    assert "warning" not in capsys.readouterr().err


def test_prompt_language_is_checked_like_the_language(no_model_load, capsys, tmp_path):
    """A French prompt for English text: --prompt-language gets the same warning and --strict error
    as --language, naming its own flag; an unknown one is a one-line error."""
    from tts.cli import main

    argv = synth_args(tmp_path, "--prompt-language", "fr-fr", "--dry-run")
    assert main(argv) == 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not fr-fr (--prompt-language)" in err
    assert "not fr-fr (--prompt-language)" in one_line_error(capsys, [*argv, "--strict"])
    assert "Unknown language 'zzz'" in one_line_error(capsys, synth_args(tmp_path, "--prompt-language", "zzz"))


def test_synthesizer_reads_the_prompt_in_its_own_language(monkeypatch):
    """The prompt's transcript is phonemized in ``prompt_language``, the text in ``language``."""
    import warnings

    from tts.synthesizer import Synthesizer

    synth = Synthesizer.from_pretrained("tiny-flow")
    seen = {}

    def fake(prompt_wav, prompt_ids, texts, seed=None, **opts):
        seen["prompt"], seen["text"] = prompt_ids, texts[0]
        return [torch.zeros(2400)]

    monkeypatch.setattr(synth.backend, "synthesize", fake)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth.synthesize("Bonjour.", DEMO_PROMPT, prompt_text="Bonjour.", language="en-us", prompt_language="fr-fr")
    french, english = synth.frontend("fr-fr").encode("Bonjour.").ids, synth.frontend("en-us").encode("Bonjour.").ids
    assert list(seen["prompt"]) == list(french) and list(seen["text"]) == list(english) and french != english
    assert any("prompt_language" in str(w.message) for w in caught)  # tiny-flow lists en, it, ru: not fr


def test_model_languages_from_model_yaml(tmp_path, random_flow):
    """Listed in model.yaml; a folder without the list is English-only; a bad list is the folder's error."""
    import shutil

    import yaml

    from tts.checkpoint import CheckpointError, read_checkpoint
    from tts.languages import LanguageError, check_language

    assert read_checkpoint("tiny-flow", verify=False).languages == ("en", "it", "ru")
    for name in ("tiny-valle", "tiny-maskgct"):
        assert read_checkpoint(name, verify=False).languages == ("en",)
    folder = shutil.copytree(random_flow, tmp_path / "m")
    shutil.copytree(random_flow.parent / "tiny-vocos", tmp_path / "tiny-vocos")
    assert read_checkpoint(folder).languages == ("en",)  # no list: English
    doc = yaml.safe_load((folder / "model.yaml").read_text())
    (folder / "model.yaml").write_text(yaml.safe_dump({**doc, "languages": ["de", "fr-fr"]}))
    info = read_checkpoint(folder)  # the weights' checksum still holds: model.yaml is not hashed
    assert info.languages == ("de", "fr-fr")
    assert check_language(info, "German", strict=True) == "de"
    with pytest.raises(LanguageError, match="trained on de, fr-fr speech only"):
        check_language(info, "en-us", strict=True)
    with pytest.raises(LanguageError, match="--prompt-language"):  # the same check for another flag
        check_language(info, "en", strict=True, what="--prompt-language")
    (folder / "model.yaml").write_text(yaml.safe_dump({**doc, "languages": "de"}))
    with pytest.raises(CheckpointError, match="'languages' must list"):
        read_checkpoint(folder)


# ------------------------------------------------------------------ the API
@pytest.fixture(scope="module")
def flow():
    return Synthesizer.from_pretrained("tiny-flow", device="cpu")


@pytest.mark.parametrize("kwargs,words", [
    ({"seed": 10**20}, "seed must be a whole number from 0 to 4294967295"),
    ({"seed": "abc"}, "seed must be a whole number"),
    ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
    ({"prompt_text": " "}, "prompt transcript (prompt_text) is empty"),
    ({"duration": 3600}, "a sentence can be at most 60 s"),
])
def test_api_synthesize_raises_value_errors(flow, kwargs, words):
    kwargs = {"prompt_text": PROMPT_TEXT, **kwargs}
    with pytest.raises(ValueError) as caught:
        flow.synthesize("Hello there.", DEMO_PROMPT, **kwargs)
    assert isinstance(caught.value, TTSError) and words in str(caught.value)


@pytest.mark.parametrize("device,words", [("tpu", "Unknown device 'tpu'"), ("", "Unknown device ''"),
                                          ("cpu:1", "Unknown device 'cpu:1'"),
                                          pytest.param("cuda", "CUDA is not available", marks=pytest.mark.skipif(
                                              torch.cuda.is_available(), reason="this machine has CUDA"))])
def test_api_device_errors_are_value_errors(device, words):
    with pytest.raises(ValueError, match=words) as caught:
        Synthesizer.from_pretrained("tiny-flow", device=device)
    assert isinstance(caught.value, TTSError)


def test_api_edit_errors_are_value_errors(flow):
    with pytest.raises(ValueError, match="says the same words"):
        flow.edit(DEMO_PROMPT, PROMPT_TEXT, PROMPT_TEXT)
    with pytest.raises(ValueError, match="does not say its --transcript"):
        flow.edit(DEMO_PROMPT, "Completely different words here.", "Completely other words here.")
    valle = Synthesizer.from_pretrained("tiny-valle", device="cpu")
    with pytest.raises(ValueError, match="family 'valle' cannot edit speech"):
        valle.edit(DEMO_PROMPT, PROMPT_TEXT, PROMPT_TEXT + " Again.")


def test_api_loading_an_aligner_as_a_tts_model(capsys, tmp_path):
    with pytest.raises(ValueError, match="'tiny-aligner' is not a text-to-speech model") as caught:
        Synthesizer.from_pretrained("tiny-aligner")
    assert isinstance(caught.value, TTSError)
    assert "not a text-to-speech model" in one_line_error(capsys, synth_args(tmp_path, "--model", "tiny-aligner",
                                                                              "--dry-run"))


# ------------------------------------------------------------------ cosmetic
def _screen(stream: str) -> list[str]:
    """The lines a terminal shows after ``stream``: enough of a terminal for rich's live
    display (carriage return, erase line, cursor up, colours and cursor visibility ignored)."""
    import re

    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", stream):
        if token == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            if token.endswith("K"):
                lines[row] = lines[row][:col] if token != "\x1b[2K" else ""
            elif token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return lines


def test_progress_bar_ends_at_the_last_sentence_and_leaves_its_line(random_flow, monkeypatch, tmp_path):
    """9 sentences in batches of 8: the bar reaches 9/9, and "wrote" starts a line of its own."""
    import io

    from rich.console import Console

    from tts.cli import main

    terminal = io.StringIO()
    monkeypatch.setattr("tts.commands.synth.console",
                        lambda stderr=False: Console(file=terminal, force_terminal=True, width=100, stderr=stderr))
    text = " ".join(f"Sentence number {n}." for n in range(1, 10))
    assert main(synth_args(tmp_path, "--model", str(random_flow), "--nfe", "1", text=text)) == 0
    assert "9/9" in terminal.getvalue()
    shown = [line.rstrip() for line in _screen(terminal.getvalue()) if line.strip()]
    wrote = [line for line in shown if "wrote" in line]
    assert len(wrote) == 1 and wrote[0].startswith("wrote "), shown
    assert not any("sentences" in line for line in shown), shown  # the bar does not stay behind


def test_models_table_keeps_names_whole_at_80_columns(monkeypatch, capsys):
    from rich.console import Console

    from tts.checkpoint import shipped_models
    from tts.cli import main

    monkeypatch.setattr("tts.commands.models.console", lambda stderr=False: Console(width=80, stderr=stderr))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for name in shipped_models():
        assert f" {name} " in out, f"{name} is cut in:\n{out}"


def test_models_steps_count_the_whole_training_as_the_card_does():
    """tiny-flow's model.yaml counts its last fine-tuning's 1500 steps; `tts models` shows the 9400
    of its whole training (7200 on TinyVoices, 700 on the 8-hour ManyVoices, 1500 on the full one),
    as its card says."""
    from tts.catalog import describe
    from tts.checkpoint import read_checkpoint, shipped_models

    folder = shipped_models()["tiny-flow"]
    assert read_checkpoint(folder).meta["training"]["steps"] == 1500
    assert describe(folder)["steps"] == "9400"
    assert "| steps | 9400" in (folder / "README.md").read_text(encoding="utf-8")


def test_eval_prints_no_pkg_resources_warning():
    """Resemblyzer's webrtcvad imports pkg_resources, which setuptools warns about on import."""
    import subprocess
    import sys

    code = "from tts.eval.speaker_encoders import ResemblyzerEncoder; ResemblyzerEncoder('cpu')"
    run = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, cwd=REPO,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "pkg_resources" not in run.stderr
