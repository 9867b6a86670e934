"""The languages a model speaks: ``model.yaml`` ``languages``, checked against what a run asks for.

A model only learns the phonemes and the rhythm of the speech it was trained on: asked
for German text, an English-trained model still runs, and babbles. Each TTS checkpoint
lists its training languages as espeak-ng codes; a bare language (``en``) covers its
varieties (``en-us``, ``en-gb``). A folder without the list was trained on English, as
every checkpoint of this toolkit before the list existed.

:func:`check_language` is the one check, for the text's language (``--language``) and,
with another ``what``, for any other language a run reads (a prompt's).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from text_frontend import resolve_language

from .errors import TTSError

DEFAULT_LANGUAGES = ("en",)


class LanguageError(TTSError, ValueError):
    """A language the model was not trained on, refused (``--strict``)."""


def speaks(languages: Sequence[str], code: str) -> bool:
    """Whether a model trained on ``languages`` speaks espeak-ng code ``code``: the same
    code, or a variety of a listed bare language (``en`` covers ``en-us`` and ``en-gb``)."""
    code = code.lower()
    return any(code == lang.lower() or code.startswith(lang.lower() + "-") for lang in languages)


def check_language(info, language: str, strict: bool = False, what: str = "--language") -> str:
    """The espeak-ng code of ``language``, checked against the languages of a model.

    Args:
        info: the model's :class:`tts.checkpoint.CheckpointInfo` (its ``languages``).
        language: the language a run asks for (any form ``resolve_language`` takes).
        strict: refuse a language the model was not trained on, instead of a warning.
        what: the flag that gave ``language``, for the message.

    Raises:
        LanguageError: with ``strict``, a language the model does not list.
        UnsupportedLanguageError: ``language`` is not one espeak-ng knows.
    """
    code = resolve_language(language)
    if speaks(info.languages, code):
        return code
    message = (f"{info.path.name} was trained on {', '.join(info.languages)} speech only (model.yaml languages), "
               f"not {code} ({what}): it will not pronounce it well. Use a model trained on {code}")
    if strict:
        raise LanguageError(message + " (--strict refuses any other).")
    warnings.warn(message + "; --strict makes this an error.", UserWarning, stacklevel=2)
    return code
