"""The Gradio page: :func:`build_app` lays it out over a :class:`~tts.web.service.WebService`,
:func:`launch` serves it with safe defaults.

Safe defaults: loopback only unless ``host`` says otherwise, no share link, Gradio's
analytics, monitoring page, run history, MCP server and PWA off, no file served but the
results and what was uploaded, an upload size limit, and one action at a time (a queue
with one worker shared by synthesis and editing). The page uses the system's fonts, so
a browser showing it asks nothing of any other host.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import TTSError, is_user_error
from .models import pick
from .service import WebService
from .widgets import flat_widgets, option_widgets, shown_values, values_by_family

QUEUE_MAX = 16  # waiting requests beyond this are turned away by the queue
CONCURRENCY_ID = "synthesis"  # synthesis and editing share one worker
SYSTEM_FONTS = ("ui-sans-serif", "system-ui", "sans-serif")
MONO_FONTS = ("ui-monospace", "monospace")


def import_gradio():
    """Gradio, imported with its analytics off (the variable must be set before the import).

    Raises:
        TTSError: Gradio is not installed.
    """
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        import gradio as gr
    except ImportError as err:
        raise TTSError("`tts web` needs Gradio, which the [web] extra installs: run `make setup`, "
                       "or pip install -e '.[web]'.") from err
    return gr


@contextmanager
def page_errors(gr) -> Iterator[None]:
    """Shows a user error as the page's one-line message (escaped: Gradio renders it as HTML),
    without a traceback; anything else is a bug and propagates (Gradio then shows "Error")."""
    try:
        yield
    except Exception as err:
        if not is_user_error(err):
            raise
        raise gr.Error(html.escape(" ".join(str(err).split()), quote=False), print_exception=False) from None


def _intro(service: WebService) -> str:
    limits = service.limits
    return (
        "# zeroshot-tts\n"
        "Speak a text in the voice of a short recording, or change words in a recording. "
        f"The page reads only the files you upload (at most {limits.max_upload_mb:g} MiB each) and texts of at "
        f"most {limits.max_text_chars} characters; it runs one request at a time. The shipped tiny models were "
        "trained on a CPU on 5 hours of synthetic speech; the README says what each of them can do."
    )


def _outputs(gr, prefix: str):
    """The result widgets: player, download, spectrogram, time taken."""
    audio = gr.Audio(label="Result", type="filepath", interactive=False, buttons=["download"],
                     elem_id=f"{prefix}-audio")
    download = gr.File(label="Download (WAV)", interactive=False, height=80, elem_id=f"{prefix}-download")
    image = gr.Image(label="Mel-spectrogram", type="filepath", interactive=False, buttons=["download", "fullscreen"],
                     elem_id=f"{prefix}-spectrogram")
    info = gr.Textbox(label="Time taken", interactive=False, elem_id=f"{prefix}-info")
    return [audio, download, image, info]


def _shown(gr, result) -> tuple:
    for line in result.warnings:
        gr.Warning(html.escape(line, quote=False))
    audio, image = str(result.audio_path), str(result.spectrogram_path)
    return audio, audio, image, result.summary


def _model_dropdown(gr, models, value: str | None, elem_id: str):
    choices = [(m.label, m.ref) for m in models]
    refs = [m.ref for m in models]
    return gr.Dropdown(choices, value=value if value in refs else (refs[0] if refs else None), label="Model",
                       info="the models of `tts models` (add folders with --model-dir)", elem_id=elem_id)


def _wire_option_groups(gr, service: WebService, dropdown, groups) -> None:
    """Show the option group of the picked model's family, its widgets holding that model's defaults."""

    def show(ref):
        model = _model_of(service, ref)
        family, own = (model.family, model.options) if model else (None, None)
        values = shown_values(groups, family, own)
        return ([gr.update(visible=g.family == family) for g in groups]
                + [gr.update() if v is None else gr.update(value=v) for v in values])

    dropdown.change(show, dropdown, [g.group for g in groups] + flat_widgets(groups), queue=False)


def _model_of(service: WebService, ref: str | None):
    return next((m for m in service.models if m.ref == ref), None)


def _family_of(service: WebService, ref: str | None) -> str | None:
    model = _model_of(service, ref)
    return model.family if model else None


def _synthesis_tab(gr, service: WebService, default_model: str | None) -> None:
    limits = service.limits
    with gr.Row():
        with gr.Column():
            prompt = gr.Audio(label="Voice prompt (1-15 s of clean speech)", sources=["upload", "microphone"],
                              type="filepath", buttons=[], elem_id="synth-prompt")
            prompt_text = gr.Textbox(label="Prompt transcript (optional)", max_length=limits.max_text_chars,
                                     placeholder="What the prompt says; empty: Whisper transcribes it",
                                     elem_id="synth-prompt-text")
            prompt_language = gr.Textbox("", label="Prompt language (optional)", max_lines=1,
                                         placeholder="The language the prompt speaks; empty: the text's language",
                                         elem_id="synth-prompt-language")
            text = gr.Textbox(label="Text to speak", lines=4, max_length=limits.max_text_chars,
                              placeholder="Long texts are split into sentences", elem_id="synth-text")
            text_file = gr.File(label="... or a UTF-8 text file", file_types=[".txt"], type="filepath", height=120,
                                elem_id="synth-text-file")
            model = _model_dropdown(gr, service.models, default_model, "synth-model")
            groups, language, seed = _run_settings(gr, service, service.models, model, "synth")
            button = gr.Button("Synthesize", variant="primary", elem_id="synth-button")
        with gr.Column():
            outputs = _outputs(gr, "synth")
    _wire_option_groups(gr, service, model, groups)

    def run(model_ref, prompt_path, prompt_transcript, prompt_lang, text_value, text_path, language_value, seed_value,
            *values, progress=gr.Progress()):
        with page_errors(gr):
            family = pick(service.models, model_ref).family
            result = service.synthesize(
                model_ref, prompt_path, text_value, prompt_text=prompt_transcript, text_file=text_path,
                language=language_value, seed=seed_value, options=values_by_family(groups, values).get(family, {}),
                progress=lambda done, total: progress((done, total), desc="Synthesizing", unit="sentences"),
                prompt_language=prompt_lang)
        return _shown(gr, result)

    button.click(run, [model, prompt, prompt_text, prompt_language, text, text_file, language, seed,
                       *flat_widgets(groups)], outputs,
                 concurrency_limit=1, concurrency_id=CONCURRENCY_ID, api_name="synthesize")


def _run_settings(gr, service: WebService, models, model, prefix: str):
    """The model's own options (one group per family of ``models``), language and seed."""
    with gr.Accordion("Model options", open=False, elem_id=f"{prefix}-options"):
        first = _model_of(service, model.value)
        groups = option_widgets(gr, sorted({m.family for m in models}), first.family if first else None, prefix,
                                first.options if first else None)
    with gr.Row():
        language = gr.Textbox("en-us", label="Language", info="espeak-ng code or name (`tts languages`)",
                              elem_id=f"{prefix}-language")
        seed = gr.Textbox("", label="Seed", info="a whole number; empty: random", max_lines=1,
                          elem_id=f"{prefix}-seed")
    return groups, language, seed


def _editing_tab(gr, service: WebService, default_model: str | None) -> None:
    limits = service.limits
    editors = service.editing_models
    with gr.Row():
        with gr.Column():
            gr.Markdown("Change words in a recording: only the words that differ between the two transcripts "
                        "are regenerated; every other sample is kept.")
            recording = gr.Audio(label="Recording", sources=["upload", "microphone"], type="filepath", buttons=[],
                                 elem_id="edit-recording")
            transcript = gr.Textbox(label="Its transcript", max_length=limits.max_text_chars,
                                    elem_id="edit-transcript")
            new_transcript = gr.Textbox(label="Edited transcript", max_length=limits.max_text_chars,
                                        elem_id="edit-new-transcript")
            model = _model_dropdown(gr, editors, default_model, "edit-model")
            groups, language, seed = _run_settings(gr, service, editors, model, "edit")
            button = gr.Button("Edit", variant="primary", elem_id="edit-button")
        with gr.Column():
            outputs = _outputs(gr, "edit")
    _wire_option_groups(gr, service, model, groups)

    def run(model_ref, recording_path, old, new, language_value, seed_value, *values, progress=gr.Progress()):
        with page_errors(gr):
            family = pick(service.models, model_ref, editing=True).family
            progress(None, desc="Editing")
            result = service.edit(model_ref, recording_path, old, new, language=language_value, seed=seed_value,
                                  options=values_by_family(groups, values).get(family, {}))
        return _shown(gr, result)

    button.click(run, [model, recording, transcript, new_transcript, language, seed, *flat_widgets(groups)], outputs,
                 concurrency_limit=1, concurrency_id=CONCURRENCY_ID, api_name="edit")


def build_app(service: WebService, default_model: str | None = None):
    """The page (a ``gradio.Blocks``): a synthesis tab and an editing tab over ``service``."""
    gr = import_gradio()
    with gr.Blocks(title="zeroshot-tts", analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(_intro(service))
        with gr.Tab("Synthesis", elem_id="tab-synthesis"):
            _synthesis_tab(gr, service, default_model)
        with gr.Tab("Editing", elem_id="tab-editing"):
            _editing_tab(gr, service, default_model)
    return app


def launch(app, host: str, port: int, max_upload_bytes: int, block: bool = True):
    """Serve ``app`` at ``http://host:port`` with the safe defaults of this module.

    Args:
        block: wait until the server stops (Ctrl+C); False returns once it is up.
    """
    gr = import_gradio()
    app.queue(default_concurrency_limit=1, max_size=QUEUE_MAX)
    theme = gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))
    return app.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
                      quiet=True, max_file_size=max_upload_bytes, enable_monitoring=False, run_history=False,
                      footer_links=[], mcp_server=False, pwa=False, ssr_mode=False, strict_cors=True,
                      theme=theme, prevent_thread_lock=not block)
