"""The ``tts`` command: builds the parser from :mod:`tts.commands` and runs a handler.

Every handled error (:class:`tts.errors.TTSError`, :class:`text_frontend.FrontendError`)
is printed as one message that names the problem and the fix, and the command exits
with status 2; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from . import __version__
from .commands import bench, console, edit, evaluate, models, prepare, synth, text, train, web
from .errors import is_user_error

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# Order of the sub-commands in `tts --help`.
_COMMANDS = (synth, edit, web, evaluate, prepare, train, bench, models, text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tts",
        description="Zero-shot speech generation: synthesize in a voice from a short prompt, "
        "edit speech, prepare data, train, evaluate and benchmark.",
        epilog="Note: Coqui TTS installs a command also called `tts`; use one of them per environment.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.register(sub)
    return p


class _WarningPrinter:
    """Shows each warning once, as one line ``warning: <message>`` on stderr, instead of
    Python's two lines with a source path (a user cannot act on our line numbers)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text in self.seen:
            return
        self.seen.add(text)
        from rich.text import Text

        console(stderr=True).print(Text.assemble(("warning: ", "yellow"), text), soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _WarningPrinter()
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED
    except Exception as err:
        if not is_user_error(err):
            raise
        from rich.text import Text

        # Text, not markup: a message may hold brackets ("[train,eval]") rich would take for styles.
        console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(err)), soft_wrap=True)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
