"""`tts edit`: regenerate only the words that changed in a recording's transcript."""

from __future__ import annotations

import argparse
import time

from ..errors import TTSError
from ..validation import SEED_MAX
from . import console
from .options import add_model_options, model_options


def register(sub) -> None:
    e = sub.add_parser("edit", help="replace words in a recording, keeping the rest intact",
                       description="Speech editing with a flow model: the words that differ between --transcript "
                                   "and --new-transcript are regenerated; every other sample is kept.")
    e.add_argument("audio", help="the recording to edit")
    e.add_argument("--transcript", required=True, help="what the recording says now")
    e.add_argument("--new-transcript", required=True, help="what it should say")
    e.add_argument("--start", type=float, help="start of the span to regenerate, in seconds (default: from ASR)")
    e.add_argument("--end", type=float, help="end of the span, in seconds")
    e.add_argument("--model", default="tiny-flow", help="a flow model: shipped name or checkpoint folder")
    e.add_argument("-o", "--output", default="edited.wav")
    e.add_argument("--overwrite", action="store_true")
    e.add_argument("--language", default="en-us")
    e.add_argument("--strict", action="store_true",
                   help="refuse a --language the model was not trained on (default: a warning)")
    e.add_argument("--skip-transcript-check", action="store_true",
                   help="edit even when the phone aligner finds that the recording does not say --transcript")
    e.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    e.add_argument("--seed", type=int, help=f"random seed for reproducible output (0 to {SEED_MAX})")
    add_model_options(e)
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..audio import check_output_path, load
    from ..checkpoint import read_checkpoint
    from ..languages import check_language
    from ..prechecks import check_model
    from ..synthesizer import Synthesizer
    from ..validation import check_device, check_seed

    if (args.start is None) != (args.end is None):
        raise TTSError("Give both --start and --end (seconds), or neither to find the span with speech recognition.")
    check_seed(args.seed, "--seed")
    check_device(args.device)
    _, options = check_model(args.model, model_options(args))
    out = check_output_path(args.output, overwrite=args.overwrite, flag="--overwrite")
    language = check_language(read_checkpoint(args.model, verify=False), args.language, args.strict)
    load(args.audio)  # an unreadable recording is its one-line error before the model loads
    synth = Synthesizer.from_pretrained(args.model, device=args.device)
    t0 = time.perf_counter()
    audio = synth.edit(args.audio, args.transcript, args.new_transcript, start=args.start, end=args.end,
                       language=language, seed=args.seed, options=options,
                       check_transcript=not args.skip_transcript_check)
    path = audio.save(out, overwrite=args.overwrite)
    console().print(f"wrote {path} ({audio.duration:.2f} s) in {time.perf_counter() - t0:.1f} s")
    return 0
