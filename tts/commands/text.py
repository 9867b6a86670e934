"""`tts phonemize` and `tts languages`: the text front-end from the shell."""

from __future__ import annotations

import argparse
import json

from . import read_text


def register(sub) -> None:
    ph = sub.add_parser("phonemize", help="show normalized text, IPA phonemes and ids")
    ph.add_argument("text", nargs="?", help="text; '-' or nothing reads stdin")
    ph.add_argument("--language", default="en-us")
    ph.add_argument("--no-stress", action="store_true", help="drop stress marks")
    ph.add_argument("--no-normalize", action="store_true", help="skip number/abbreviation expansion")
    ph.add_argument("--ids", action="store_true", help="also print vocabulary ids")
    ph.add_argument("--json", action="store_true", help="one JSON object per sentence")
    ph.set_defaults(func=run_phonemize)

    la = sub.add_parser("languages", help="list espeak-ng language codes")
    la.set_defaults(func=run_languages)


def run_phonemize(args: argparse.Namespace) -> int:
    from text_frontend import Frontend

    text = read_text(args.text, None)
    fe = Frontend(args.language, with_stress=not args.no_stress, normalize=not args.no_normalize)
    for seq in fe.encode_batch(fe.split(text)):
        if args.json:
            row = {"text": seq.text, "phonemes": "".join(seq.symbols), "words": seq.words, "ids": list(seq.ids)}
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(seq.text)
            print("".join(seq.symbols))
            if args.ids:
                print(" ".join(map(str, seq.ids)))
    return 0


def run_languages(args: argparse.Namespace) -> int:
    from text_frontend import supported_languages

    for code, name in sorted(supported_languages().items()):
        print(f"{code}\t{name}")
    return 0
