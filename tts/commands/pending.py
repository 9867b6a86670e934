"""Sub-commands whose implementation arrives with later issues: they parse their
arguments and exit with a clear "not available yet" message."""

from __future__ import annotations

import argparse

from . import not_available

_ISSUES = {
    "edit": "the flow-matching issue (speech editing)",
    "eval": "the evaluation suite (product issue)",
    "models": "the shipped default models (product issue)",
}


def register(sub) -> None:
    e = sub.add_parser("edit", help="replace words in a recording, keeping the rest intact")
    e.add_argument("audio")
    e.add_argument("--transcript")
    e.add_argument("--new-transcript")
    e.add_argument("-o", "--output")
    e.set_defaults(func=run)

    ev = sub.add_parser("eval", help="WER, speaker similarity, DNSMOS and RTF of a model")
    ev.add_argument("--model")
    ev.add_argument("--cuts")
    ev.set_defaults(func=run)

    m = sub.add_parser("models", help="list shipped and local models")
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raise not_available(args.command, _ISSUES[args.command])
