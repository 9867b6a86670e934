"""Sub-commands whose implementation arrives with later issues: they parse their
arguments and exit with a clear "not available yet" message."""

from __future__ import annotations

import argparse

from . import not_available

RECIPES = ("vocos", "melrvq", "valle", "maskgct", "flow")
CORPORA = ("tinyvoices", "libritts", "ljspeech", "vctk", "folder", "features")

_ISSUES = {
    "edit": "the flow-matching issue (speech editing)",
    "eval": "the evaluation suite (product issue)",
    "train": "the recipe issues (Vocos, MelRVQ, VALL-E, MaskGCT, flow)",
    "models": "the shipped default models (product issue)",
    "prepare": "the data issue (TinyVoices, LibriTTS, folders, features)",
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

    pr = sub.add_parser("prepare", help="build corpora, manifests and features")
    pr.add_argument("corpus", choices=CORPORA)
    pr.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    pr.set_defaults(func=run)

    t = sub.add_parser("train", help="train a model with a Lightning recipe")
    t.add_argument("recipe", choices=RECIPES)
    t.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    t.set_defaults(func=run)

    m = sub.add_parser("models", help="list shipped and local models")
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    what = args.command
    if what == "prepare":
        what = f"prepare {args.corpus}"
    elif what == "train":
        what = f"train {args.recipe}"
    raise not_available(what, _ISSUES[args.command])
