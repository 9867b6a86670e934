"""`tts synth`: text in the voice of a prompt recording."""

from __future__ import annotations

import argparse

from .. import __version__
from ..errors import NotAvailableError, TTSError
from . import DEFAULT_SAMPLE_RATE, SHIPPED_MODELS, console, read_text


def register(sub) -> None:
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
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from text_frontend import Frontend

    from ..audio import check_output_path, load_prompt

    model = args.model
    if model not in SHIPPED_MODELS and not Path(model).is_dir():
        raise TTSError(
            f"Unknown model {model!r}: use one of {', '.join(SHIPPED_MODELS)} or the path of a checkpoint folder."
        )
    text = read_text(args.text, args.text_file)
    out = check_output_path(args.output, overwrite=args.overwrite)
    frontend = Frontend(args.language)
    seqs = frontend.encode_batch(frontend.split(text))
    prompt = load_prompt(args.prompt, DEFAULT_SAMPLE_RATE)
    prompt_seq = frontend.encode(args.prompt_text) if args.prompt_text else None

    con = console()
    con.print(f"[bold]Text[/bold] ({frontend.language}, {len(seqs)} sentence(s)):")
    for seq in seqs:
        con.print(f"  {seq.text}\n  [dim]/{''.join(seq.symbols)}/[/dim]")
    con.print(f"[bold]Prompt[/bold] {args.prompt}: {prompt.duration:.2f} s after trimming, {prompt.sample_rate} Hz")
    if prompt_seq is not None:
        con.print(f"  [dim]/{''.join(prompt_seq.symbols)}/[/dim]")
    options = {k: getattr(args, k) for k in ("seed", "nfe", "cfg", "temperature", "top_k", "duration", "speed")}
    options = {k: v for k, v in options.items() if v is not None}
    if options:
        con.print(f"[bold]Options[/bold] {options}")
    if args.dry_run:
        con.print(f"[green]Inputs are valid.[/green] Dry run: nothing was written to {out}.")
        return 0
    raise NotAvailableError(
        f"Model {model!r} cannot be loaded: no acoustic model ships with version {__version__} yet "
        "(the checkpoints arrive with the model issues). The text and prompt above were checked; "
        "use --dry-run to validate inputs without synthesizing."
    )
