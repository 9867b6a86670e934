"""``Synthesizer``: the one facade the CLI, the Python API and the evaluator all use.

    >>> from tts import Synthesizer
    >>> tts = Synthesizer.from_pretrained("tiny-flow")            # or a checkpoint folder
    >>> audio = tts.synthesize("Hello there.", "prompt.wav", prompt_text="What the prompt says.")
    >>> audio.save("out.wav")

It resolves the checkpoint, loads the model family's backend (model + vocoder/codec),
reads the checkpoint's phoneme vocabulary, and owns everything users touch: text
normalization and sentence splitting, prompt loading and checks, the prompt
transcript (Whisper when not given), option validation, batching and joining.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from text_frontend import Frontend, PhonemeVocab, resolve_language

from .audio import PROMPT_MAX_SECONDS, Audio, Prompt, join, load, load_prompt, prepare_prompt, resample
from .backends import backend_class
from .checkpoint import CheckpointError, read_checkpoint, shipped_models
from .editing import changed_span, locate_span
from .errors import InputError, TTSError
from .eval.asr import WhisperASR, asr_language
from .languages import check_language
from .options import CheckedOptions, family_options, with_defaults
from .recognizer import SHIPPED_ALIGNER, PhoneRecognizer, check_transcript
from .validation import check_batch_size, check_device, check_prompt_text, check_seed, check_tts_model, sentence_seconds

# progress(sentences done, sentences in all), called after each batch of sentences
Progress = Callable[[int, int], None]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; another device than CPU or CUDA, or CUDA
    without one, is an :class:`tts.errors.InputError` (:func:`tts.validation.check_device`)."""
    return check_device(device)


class Synthesizer:
    """A loaded model ready to speak.

    Use :meth:`from_pretrained`; the constructor takes already-built parts.
    """

    def __init__(self, backend, vocab, info, device: torch.device) -> None:
        self.backend = backend
        self.vocab = vocab
        self.info = info
        self.device = device
        self._frontends: dict[tuple[str, bool], Any] = {}
        self._asr = None
        self._recognizer = None  # tts.recognizer.PhoneRecognizer, loaded by the first edit

    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike, device: str | torch.device | None = None) -> "Synthesizer":
        """Load a shipped model (``tiny-flow``, ``tiny-valle``, ``tiny-maskgct``) or a checkpoint folder.

        Raises:
            CheckpointError: unknown name, missing/corrupt folder (the message lists the shipped models),
                or a model that does not speak (an aligner, a codec).
            InputError: a device other than CPU or CUDA, or CUDA asked for but absent.
        """
        dev = resolve_device(device)
        info = read_checkpoint(name_or_dir)
        check_tts_model(info)
        backend_cls = backend_class(info.family)
        if info.vocab_path is None:
            raise CheckpointError(f"'{info.path}' has no vocab.json: a text-to-speech checkpoint needs its vocabulary.")
        vocab = PhonemeVocab.load(info.vocab_path)
        with torch.inference_mode():
            backend = backend_cls.load(info, dev)
        return cls(backend, vocab, info, dev)

    # ------------------------------------------------------------------ properties
    @property
    def sample_rate(self) -> int:
        return self.backend.sample_rate

    @property
    def family(self) -> str:
        return self.info.family

    @property
    def options(self) -> dict[str, type]:
        """Model options this model accepts (besides ``seed``), name -> type; their ranges
        are in :data:`tts.options.FAMILY_OPTIONS`."""
        return {name: opt.kind for name, opt in family_options(self.family).items()}

    def __repr__(self) -> str:
        return f"Synthesizer({self.info.path.name!r}, family={self.family!r}, device={str(self.device)!r})"

    # ------------------------------------------------------------------ helpers
    def frontend(self, language: str = "en-us", with_stress: bool = True):
        key = (resolve_language(language), with_stress)
        if key not in self._frontends:
            self._frontends[key] = Frontend(key[0], with_stress=with_stress, vocab=self.vocab)
        return self._frontends[key]

    @property
    def option_defaults(self) -> dict[str, Any]:
        """The value each option takes when none is given: the model's own default
        (``model.yaml`` ``options``) or else its family's (None: decided per input)."""
        own = self.info.options
        return {name: opt.default_for(own) for name, opt in family_options(self.family).items()}

    def check_options(self, options: Mapping[str, Any]) -> CheckedOptions:
        """The given (not None) options over the model's own defaults (``model.yaml``
        ``options``), checked and converted; options checked for this model's folder already
        (:func:`tts.prechecks.check_model`) are returned as they are.

        Raises:
            OptionError: an option this model does not take, or a value out of range.
        """
        if isinstance(options, CheckedOptions) and options.folder == self.info.path:
            return options
        return CheckedOptions(with_defaults(self.family, options, self.info.options, model=self.info.path.name),
                              self.info.path)

    def _options(self, options: Mapping[str, Any] | None, model_options: dict[str, Any]) -> CheckedOptions:
        if options is not None and model_options:
            raise TTSError("Give the model options either as keywords or as options=, not both.")
        return self.check_options(model_options if options is None else options)

    def transcribe(self, audio: Audio, language: str = "en-us") -> str:
        """The transcript of a prompt, by the evaluation suite's Whisper (``pip install .[eval]``).

        Raises:
            TTSError: the ASR is not installed, it cannot transcribe ``language``, or it heard nothing.
            UnsupportedLanguageError: ``language`` is not a language espeak-ng knows.
        """
        code = asr_language(language)
        if self._asr is None:
            try:
                self._asr = WhisperASR(device="cuda" if self.device.type == "cuda" else "cpu")
            except ImportError as err:
                raise TTSError("No prompt transcript was given and no speech recognizer is installed: pass "
                               "--prompt-text or install the [eval] extra.") from err
        self._asr.language = code
        text = self._asr.transcribe(audio.wav, audio.sample_rate).strip()
        if not text:
            raise TTSError("The speech recognizer heard no words in the prompt: pass its transcript with --prompt-text.")
        return text

    def _prompt(self, prompt_audio) -> Prompt:
        if isinstance(prompt_audio, Prompt) and prompt_audio.sample_rate == self.sample_rate:
            return prompt_audio  # prepared already (tts.prechecks.precheck, load_prompt)
        if isinstance(prompt_audio, Audio):
            return prepare_prompt(prompt_audio, self.sample_rate)
        return load_prompt(prompt_audio, self.sample_rate)

    # ------------------------------------------------------------------ synthesis
    @torch.inference_mode()
    def synthesize(self, text: str, prompt_audio: str | os.PathLike | Audio, prompt_text: str | None = None,
                   language: str = "en-us", seed: int | None = None, batch_size: int = 8,
                   progress: Progress | None = None, options: Mapping[str, Any] | None = None,
                   prompt_language: str | None = None, **model_options: Any) -> Audio:
        """Speak ``text`` in the voice of ``prompt_audio``.

        Args:
            text: any length; it is normalized and split into sentences, which are
                synthesized in batches and joined with short cross-fades.
            prompt_audio: a file path or an :class:`Audio` (1-15 s of clean speech); a
                :class:`tts.audio.Prompt` (:func:`tts.audio.load_prompt`) is used as it is.
            prompt_text: the prompt's transcript; transcribed with Whisper if omitted.
            language: espeak-ng language code of the text (and of the prompt, unless
                ``prompt_language`` says otherwise).
            seed: makes the output reproducible.
            batch_size: sentences per model call.
            progress: called as ``progress(done, total)`` before the first and after each
                batch of sentences.
            options: the model's options as one mapping, instead of ``model_options`` (options
                checked by :func:`tts.prechecks.check_model` for this model are not checked again).
            prompt_language: the language the prompt speaks, when it is not ``language``: a French
                prompt for English text (cross-lingual); its transcript is phonemized (and, if
                missing, transcribed) in it.
            model_options: the model's options (see :attr:`option_defaults`), e.g. ``nfe=16``.

        Returns:
            The speech, at :attr:`sample_rate`.

        Raises:
            OptionError: a model option it does not take or out of range (before any work).
            InputError: a seed, batch size or prompt transcript that cannot be used.
            FrontendError, AudioError, TTSError: unusable text, language or prompt.
        """
        options = self._options(options, model_options)
        seed, batch_size = check_seed(seed), check_batch_size(batch_size)
        prompt_text = check_prompt_text(prompt_text, "prompt_text")
        fe = self.frontend(language)
        check_language(self.info, fe.language)
        prompt_fe = fe if prompt_language is None else self.frontend(prompt_language)
        if prompt_fe is not fe and prompt_fe.language != fe.language:
            check_language(self.info, prompt_fe.language, what="prompt_language")
        sentences = fe.split(text)
        seqs = fe.encode_batch(sentences)
        # one duration for the whole text: shared between sentences by phoneme count
        durations = sentence_seconds(options.get("duration"), [len(s) for s in seqs])
        prompt = self._prompt(prompt_audio)
        if prompt_text is None:
            prompt_text = self.transcribe(prompt, prompt_language or language)
        prompt_ids = list(prompt_fe.encode(prompt_text).ids)
        wavs: list[torch.Tensor] = []
        if progress is not None:
            progress(0, len(seqs))
        for i in range(0, len(seqs), batch_size):
            chunk = seqs[i: i + batch_size]
            opts = dict(options)
            if opts.get("duration") is not None:
                opts["duration"] = sum(durations[i: i + batch_size])
            batch_seed = None if seed is None else seed + i
            wavs += self.backend.synthesize(prompt.wav, prompt_ids, [list(s.ids) for s in chunk],
                                            seed=batch_seed, **opts)
            if progress is not None:
                progress(len(wavs), len(seqs))
        return Audio(join(wavs, self.sample_rate), self.sample_rate)

    # ------------------------------------------------------------------ editing
    @torch.inference_mode()
    def edit(self, audio: str | os.PathLike | Audio, transcript: str, new_transcript: str,
             start: float | None = None, end: float | None = None, language: str = "en-us",
             seed: int | None = None, options: Mapping[str, Any] | None = None, check_transcript: bool = True,
             **model_options: Any) -> Audio:
        """Regenerate only the words that differ between ``transcript`` and ``new_transcript``.

        The changed span is found from word timestamps of the evaluation suite's
        Whisper, or given as ``start``/``end`` seconds; an aligned flow model finds it
        with its phone aligner instead (``start``/``end`` must then be left out).
        Everything outside the span is kept sample-exact (20 ms cross-fades at the seams).
        ``options`` / ``model_options``: as for :meth:`synthesize`.

        With ``check_transcript`` (the default), a phone aligner first checks that the
        recording says ``transcript`` (:func:`tts.recognizer.check_transcript`): regenerating
        the "changed" words of a transcript it never said would damage the words it did say.

        Raises:
            InputError: the model cannot edit, the transcripts are identical, or the
                recording does not say ``transcript``.
            TTSError: the span is outside the audio.
        """
        if not self.backend.can_edit:
            raise InputError(f"Models of family {self.family!r} cannot edit speech; use a flow model (e.g. tiny-flow).")
        options = self._options(options, model_options)
        seed = check_seed(seed)
        fe = self.frontend(language)
        check_language(self.info, fe.language)
        if isinstance(audio, Audio):
            source = Audio(resample(audio.wav, audio.sample_rate, self.sample_rate), self.sample_rate)
        else:
            source = load(audio, self.sample_rate)
        if source.duration > 4 * PROMPT_MAX_SECONDS:
            raise TTSError(f"The recording is {source.duration:.0f} s long; edit at most "
                           f"{4 * PROMPT_MAX_SECONDS:.0f} s at a time (cut it around the words to change).")
        old_words, new_words = fe.normalize(transcript).split(), fe.normalize(new_transcript).split()
        span = changed_span(old_words, new_words)
        if span is None:
            raise InputError("The new transcript says the same words as the old one: nothing to edit.")
        (i1, i2), (j1, j2) = span
        if check_transcript:
            self._check_transcript(source, transcript, fe.language)
        if self.backend.locates_edits:  # an aligned model aligns the recording with its transcript itself
            if start is not None or end is not None:
                raise TTSError(f"{self.info.path.name} finds the changed words with its phone aligner: leave out "
                               "--start/--end.")
            wav = self.backend.edit_words(source.wav, fe.encode(" ".join(old_words)).ids,
                                          fe.encode(" ".join(new_words)).ids, seed=seed, **options)
            return Audio(wav, self.sample_rate)
        if start is None or end is None:
            if self._asr is None:
                self.transcribe(source, language)  # builds the recognizer
            words = self._asr.transcribe_words(source.wav, source.sample_rate).words
            start, end = locate_span(old_words, words, i1, i2)
        if not 0 <= start <= end <= source.duration:
            raise TTSError(f"The span {start:.2f}-{end:.2f} s is outside the {source.duration:.2f} s recording.")
        old_ids = fe.encode(" ".join(old_words[i1:i2])).ids if i2 > i1 else ()
        new_ids = fe.encode(" ".join(new_words[j1:j2])).ids if j2 > j1 else ()
        if old_ids:
            new_seconds = (end - start) * len(new_ids) / len(old_ids)
        else:  # pure insertion: the recording's own speaking rate
            new_seconds = len(new_ids) * source.duration / max(1, len(fe.encode(transcript).ids))
        full_ids = list(fe.encode(" ".join(new_words)).ids)
        wav = self.backend.edit(source.wav, start, end, new_seconds, full_ids, seed=seed, **options)
        return Audio(wav, self.sample_rate)

    def _check_transcript(self, source: Audio, transcript: str, language: str) -> None:
        """Refuse a transcript ``source`` does not say, by the model's own phone aligner or
        else the shipped one; without either, a warning that nothing was checked."""
        if self._recognizer is None:
            aligner = self.info.dependencies.get("aligner") or shipped_models().get(SHIPPED_ALIGNER)
            if aligner is None:
                warnings.warn("No phone aligner to check the transcript with (the model names none and "
                              f"{SHIPPED_ALIGNER} is not here): it is taken as given.", UserWarning, stacklevel=3)
                return
            self._recognizer = PhoneRecognizer(aligner, self.device)
        check_transcript(self._recognizer, source.wav, source.sample_rate, transcript, language)

    def synthesize_many(self, texts: Sequence[str], prompt_audio, prompt_text: str | None = None,
                        language: str = "en-us", seed: int | None = None, **model_options: Any) -> list[Audio]:
        """One :class:`Audio` per text, all in the same voice (the prompt is loaded once)."""
        prompt = self._prompt(prompt_audio)
        options = self.check_options(model_options)
        if prompt_text is None:
            prompt_text = self.transcribe(prompt, language)
        return [self.synthesize(t, prompt, prompt_text, language, None if seed is None else seed + k, options=options)
                for k, t in enumerate(texts)]
