"""What the web page accepts, checked before any model work.

The page reads files only from its own upload folder (where Gradio puts what a browser
uploaded or recorded): a path typed or sent by a client that points anywhere else is
refused, never opened. Uploads and texts have limits, each with a one-line message
(:class:`tts.errors.WebInputError`) that says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import WebInputError
from ..validation import SEED_MAX


@dataclass(frozen=True)
class WebLimits:
    """The page's limits.

    Attributes:
        max_upload_mb: largest file (prompt, recording, text file) the page reads, in MiB.
        max_text_chars: longest text it speaks in one go (and longest transcript it reads).
    """

    max_upload_mb: float = 20.0
    max_text_chars: int = 5000

    def __post_init__(self) -> None:
        if not self.max_upload_mb > 0:
            raise WebInputError(f"--max-upload-mb must be a number > 0, got {self.max_upload_mb}.")
        if self.max_text_chars < 1:
            raise WebInputError(f"--max-text-chars must be an integer >= 1, got {self.max_text_chars}.")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


def uploaded_file(path: str | os.PathLike | None, what: str, upload_root: str | os.PathLike,
                  limits: WebLimits) -> Path:
    """The path of a file the page received, checked.

    Args:
        path: the path Gradio passes for an upload or a recording (None: nothing uploaded).
        what: the input's name in messages, capitalized ("The voice prompt").
        upload_root: the only folder files are read from.
        limits: the size limit.

    Raises:
        WebInputError: nothing uploaded, a path outside ``upload_root``, a file that is
            gone, or one over the size limit.
    """
    if path is None or not str(path).strip():
        raise WebInputError(f"{what} is missing: upload a file or record one.")
    found = Path(path).resolve()
    if not found.is_relative_to(Path(upload_root).resolve()):
        raise WebInputError(f"{what} must be uploaded through the page; the page reads no other file.")
    if not found.is_file():
        raise WebInputError(f"{what} is no longer on the server: upload it again.")
    size = found.stat().st_size
    if size > limits.max_upload_bytes:
        raise WebInputError(f"{what} is {size / 2**20:.1f} MiB; the page takes files of at most "
                            f"{limits.max_upload_mb:g} MiB.")
    return found


def limited_text(text: str | None, what: str, limits: WebLimits) -> str:
    """``text`` (None: empty) if it is within the length limit.

    Raises:
        WebInputError: longer than ``limits.max_text_chars``.
    """
    text = text or ""
    if len(text) > limits.max_text_chars:
        raise WebInputError(f"{what} is {len(text)} characters long; the page takes at most "
                            f"{limits.max_text_chars}: shorten it, or use `tts synth --text-file` for long texts.")
    return text


def text_to_speak(text: str | None, text_file: str | os.PathLike | None, upload_root: str | os.PathLike,
                  limits: WebLimits) -> str:
    """The text typed into the page or read from an uploaded UTF-8 file (not both).

    An empty text is returned as it is: the front-end's own check (the same as
    `tts synth`'s) says what is wrong with it.

    Raises:
        WebInputError: both given, a file that is not an upload, not UTF-8, or a text
            over the limits.
    """
    if text_file:
        if text and text.strip():
            raise WebInputError("Type the text or upload a text file, not both: clear one of them.")
        path = uploaded_file(text_file, "The text file", upload_root, limits)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise WebInputError("The text file is not UTF-8 text: save it as plain UTF-8 text and upload "
                                "it again.") from None
        return limited_text(text, "The text file", limits)
    return limited_text(text, "The text", limits)


def optional_text(text: str | None, what: str, limits: WebLimits) -> str | None:
    """A text field that may be left empty (a prompt transcript): None when blank."""
    text = limited_text(text, what, limits)
    return text if text.strip() else None


def seed_value(seed: float | int | str | None) -> int | None:
    """The seed from the page's number field: None (empty) or a whole number in [0, 2^32 - 1].

    Raises:
        WebInputError: not a whole number, or out of range.
    """
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return None
    try:
        value = float(seed)
    except (TypeError, ValueError):
        value = float("nan")
    if not value.is_integer() or not 0 <= value <= SEED_MAX:
        raise WebInputError(f"The seed must be a whole number from 0 to {SEED_MAX}, got {seed}; "
                            "leave it empty for a random one.")
    return int(value)
