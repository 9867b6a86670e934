"""Text front-end: normalize -> phonemize (phonemizer + espeak-ng) -> ids.

Plain Python; imports neither torch (except lazily) nor the rest of the toolkit.

    >>> from text_frontend import Frontend
    >>> Frontend("en-us").encode("It costs $5.").text
    'It costs five dollars.'
"""

from .errors import (
    EmptyTextError,
    EspeakNotFoundError,
    FrontendError,
    UnspeakableTextError,
    UnsupportedLanguageError,
)
from .espeak import resolve_language, supported_languages, whisper_language
from .frontend import Frontend, PhonemeSequence
from .normalize import normalize_text
from .sentences import split_sentences
from .vocab import PhonemeVocab

__all__ = [
    "Frontend",
    "PhonemeSequence",
    "PhonemeVocab",
    "normalize_text",
    "split_sentences",
    "resolve_language",
    "supported_languages",
    "whisper_language",
    "FrontendError",
    "EmptyTextError",
    "UnspeakableTextError",
    "UnsupportedLanguageError",
    "EspeakNotFoundError",
]
