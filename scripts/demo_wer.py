"""Demo WER: `make demo`'s sentence in the demo prompt's voice, over several seeds, as
Whisper-base hears it (the "a person can understand make demo's out.wav" check of the
model cards, in a number).

Run it from a checkout:

    .venv/bin/python scripts/demo_wer.py --model tiny-flow --seeds 5 [--out DIR] [--option nfe=32 ...]

Prints each seed's transcript and the corpus WER over the seeds; with ``--out`` it also
writes ``seed{i}.wav``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The sentence, prompt and prompt text of the Makefile's `demo` target.
TEXT = "The quick brown fox jumped over 3 lazy dogs at 5:30 pm."
PROMPT = REPO / "assets" / "demo_prompt.wav"
PROMPT_TEXT = REPO / "assets" / "demo_prompt.txt"


def parse_option(item: str) -> tuple[str, object]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise ValueError(f"--option {item!r} is not NAME=VALUE (e.g. --option nfe=32).")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny-flow", help="shipped name or model folder")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    parser.add_argument("--out", type=Path, default=None, help="folder for the seeds' wavs")
    parser.add_argument("--option", action="append", default=[], help="synthesis keyword NAME=VALUE")
    args = parser.parse_args()
    if args.seeds < 1:
        print("error: --seeds must be at least 1.")
        return 2
    try:
        options = dict(parse_option(o) for o in args.option)
    except ValueError as err:
        print(f"error: {err}")
        return 2

    from tts import Synthesizer
    from tts.errors import TTSError
    from tts.eval.asr import WhisperASR
    from tts.eval.intelligibility import wer

    try:
        tts = Synthesizer.from_pretrained(args.model)
    except TTSError as err:
        print(f"error: {err}")
        return 2
    asr = WhisperASR()
    prompt_text = PROMPT_TEXT.read_text().strip()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    hyps = []
    for seed in range(args.seeds):
        audio = tts.synthesize(TEXT, str(PROMPT), prompt_text=prompt_text, seed=seed, **options)
        if args.out is not None:
            audio.save(args.out / f"seed{seed}.wav")
        hyps.append(asr.transcribe(audio.wav.numpy(), audio.sample_rate))
        print(seed, repr(hyps[-1]), flush=True)
    print(f"demo WER over seeds 0-{args.seeds - 1}: {wer([TEXT] * args.seeds, hyps).wer:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
