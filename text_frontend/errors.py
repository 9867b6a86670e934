"""Errors raised by the text front-end.

All of them are ``ValueError`` subclasses so callers that only know the standard
library can still catch them; the CLI catches :class:`FrontendError` and prints the
message (which names the problem and the fix) instead of a traceback.
"""

from __future__ import annotations


class FrontendError(ValueError):
    """Base class for every user-facing text front-end error."""


class EmptyTextError(FrontendError):
    """The text is empty or only whitespace."""


class UnspeakableTextError(FrontendError):
    """The text has no speakable content (only punctuation, emoji, symbols)."""


class UnsupportedLanguageError(FrontendError):
    """The language code is not an espeak-ng voice; the message lists close matches."""


class EspeakNotFoundError(FrontendError):
    """Neither the ``espeakng-loader`` package nor a system espeak-ng library was found."""
