"""What a synthesis run can refuse, checked before its model is loaded (that takes seconds).

`tts synth`, `tts edit` and the web page check the model and its options from its
``model.yaml`` alone (:func:`check_model`), then the language, prompts and texts
(:func:`precheck`), with the same messages, and only then load the model. The prompts
come back prepared (:class:`tts.audio.Prompt`), and the Synthesizer uses them as they are.
"""

from __future__ import annotations

from text_frontend import resolve_language
from text_frontend.normalize import check_text

from .audio import load_prompt
from .checkpoint import read_checkpoint
from .eval.asr import asr_language
from .options import CheckedOptions, with_defaults
from .validation import check_model_limits, check_tts_model

DEFAULT_SAMPLE_RATE = 24000  # Vocos 24 kHz; every shipped model uses it


def check_model(model: str, raw_options: dict) -> tuple[str, CheckedOptions]:
    """``(family, checked options)`` of a model, from its model.yaml alone (no weights are read):
    the options given over the model's own defaults (model.yaml ``options``).

    Raises:
        CheckpointError: no such model (the message lists the shipped ones), or not a TTS model.
        OptionError: an option the model does not take, a value out of range, or one the
            model's config cannot take (more --s2a-steps counts than codebooks).
    """
    info = read_checkpoint(model, verify=False)
    check_tts_model(info)
    options = with_defaults(info.family, raw_options, info.options, model=info.path.name)
    check_model_limits(info, options)
    return info.family, CheckedOptions(options, info.path)


def precheck(jobs: list[dict], language: str, prompt_language: str | None = None) -> tuple[str, dict]:
    """Fail on bad text, language or prompts before the model is loaded (that takes seconds).

    Returns the espeak-ng code of ``language`` and the loaded prompts by path, so
    each prompt file is read (and warned about) once. ``prompt_language`` (default:
    ``language``) is the language the prompts speak: Whisper transcribes them in it.
    """
    code = resolve_language(language)
    if prompt_language:
        resolve_language(prompt_language)
    if any(not job["prompt_text"] for job in jobs):  # Whisper will transcribe: does it know the language?
        asr_language(prompt_language or language)
    prompts = {p: load_prompt(p, DEFAULT_SAMPLE_RATE) for p in dict.fromkeys(j["prompt"] for j in jobs)}
    for job in jobs:
        try:
            check_text(job["text"])
        except ValueError as err:
            raise type(err)(f"Line {job['line']}: {err}" if job["line"] else str(err)) from err
    return code, prompts
