"""One module per `tts` sub-command. Each exposes ``register(subparsers)``, which adds
its parser and sets ``func`` to a handler ``(args) -> int``; handlers import their
heavy dependencies inside, so `tts --help` stays instant."""

from __future__ import annotations

import sys

from ..errors import TTSError

SHIPPED_MODELS = ("tiny-flow", "tiny-valle", "tiny-maskgct")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def read_text(text: str | None, text_file: str | None) -> str:
    """The text to speak: the argument, ``--text-file``, or standard input for ``-``."""
    if text is not None and text_file is not None:
        raise TTSError("Give the text either as an argument or with --text-file, not both.")
    if text_file is not None:
        from ..validation import read_text_file

        return read_text_file(text_file)
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise TTSError('No text given: pass it as an argument (tts synth "Hello"), with --text-file, or on stdin.')
        return sys.stdin.read()
    return text
