"""The ``tts`` command: parse arguments, call library functions, print results.

Every handled error (:class:`tts.errors.TTSError`, :class:`text_frontend.FrontendError`)
is printed as one message that names the problem and the fix, and the command exits
with status 2; nothing prints a traceback for a user mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .errors import NotAvailableError, TTSError

SHIPPED_MODELS = ("tiny-flow", "tiny-valle", "tiny-maskgct")
RECIPES = ("vocos", "melrvq", "valle", "maskgct", "flow")
CORPORA = ("tinyvoices", "libritts", "ljspeech", "vctk", "folder", "features")
BENCH_TARGETS = ("frontend", "codec", "valle", "maskgct", "flow")
DEFAULT_SAMPLE_RATE = 24000  # Vocos 24 kHz; every shipped model will use it

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _not_available(what: str, issue: str) -> NotAvailableError:
    return NotAvailableError(f"`tts {what}` is not available yet in version {__version__}: it arrives with {issue}.")


def _read_text(text: str | None, text_file: str | None) -> str:
    """The text to speak: the argument, ``--text-file``, or standard input for ``-``."""
    if text is not None and text_file is not None:
        raise TTSError("Give the text either as an argument or with --text-file, not both.")
    if text_file is not None:
        from pathlib import Path

        path = Path(text_file)
        if not path.is_file():
            raise TTSError(f"Text file '{path}' does not exist: check the path.")
        return path.read_text(encoding="utf-8")
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise TTSError('No text given: pass it as an argument (tts synth "Hello"), with --text-file, or on stdin.')
        return sys.stdin.read()
    return text


# --- handlers ---------------------------------------------------------------------


def cmd_synth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from text_frontend import Frontend

    from .audio import check_output_path, load_prompt

    model = args.model
    if model not in SHIPPED_MODELS and not Path(model).is_dir():
        raise TTSError(
            f"Unknown model {model!r}: use one of {', '.join(SHIPPED_MODELS)} or the path of a checkpoint folder."
        )
    text = _read_text(args.text, args.text_file)
    out = check_output_path(args.output, overwrite=args.overwrite)
    frontend = Frontend(args.language)
    sentences = frontend.split(text)
    seqs = frontend.encode_batch(sentences)
    prompt = load_prompt(args.prompt, DEFAULT_SAMPLE_RATE)
    prompt_seq = frontend.encode(args.prompt_text) if args.prompt_text else None

    console = _console()
    console.print(f"[bold]Text[/bold] ({frontend.language}, {len(seqs)} sentence(s)):")
    for seq in seqs:
        console.print(f"  {seq.text}\n  [dim]/{''.join(seq.symbols)}/[/dim]")
    console.print(f"[bold]Prompt[/bold] {args.prompt}: {prompt.duration:.2f} s after trimming, {prompt.sample_rate} Hz")
    if prompt_seq is not None:
        console.print(f"  [dim]/{''.join(prompt_seq.symbols)}/[/dim]")
    options = {k: getattr(args, k) for k in ("seed", "nfe", "cfg", "temperature", "top_k", "duration", "speed")}
    options = {k: v for k, v in options.items() if v is not None}
    if options:
        console.print(f"[bold]Options[/bold] {options}")
    if args.dry_run:
        console.print(f"[green]Inputs are valid.[/green] Dry run: nothing was written to {out}.")
        return 0
    raise NotAvailableError(
        f"Model {model!r} cannot be loaded: no acoustic model ships with version {__version__} yet "
        "(the checkpoints arrive with the model issues). The text and prompt above were checked; "
        "use --dry-run to validate inputs without synthesizing."
    )


def cmd_phonemize(args: argparse.Namespace) -> int:
    from text_frontend import Frontend

    text = _read_text(args.text, None)
    fe = Frontend(args.language, with_stress=not args.no_stress, normalize=not args.no_normalize)
    seqs = fe.encode_batch(fe.split(text))
    for seq in seqs:
        if args.json:
            row = {"text": seq.text, "phonemes": "".join(seq.symbols), "words": seq.words, "ids": list(seq.ids)}
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(seq.text)
            print("".join(seq.symbols))
            if args.ids:
                print(" ".join(map(str, seq.ids)))
    return 0


def cmd_languages(args: argparse.Namespace) -> int:
    from text_frontend import supported_languages

    for code, name in sorted(supported_languages().items()):
        print(f"{code}\t{name}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.target != "frontend":
        issue = {"codec": "the codec issue", "valle": "the VALL-E issue", "maskgct": "the MaskGCT issue",
                 "flow": "the flow-matching issue"}[args.target]
        raise _not_available(f"bench {args.target}", issue)
    from rich.progress import Progress

    from .bench.frontend import bench_frontend

    with Progress(console=_console(stderr=True), transient=True) as progress:
        task = progress.add_task("front-end benchmark", total=3)
        result = bench_frontend(args.sentences, args.language, progress=lambda name: progress.advance(task))
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return 0
    from rich.table import Table

    table = Table(title=f"Front-end, {result.sentences} English sentences ({result.language})")
    table.add_column("stage")
    table.add_column("sentences/s", justify="right")
    table.add_row("normalize only", f"{result.normalize_per_s:,.0f}")
    table.add_row("normalize + phonemize, one batch call", f"{result.batch_per_s:,.0f}")
    table.add_row("normalize + phonemize, one call each", f"{result.single_per_s:,.0f}")
    _console().print(table)
    _console().print(f"{result.symbols_per_sentence:.1f} phoneme symbols per sentence on average")
    return 0


def cmd_unavailable(args: argparse.Namespace) -> int:
    what = args.command
    issue = {
        "edit": "the flow-matching issue (speech editing)",
        "eval": "the evaluation suite (product issue)",
        "train": "the recipe issues (Vocos, MelRVQ, VALL-E, MaskGCT, flow)",
        "models": "the shipped default models (product issue)",
        "prepare": "the data issue (TinyVoices, LibriTTS, folders, features)",
    }[what]
    if what == "prepare":
        what = f"prepare {args.corpus}"
    elif what == "train":
        what = f"train {args.recipe}"
    raise _not_available(what, issue)


# --- parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tts",
        description="Zero-shot speech generation: synthesize in a voice from a short prompt, "
        "edit speech, prepare data, train, evaluate and benchmark.",
        epilog="Note: Coqui TTS installs a command also called `tts`; use one of them per environment.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("synth", help="synthesize text in the voice of a prompt recording")
    s.add_argument("text", nargs="?", help="text to speak; '-' or nothing reads stdin")
    s.add_argument("--text-file", help="read the text from this UTF-8 file")
    s.add_argument("--prompt", required=True, help="reference recording of the voice (1-15 s)")
    s.add_argument("--prompt-text", help="transcript of the prompt")
    s.add_argument("--language", default="en-us", help="espeak-ng language code (default en-us)")
    s.add_argument("--model", default="tiny-flow", help=f"{', '.join(SHIPPED_MODELS)} or a checkpoint folder")
    s.add_argument("-o", "--output", default="out.wav", help="output audio file (.wav, .flac, .ogg, .mp3)")
    s.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    s.add_argument("--seed", type=int, help="random seed for reproducible output")
    s.add_argument("--nfe", type=int, help="flow models: ODE function evaluations")
    s.add_argument("--cfg", type=float, help="classifier-free guidance scale")
    s.add_argument("--temperature", type=float, help="sampling temperature (codec models)")
    s.add_argument("--top-k", type=int, help="top-k sampling (codec models)")
    s.add_argument("--duration", type=float, help="output duration in seconds")
    s.add_argument("--speed", type=float, help="speaking-rate factor (1.0 = as the prompt)")
    s.add_argument("--dry-run", action="store_true", help="check text, prompt and output path; synthesize nothing")
    s.set_defaults(func=cmd_synth)

    e = sub.add_parser("edit", help="replace words in a recording, keeping the rest intact")
    e.add_argument("audio")
    e.add_argument("--transcript")
    e.add_argument("--new-transcript")
    e.add_argument("-o", "--output")
    e.set_defaults(func=cmd_unavailable)

    ev = sub.add_parser("eval", help="WER, speaker similarity, DNSMOS and RTF of a model")
    ev.add_argument("--model")
    ev.add_argument("--cuts")
    ev.set_defaults(func=cmd_unavailable)

    pr = sub.add_parser("prepare", help="build corpora, manifests and features")
    pr.add_argument("corpus", choices=CORPORA)
    pr.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    pr.set_defaults(func=cmd_unavailable)

    t = sub.add_parser("train", help="train a model with a Lightning recipe")
    t.add_argument("recipe", choices=RECIPES)
    t.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    t.set_defaults(func=cmd_unavailable)

    b = sub.add_parser("bench", help="speed benchmarks")
    b.add_argument("target", choices=BENCH_TARGETS)
    b.add_argument("--sentences", type=int, default=1000, help="frontend: number of sentences (default 1000)")
    b.add_argument("--language", default="en-us")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.set_defaults(func=cmd_bench)

    m = sub.add_parser("models", help="list shipped and local models")
    m.set_defaults(func=cmd_unavailable)

    ph = sub.add_parser("phonemize", help="show normalized text, IPA phonemes and ids")
    ph.add_argument("text", nargs="?", help="text; '-' or nothing reads stdin")
    ph.add_argument("--language", default="en-us")
    ph.add_argument("--no-stress", action="store_true", help="drop stress marks")
    ph.add_argument("--no-normalize", action="store_true", help="skip number/abbreviation expansion")
    ph.add_argument("--ids", action="store_true", help="also print vocabulary ids")
    ph.add_argument("--json", action="store_true", help="one JSON object per sentence")
    ph.set_defaults(func=cmd_phonemize)

    la = sub.add_parser("languages", help="list espeak-ng language codes")
    la.set_defaults(func=cmd_languages)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from text_frontend import FrontendError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (TTSError, FrontendError) as err:
        _console(stderr=True).print(f"[bold red]error:[/bold red] {err}", soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
