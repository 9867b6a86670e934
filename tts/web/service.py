"""The page's two actions as plain Python: :meth:`WebService.synthesize` and :meth:`WebService.edit`.

They take what the page's widgets hold and go through the same steps as `tts synth` and
`tts edit`, with the same functions: the model and its options are checked from its
model.yaml (:func:`tts.prechecks.check_model`, so the messages are the CLI's), then
the text, language and prompt (:func:`tts.prechecks.precheck`: an empty prompt
transcript means Whisper transcribes it), and only then is the model loaded (once, by
:class:`tts.web.models.ModelCache`) and run through :class:`tts.Synthesizer`. Every input
a user can get wrong raises a one-line :class:`tts.errors.TTSError` (or the front-end's
``FrontendError``); the page shows that line.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from text_frontend import resolve_language
from text_frontend.normalize import check_text

from ..audio import load
from ..options import Option, family_options, format_value
from ..prechecks import check_model, precheck
from .inputs import WebLimits, limited_text, optional_text, seed_value, text_to_speak, uploaded_file
from .models import ModelCache, WebModel, pick
from .spectrogram import save_spectrogram

OUTPUT_MAX_AGE_S = 3600  # results older than this are deleted from the output folder
# Sentences per model call. One, so that the page's progress moves sentence by sentence
# (the CLI batches 8); on the CPU that is no slower: 12 sentences of tiny-flow at NFE 4
# took 11-16 s one at a time and 13-18 s in batches of 8 on the 2-core VM.
SENTENCES_PER_CALL = 1


@dataclass
class WebResult:
    """What the page shows after an action.

    Attributes:
        audio_path: the result as a WAV file (the player and the download).
        spectrogram_path: its mel-spectrogram as a PNG.
        duration: seconds of audio.
        seconds: seconds the synthesis or edit took (without loading the model).
        summary: one line for the page: durations, real-time factor, model, device.
        warnings: one line per warning raised on the way (a prompt cut to 15 s...).
    """

    audio_path: Path
    spectrogram_path: Path
    duration: float
    seconds: float
    summary: str
    warnings: list[str] = field(default_factory=list)


def default_text(opt: Option, own: Mapping[str, Any] | None = None) -> str:
    """An option's default as its widget shows it: ``16``, ``-1``, ``euler``; empty when the
    model decides. ``own``: the model's own defaults, which replace the family's."""
    value = opt.default_for(own)
    return "" if value is None else format_value(value)


def given_options(family: str, values: Mapping[str, Any], own: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The options a user set: widget values that are not empty and differ from the default
    the widget showed (the model's own, ``own``, or the family's). Like a flag left out on
    the command line, an untouched widget lets the model use its own default. Values stay
    as given (text from the page, as from the command line) for
    :func:`tts.options.check_options` to parse; names the family does not have are kept,
    so that it refuses them with its message."""
    spec = family_options(family)
    given = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
            if not value or (name in spec and value == default_text(spec[name], own)):
                continue
        elif value is None or (name in spec and value == spec[name].default_for(own)):
            continue
        given[name] = value
    return given


@contextmanager
def _collected_warnings():
    """Collects the ``UserWarning`` lines raised inside, each once (the CLI prints them the same way).

    Python's warning state is global: this is meant for one action at a time, which the
    page's queue guarantees.
    """
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        yield lines
    for w in caught:
        if issubclass(w.category, UserWarning) and not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            text = " ".join(str(w.message).split())
            if text not in lines:
                lines.append(text)


class WebService:
    """The models, limits and output folder of one page, and its actions.

    Args:
        models: the models the page offers (:func:`tts.web.models.web_models`).
        upload_root: the only folder input files are read from (Gradio's upload folder).
        limits: upload size and text length limits.
        device: ``cpu``, ``cuda`` or None (CUDA when available).
        out_dir: where results are written (default: a new temporary folder).
    """

    def __init__(self, models: list[WebModel], upload_root: str | os.PathLike, limits: WebLimits | None = None,
                 device: str | None = None, out_dir: str | os.PathLike | None = None) -> None:
        self.models = list(models)
        self.upload_root = Path(upload_root)
        self.limits = limits or WebLimits()
        self.cache = ModelCache(device)
        self.out_dir = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="tts-web-"))
        self._count = itertools.count(1)

    @property
    def editing_models(self) -> list[WebModel]:
        return [m for m in self.models if m.can_edit]

    def preload(self, ref: str) -> float:
        """Load a model now (the page's default, at start-up); returns the seconds it took."""
        return self.cache.get(pick(self.models, ref).ref)[2]

    # ------------------------------------------------------------------ actions
    def synthesize(self, model: str, prompt: str | os.PathLike | None, text: str | None,
                   prompt_text: str | None = None, text_file: str | os.PathLike | None = None,
                   language: str | None = "en-us", seed: float | int | str | None = None,
                   options: Mapping[str, Any] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   prompt_language: str | None = None) -> WebResult:
        """Speak ``text`` (or the uploaded ``text_file``) in the voice of the uploaded ``prompt``.

        Args:
            model: a model of :attr:`models` (its ref or name).
            prompt: the uploaded or recorded voice prompt.
            prompt_text: its transcript; empty: Whisper transcribes it.
            prompt_language: the language the prompt speaks; empty: ``language``.
            options: the model's option widgets, name -> value (see :func:`given_options`).
            progress: called as ``progress(sentences done, sentences in all)``.

        Raises:
            TTSError, FrontendError: one line naming the problem and the fix.
        """
        chosen = pick(self.models, model)
        _, checked = check_model(chosen.ref, given_options(chosen.family, options or {}, chosen.options))
        prompt_path = str(uploaded_file(prompt, "The voice prompt", self.upload_root, self.limits))
        text = text_to_speak(text, text_file, self.upload_root, self.limits)
        prompt_text = optional_text(prompt_text, "The prompt transcript", self.limits)
        seed = seed_value(seed)
        with _collected_warnings() as lines:
            job = {"line": None, "text": text, "prompt": prompt_path, "prompt_text": prompt_text}
            spoken = (prompt_language or "").strip() or None
            code, prompts = precheck([job], language or "en-us", spoken)
            spoken = resolve_language(spoken) if spoken else code
            synth, lock, load_seconds = self.cache.get(chosen.ref)
            with lock:
                t0 = time.perf_counter()
                heard = None
                if prompt_text is None:  # transcribed here (as synthesize would) to show what Whisper heard
                    prompt_text = heard = synth.transcribe(prompts[prompt_path], spoken)
                audio = synth.synthesize(text, prompts[prompt_path], prompt_text=prompt_text, language=code,
                                         prompt_language=spoken, seed=seed, batch_size=SENTENCES_PER_CALL,
                                         progress=progress, options=checked)
                seconds = time.perf_counter() - t0
        result = self._result("synthesis", audio, seconds, load_seconds, chosen, synth, lines)
        if heard is not None:
            result.summary += f" Whisper heard the prompt say: \"{heard}\""
        return result

    def edit(self, model: str, recording: str | os.PathLike | None, transcript: str | None,
             new_transcript: str | None, language: str | None = "en-us", seed: float | int | str | None = None,
             options: Mapping[str, Any] | None = None) -> WebResult:
        """Regenerate the words that differ between ``transcript`` and ``new_transcript`` in
        the uploaded ``recording`` (as `tts edit`: the span is found by the model's aligner or
        by Whisper).

        Raises:
            TTSError, FrontendError: one line naming the problem and the fix.
        """
        chosen = pick(self.models, model, editing=True)
        _, checked = check_model(chosen.ref, given_options(chosen.family, options or {}, chosen.options))
        path = uploaded_file(recording, "The recording", self.upload_root, self.limits)
        texts = {"The transcript": transcript, "The edited transcript": new_transcript}
        for what, text in texts.items():
            try:
                check_text(limited_text(text, what, self.limits))
            except ValueError as err:
                raise type(err)(f"{what}: {err}" if not str(err).startswith(what) else str(err)) from err
        seed = seed_value(seed)
        code = resolve_language(language or "en-us")
        source = load(path)
        with _collected_warnings() as lines:
            synth, lock, load_seconds = self.cache.get(chosen.ref)
            with lock:
                t0 = time.perf_counter()
                audio = synth.edit(source, transcript, new_transcript, language=code, seed=seed, options=checked)
                seconds = time.perf_counter() - t0
        return self._result("edit", audio, seconds, load_seconds, chosen, synth, lines)

    # ------------------------------------------------------------------ results
    def _result(self, kind: str, audio, seconds: float, load_seconds: float, model: WebModel, synth,
                lines: list[str]) -> WebResult:
        self._prune()
        stem = f"{kind}-{next(self._count):04d}"
        wav = audio.save(self.out_dir / f"{stem}.wav", overwrite=True)
        png = save_spectrogram(audio, self.out_dir / f"{stem}.png")
        summary = (f"{audio.duration:.2f} s of audio in {seconds:.2f} s (real-time factor "
                   f"{seconds / max(audio.duration, 1e-9):.2f}) with {model.name} on {synth.device}")
        if load_seconds:
            summary += f"; loading the model took {load_seconds:.1f} s first"
        return WebResult(wav, png, audio.duration, seconds, summary + ".", lines)

    def _prune(self) -> None:
        """Delete results older than :data:`OUTPUT_MAX_AGE_S` (the page has served them by then)."""
        cutoff = time.time() - OUTPUT_MAX_AGE_S
        for path in self.out_dir.glob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
