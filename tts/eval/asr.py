"""Speech recognition for WER and prompt transcripts: faster-whisper, offline.

Example::

    asr = WhisperASR()                     # packaged Whisper-base; CPU int8 or CUDA fp16
    asr.transcribe("out.wav")              # 'The birch canoe slid on the smooth planks.'
    asr.transcribe_words(wav, 24000).words # [Word(text='The', start=0.0, end=0.22, ...), ...]

The model is resolved by :func:`~tts.eval.whisper_model.resolve_whisper_model`
(packaged default, local CTranslate2 folder, or a cached name such as
``"large-v3"``, the field's standard for TTS WER).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from text_frontend import whisper_language

from .errors import EvalError, ModelFolderError, require
from .inputs import EVAL_SAMPLE_RATE, AudioLike, to_mono_numpy
from .whisper_model import resolve_whisper_model


def asr_language(language: str) -> str:
    """Whisper's code for a language given as an espeak-ng code or name (``"english"`` -> ``"en"``).

    Raises:
        UnsupportedLanguageError: espeak-ng does not know the language.
        EvalError: Whisper cannot transcribe it (espeak-ng speaks more languages than Whisper knows).
    """
    code = whisper_language(language)
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES as known  # the list WhisperModel checks against
    except ImportError:  # no [eval] extra: WhisperASR itself will say so
        return code
    if code not in known:
        raise EvalError(f"The speech recognizer (Whisper) cannot transcribe language {language!r} (code {code!r}): "
                        "give the prompt's transcript yourself with --prompt-text.")
    return code


@dataclass(frozen=True)
class Word:
    """A recognized word and where it is, in seconds from the start of the input."""

    text: str
    start: float
    end: float
    probability: float


@dataclass
class Transcript:
    """What :meth:`WhisperASR.transcribe_words` returns.

    Attributes:
        text: the transcript, segments joined by spaces.
        words: word timings (empty unless requested).
        language: the language decoded (the forced one, or the detected one).
        duration: length of the input in seconds.
    """

    text: str
    words: list[Word] = field(default_factory=list)
    language: str | None = None
    duration: float = 0.0


def resolve_device(device: str | None) -> tuple[str, int]:
    """``"auto"``/``None``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> (kind, index).

    Raises:
        EvalError: CUDA asked for but CTranslate2 sees no CUDA device, or an
            unknown device string.
    """
    ct2 = require("ctranslate2")
    text = (device or "auto").lower()
    n_gpu = ct2.get_cuda_device_count()
    if text == "auto":
        return ("cuda", 0) if n_gpu > 0 else ("cpu", 0)
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise EvalError(f"Unknown device '{device}': use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if kind == "cuda" and int(index or 0) >= n_gpu:
        raise EvalError(
            f"Device '{device}' was asked for, but CTranslate2 sees {n_gpu} CUDA device(s): "
            "use device='cpu' (or 'auto'), or install a CUDA build of ctranslate2."
        )
    return kind, int(index or 0)


class WhisperASR:
    """A faster-whisper model with decoding options suited to TTS evaluation.

    Decoding is reproducible: beam search, and the temperature fallback Whisper takes
    when a window decodes into repetitions or at a low likelihood samples from a seeded
    stream, so the same clips in the same order get the same transcripts in every run
    (unseeded, 10 of 60 babbling VALL-E syntheses came back with other words on a second
    run). A clip's fallback draws depend on the clips before it in the same model. It
    does not condition on previous text (no hallucination chains across windows)
    and forces the language when one is given, because language detection on a
    2-second synthetic clip is unreliable.

    Args:
        model: ``None``/``"base"`` (packaged Whisper-base), a CTranslate2 folder, or
            a cached name/Hub id such as ``"large-v3"``.
        device: ``"auto"`` (CUDA when CTranslate2 sees a GPU), ``"cpu"``, ``"cuda[:N]"``.
        compute_type: CTranslate2 compute type; default ``int8`` on CPU and
            ``float16`` on CUDA.
        language: ISO code to force (``"en"``; an espeak code like ``"en-us"`` is
            cut to ``"en"``), or ``None`` to detect.
        beam_size: beam width (5 is faster-whisper's and the TTS papers' setting).
        cpu_threads: CTranslate2 threads on CPU (0: its default).
        seed: seed of the fallback's sampling (CTranslate2 seeds each decoding thread's
            generator once, at its first draw: set here, before this model decodes).
        cache_dir: where the packaged model is assembled (default ``$TTS_CACHE``).
    """

    sample_rate = EVAL_SAMPLE_RATE

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        device: str | None = "auto",
        compute_type: str | None = None,
        language: str | None = "en",
        beam_size: int = 5,
        cpu_threads: int = 0,
        cache_dir: str | os.PathLike | None = None,
        seed: int = 0,
    ) -> None:
        if beam_size < 1:
            raise EvalError(f"beam_size must be at least 1, got {beam_size}.")
        self.model_path: Path = resolve_whisper_model(model, cache_dir)
        self.model_name = (
            "whisper-base (packaged)"
            if model is None
            or str(model).lower()
            in (
                "base",
                "whisper-base",
            )
            else str(model)
        )
        self.device, index = resolve_device(device)
        self.compute_type = compute_type or ("float16" if self.device == "cuda" else "int8")
        self.language = asr_language(language) if language else None
        self.beam_size = beam_size
        self.seed = seed
        fw = require("faster_whisper", "faster-whisper")
        require("ctranslate2", "ctranslate2").set_random_seed(seed)
        try:
            self._model = fw.WhisperModel(
                str(self.model_path),
                device=self.device,
                device_index=index,
                compute_type=self.compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelFolderError(
                f"Cannot load the Whisper model in '{self.model_path}' on {self.device} "
                f"({self.compute_type}): {err}. Check that the folder is a complete CTranslate2 "
                "Whisper model, or choose another compute_type (e.g. 'float32')."
            ) from err

    def __repr__(self) -> str:
        return (
            f"WhisperASR(model={self.model_name!r}, device={self.device!r}, "
            f"compute_type={self.compute_type!r}, language={self.language!r})"
        )

    def _decode(self, audio: AudioLike, sample_rate: int | None, word_timestamps: bool) -> Transcript:
        wav = to_mono_numpy(audio, sample_rate, self.sample_rate)
        segments, info = self._model.transcribe(
            wav,
            language=self.language,
            beam_size=self.beam_size,
            condition_on_previous_text=False,
            word_timestamps=word_timestamps,
            # Segment timestamps cost decoding steps and are unused without words.
            without_timestamps=not word_timestamps,
            vad_filter=False,
        )
        texts, words = [], []
        for seg in segments:  # a generator: decoding happens here
            texts.append(seg.text.strip())
            for w in seg.words or ():
                words.append(Word(w.word.strip(), float(w.start), float(w.end), float(w.probability)))
        text = " ".join(t for t in texts if t)
        return Transcript(text=text, words=words, language=info.language, duration=len(wav) / self.sample_rate)

    def transcribe(self, audio: AudioLike, sample_rate: int | None = None) -> str:
        """Transcribe one clip.

        Args:
            audio: a path, an ``Audio``, or a waveform ``[T]`` (resampled to 16 kHz).
            sample_rate: the rate of a raw waveform.

        Returns:
            The recognized text (raw: punctuation and case as Whisper wrote them;
            :func:`tts.eval.intelligibility.normalize_text` prepares it for scoring).
        """
        return self._decode(audio, sample_rate, word_timestamps=False).text

    def transcribe_words(self, audio: AudioLike, sample_rate: int | None = None) -> Transcript:
        """Transcribe one clip with word timestamps (speech editing needs them).

        Returns:
            A :class:`Transcript` whose ``words`` hold start/end seconds.
        """
        return self._decode(audio, sample_rate, word_timestamps=True)

    def transcribe_many(self, audios: Sequence[AudioLike], sample_rate: int | None = None) -> list[str]:
        """:meth:`transcribe` for each clip, in order."""
        return [self.transcribe(a, sample_rate) for a in audios]
