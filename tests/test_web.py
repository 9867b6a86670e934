"""`tts web` in-process: the page's actions (tts/web/service.py) with the shipped `tiny-flow`
on the demo prompt, its input rules (uploads only, limits), its errors (the CLI's one
line, never a traceback), the Gradio page itself and its safe serving defaults.

The browser drives the same page in test_web_browser.py (`make test-browser`).
"""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest
import soundfile as sf

from conftest import DEMO_PROMPT, REPO
from tts.errors import TTSError, WebInputError, is_user_error
from tts.web.inputs import WebLimits, seed_value, text_to_speak, uploaded_file

DEMO_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text(encoding="utf-8").strip()
FAST = {"nfe": "4"}  # as the page's text field sends it; tiny-flow's default is 16


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    """A stand-in for Gradio's upload folder, holding the demo prompt."""
    root = tmp_path_factory.mktemp("uploads")
    shutil.copy(DEMO_PROMPT, root / "prompt.wav")
    return root


@pytest.fixture(scope="module")
def service(uploads, tmp_path_factory):
    from tts.web.models import web_models
    from tts.web.service import WebService

    return WebService(web_models(), uploads, device="cpu", out_dir=tmp_path_factory.mktemp("results"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the actions
def test_synthesis_gives_audio_a_spectrogram_and_sentence_progress(service, uploads):
    from PIL import Image

    calls = []
    result = service.synthesize("tiny-flow", uploads / "prompt.wav", "Hello there. How are you?",
                                prompt_text=DEMO_TEXT, seed="0", options=FAST,
                                progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 2), (1, 2), (2, 2)]  # reported sentence by sentence
    info = sf.info(result.audio_path)
    assert info.samplerate == 24000 and 0.5 < info.duration < 10
    assert result.duration == pytest.approx(info.duration, abs=1e-3)
    with Image.open(result.spectrogram_path) as png:
        assert png.format == "PNG" and png.size[0] > 300
    assert "tiny-flow" in result.summary and "s of audio in" in result.summary
    # The same seed and inputs give the same audio; the model was loaded once.
    again = service.synthesize("tiny-flow", uploads / "prompt.wav", "Hello there. How are you?",
                               prompt_text=DEMO_TEXT, seed=0, options={"nfe": 4})
    assert np.array_equal(sf.read(again.audio_path)[0], sf.read(result.audio_path)[0])
    assert service.cache.loaded() == ["tiny-flow"] and "loading the model" not in again.summary


def test_text_file_upload_is_spoken(service, uploads):
    (uploads / "story.txt").write_text("A short story.", encoding="utf-8")
    result = service.synthesize("tiny-flow", uploads / "prompt.wav", "", prompt_text=DEMO_TEXT,
                                text_file=uploads / "story.txt", seed=1, options=FAST)
    assert result.duration > 0.3


def test_editing_changes_the_recording_and_keeps_its_length(service, uploads):
    source, sr = sf.read(uploads / "prompt.wav")
    new = DEMO_TEXT.replace("smooth planks", "wooden planks")
    result = service.edit("tiny-flow", uploads / "prompt.wav", DEMO_TEXT, new, seed=0, options=FAST)
    edited, rate = sf.read(result.audio_path)
    assert rate == 24000
    assert abs(result.duration - len(source) / sr) < 1.5  # one word of about the same length was replaced
    assert "tiny-flow" in result.summary and result.spectrogram_path.is_file()


def test_an_empty_prompt_transcript_is_heard_by_whisper(service, uploads):
    result = service.synthesize("tiny-flow", uploads / "prompt.wav", "Hi there.", prompt_text="  ", seed=0,
                                options=FAST)
    heard = result.summary.split("Whisper heard the prompt say: ")[1].lower()
    assert "birch" in heard and "boat drifted slowly" in heard, heard  # Whisper-base: "the birch can be slated on..."


def test_a_model_is_loaded_once(service):
    first = service.cache.get("tiny-flow")
    second = service.cache.get("tiny-flow")
    assert first[0] is second[0] and first[1] is second[1] and second[2] == 0.0


# ---------------------------------------------------------------- errors: the CLI's one line
@pytest.mark.parametrize("options", [{"nfe": "0"}, {"nfe": "2.5"}, {"top_k": "3"}, {"solver": "midpoint", "nfe": "5"}])
def test_bad_options_give_the_cli_message(service, uploads, options, capsys):
    from tts.cli import main

    with pytest.raises(TTSError) as page:
        service.synthesize("tiny-flow", uploads / "prompt.wav", "Hi.", prompt_text=DEMO_TEXT, options=options)
    flags = [arg for name, value in options.items() for arg in ("--" + name.replace("_", "-"), value)]
    assert main(["synth", "Hi.", "--prompt", str(DEMO_PROMPT), "--dry-run", *flags]) == 2
    cli = capsys.readouterr().err.strip()
    assert cli == f"error: {page.value}" and "\n" not in str(page.value)


@pytest.mark.parametrize("change, message", [
    ({"text": "   "}, "The text is empty: give at least one word to speak."),
    ({"text": "?!"}, "has nothing to speak"),
    ({"language": "xx-nope"}, "Unknown language 'xx-nope'"),
    ({"seed": "2.5"}, "The seed must be a whole number"),
    ({"model": "/etc"}, "Pick a model from the list (tiny-flow, tiny-maskgct, tiny-valle)"),
    ({"prompt": None}, "The voice prompt is missing: upload a file or record one."),
    ({"prompt": str(DEMO_PROMPT)}, "The voice prompt must be uploaded through the page"),
    ({"text_file": "/etc/passwd"}, "Type the text or upload a text file, not both"),
    ({"text": "", "text_file": "/etc/passwd"}, "The text file must be uploaded through the page"),
])
def test_bad_inputs_are_one_line_user_errors(service, uploads, change, message):
    args = {"model": "tiny-flow", "prompt": uploads / "prompt.wav", "text": "Hi.", "prompt_text": DEMO_TEXT}
    with pytest.raises(Exception) as err:
        service.synthesize(**{**args, **change})
    assert is_user_error(err.value), repr(err.value)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_editing_refuses_what_tts_edit_refuses(service, uploads):
    with pytest.raises(TTSError, match="nothing to edit"):
        service.edit("tiny-flow", uploads / "prompt.wav", DEMO_TEXT, DEMO_TEXT.upper(), options=FAST)
    with pytest.raises(TTSError, match=r"Pick a model from the list \(tiny-flow\)"):
        service.edit("tiny-valle", uploads / "prompt.wav", DEMO_TEXT, "Other words.")
    with pytest.raises(ValueError, match="The edited transcript: The text is empty"):
        service.edit("tiny-flow", uploads / "prompt.wav", DEMO_TEXT, " ")


# ---------------------------------------------------------------- uploads only, limits
def test_only_files_in_the_upload_folder_are_read(tmp_path):
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "link.wav").symlink_to(DEMO_PROMPT)  # inside by name, outside in fact
    limits = WebLimits()
    for path in (DEMO_PROMPT, root / ".." / "x.wav", root / "link.wav"):
        with pytest.raises(WebInputError, match="must be uploaded through the page"):
            uploaded_file(path, "The voice prompt", root, limits)
    with pytest.raises(WebInputError, match="no longer on the server"):
        uploaded_file(root / "gone.wav", "The voice prompt", root, limits)
    shutil.copy(DEMO_PROMPT, root / "ok.wav")
    assert uploaded_file(str(root / "ok.wav"), "The voice prompt", root, limits) == (root / "ok.wav").resolve()


def test_upload_size_and_text_length_limits(tmp_path):
    shutil.copy(DEMO_PROMPT, tmp_path / "p.wav")
    small = WebLimits(max_upload_mb=0.01, max_text_chars=10)
    with pytest.raises(WebInputError, match=r"The voice prompt is 0\.\d MiB; the page takes files of at most 0\.01 MiB"):
        uploaded_file(tmp_path / "p.wav", "The voice prompt", tmp_path, small)
    with pytest.raises(WebInputError, match="The text is 11 characters long; the page takes at most 10"):
        text_to_speak("x" * 11, None, tmp_path, small)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(WebInputError, match="not UTF-8"):
        text_to_speak("", tmp_path / "latin1.txt", tmp_path, small)
    with pytest.raises(WebInputError, match="--max-text-chars must be"):
        WebLimits(max_text_chars=0)


def test_seed_field():
    assert seed_value("") is None and seed_value(None) is None
    assert seed_value("7") == 7 and seed_value(7.0) == 7
    for bad in ("-1", "abc", "1.5", str(2**32), "inf"):
        with pytest.raises(WebInputError):
            seed_value(bad)


def test_untouched_option_widgets_are_not_given():
    from tts.web.service import given_options

    shown = {"nfe": "16", "solver": "euler", "cfg": "2", "sway": "-1", "speed": "1", "duration": ""}
    assert given_options("flow", shown) == {}
    assert given_options("flow", {**shown, "nfe": " 8 ", "duration": "3"}) == {"nfe": "8", "duration": "3"}


# ---------------------------------------------------------------- the Gradio page
def test_page_errors_show_the_message_escaped_and_let_bugs_through():
    from tts.web.app import import_gradio, page_errors

    gr = import_gradio()
    with pytest.raises(gr.Error) as shown:
        with page_errors(gr):
            raise TTSError("Unknown language '<b>x</b>': run `tts languages`.")
    assert shown.value.message == "Unknown language '&lt;b&gt;x&lt;/b&gt;': run `tts languages`."
    with pytest.raises(KeyError):
        with page_errors(gr):
            raise KeyError("a bug is not a user error")


def test_page_has_both_tabs_every_option_and_serves_safely(service):
    import httpx

    from tts.options import FAMILY_OPTIONS
    from tts.web.app import build_app, launch

    app = build_app(service, "tiny-flow")
    config = app.get_config_file()
    assert config["analytics_enabled"] is False
    labels = {c["props"].get("label") for c in config["components"]}
    assert {"Voice prompt (1-15 s of clean speech)", "Text to speak", "Recording", "Edited transcript"} <= labels
    assert {o.flag for opts in FAMILY_OPTIONS.values() for o in opts} <= labels  # every family's options
    port = _free_port()
    _, url, share = launch(app, "127.0.0.1", port, WebLimits().max_upload_bytes, block=False)
    try:
        assert share is None and url.startswith(f"http://127.0.0.1:{port}")
        assert httpx.get(url, timeout=10).status_code == 200
        # A client naming a server file instead of uploading one gets an error, not the file.
        widgets = 8 + sum(len(opts) for opts in FAMILY_OPTIONS.values())
        data = ["tiny-flow", {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "", "", "Hi.", None,
                "en-us", ""] + [""] * (widgets - 8)
        event = httpx.post(f"{url}gradio_api/call/synthesize", json={"data": data}, timeout=10).json()["event_id"]
        reply = httpx.get(f"{url}gradio_api/call/synthesize/{event}", timeout=60).text
        assert "event: error" in reply and "root:" not in reply
    finally:
        app.close()


def test_web_command_refuses_a_port_in_use(capsys):
    from tts.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["web", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err and "Traceback" not in err
    assert main(["web", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb must be a number > 0" in capsys.readouterr().err


def test_models_offered_are_the_tts_models_of_tts_models():
    from tts.catalog import find_models
    from tts.web.models import web_models

    offered = {m.name: m for m in web_models()}
    listed = {r["name"]: r["family"] for r in find_models()}
    assert set(offered) == {n for n, f in listed.items() if f in ("flow", "valle", "maskgct")}
    assert offered["tiny-flow"].can_edit and not offered["tiny-valle"].can_edit
    assert not {"tiny-vocos", "tiny-melrvq", "tiny-aligner", "tiny-semantic"} & set(offered)
