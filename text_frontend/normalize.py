"""Text normalization entry point: Unicode clean-up, then the language's rules.

English (``en``, ``en-us``, ``en-gb``, every ``en-*`` espeak voice) gets the full
normalizer of :mod:`text_frontend.english`. Other languages get Unicode clean-up and
their numbers spelled out by ``num2words`` where it knows the language; espeak-ng
reads any digits left over itself.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from num2words import CONVERTER_CLASSES
from num2words import num2words as _num2words

from .cleanup import clean_unicode, has_speakable_content
from .english import EnglishNormalizer
from .errors import EmptyTextError, UnspeakableTextError

_INT = re.compile(r"(?<![\w.,])\d+(?![\w]|[.,]\d)")


def _num2words_lang(language: str) -> str | None:
    """Map an espeak code (``de``, ``fr-fr``, ``pt-br``) to a num2words one, if any."""
    code = language.lower().replace("-", "_")
    for cand in (code, code.split("_")[0]):
        if cand in CONVERTER_CLASSES:
            return cand
    return None


@functools.lru_cache(maxsize=None)
def _normalizer_for(language: str) -> Callable[[str], str]:
    lang = language.lower()
    if lang == "en" or lang.startswith("en-"):
        # en-gb and the other British-Isles voices read "one hundred and five".
        british = lang.startswith("en-gb")
        return EnglishNormalizer(british=british)
    n2w = _num2words_lang(lang)
    if n2w is None:
        return lambda text: text

    def spell_numbers(text: str) -> str:
        return _INT.sub(lambda m: _num2words(int(m.group(0)), lang=n2w), text)

    return spell_numbers


def check_text(text: str) -> str:
    """Raise if ``text`` is empty or has nothing to say; return it cleaned.

    Raises:
        EmptyTextError: ``text`` is empty or whitespace only.
        UnspeakableTextError: ``text`` has no letters or digits (only punctuation,
            emoji or symbols).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise EmptyTextError("The text is empty: give at least one word to speak.")
    cleaned = clean_unicode(text)
    if not has_speakable_content(cleaned):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UnspeakableTextError(
            f"The text {shown!r} has nothing to speak (only punctuation, emoji or symbols): "
            "give at least one word."
        )
    return cleaned


def normalize_text(text: str, language: str = "en-us") -> str:
    """Turn written text into the words to be spoken.

    Args:
        text: raw input text.
        language: an espeak-ng language code; ``en-*`` gets the English rules.

    Returns:
        Normalized text with sentence punctuation kept.

    Raises:
        EmptyTextError, UnspeakableTextError: see :func:`check_text`.

    Example:
        >>> normalize_text("Dr. Smith paid $5.50 on March 3rd, 1999.")
        'doctor Smith paid five dollars and fifty cents on March third, nineteen ninety-nine.'
    """
    cleaned = check_text(text)
    out = _normalizer_for(language)(cleaned)
    if not has_speakable_content(out):  # e.g. only "%" or "&" were left of it
        raise UnspeakableTextError(f"The text {text!r} has nothing to speak after normalization.")
    return out
