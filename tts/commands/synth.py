"""`tts synth`: text in the voice of a prompt recording (one text, or a JSONL batch)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..errors import TTSError
from . import SHIPPED_MODELS, console, read_text

OPTIONS = (("nfe", int, "flow: ODE function evaluations (default 16)"),
           ("cfg", float, "classifier-free guidance scale"),
           ("sway", float, "flow: sway-sampling coefficient (0: uniform steps)"),
           ("steps", int, "maskgct: iterative decoding steps of the first stage"),
           ("temperature", float, "sampling temperature (codec models)"),
           ("top-k", int, "top-k sampling (codec models)"),
           ("top-p", float, "nucleus sampling (valle)"),
           ("duration", float, "output duration in seconds"),
           ("speed", float, "speaking-rate factor (1.0 = as the prompt)"))


def add_model_options(p: argparse.ArgumentParser) -> None:
    for name, typ, helptext in OPTIONS:
        p.add_argument(f"--{name}", type=typ, help=helptext)


def model_options(args: argparse.Namespace) -> dict:
    return {n.replace("-", "_"): getattr(args, n.replace("-", "_")) for n, _, _ in OPTIONS
            if getattr(args, n.replace("-", "_")) is not None}


def register(sub) -> None:
    s = sub.add_parser("synth", help="synthesize text in the voice of a prompt recording")
    s.add_argument("text", nargs="?", help="text to speak; '-' or nothing reads stdin")
    s.add_argument("--text-file", help="read the text from this UTF-8 file")
    s.add_argument("--jsonl", help='batch: one {"text", "prompt"?, "prompt_text"?, "output"?, "seed"?} per line')
    s.add_argument("--prompt", help="reference recording of the voice (1-15 s)")
    s.add_argument("--prompt-text", help="transcript of the prompt (default: transcribed with Whisper)")
    s.add_argument("--language", default="en-us", help="espeak-ng language code (default en-us)")
    s.add_argument("--model", default="tiny-flow", help=f"{', '.join(SHIPPED_MODELS)} or a checkpoint folder")
    s.add_argument("-o", "--output", default="out.wav", help="output audio file (.wav, .flac, .ogg, .mp3); "
                   "with --jsonl, the folder for lines without an 'output'")
    s.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    s.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    s.add_argument("--seed", type=int, help="random seed for reproducible output")
    add_model_options(s)
    s.add_argument("--dry-run", action="store_true", help="check text, prompt and output path; synthesize nothing")
    s.set_defaults(func=run)


def _dry_run(args, text: str, out: Path) -> int:
    from text_frontend import Frontend

    from ..audio import load_prompt
    from . import DEFAULT_SAMPLE_RATE

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
    if model_options(args) or args.seed is not None:
        con.print(f"[bold]Options[/bold] {dict(model_options(args), seed=args.seed)}")
    con.print(f"[green]Inputs are valid.[/green] Dry run: nothing was written to {out}.")
    return 0


def _check_model_name(model: str) -> None:
    if model not in SHIPPED_MODELS and not Path(model).is_dir():
        from ..checkpoint import resolve

        resolve(model)  # raises with the list of shipped models


def _jobs_from_jsonl(args) -> list[dict]:
    from ..audio import check_output_path

    path = Path(args.jsonl)
    if not path.is_file():
        raise TTSError(f"Batch file '{path}' does not exist.")
    out_dir = Path(args.output) if args.output != "out.wav" else path.parent
    jobs, outputs = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise TTSError(f"{path}, line {n}: not valid JSON ({err}).") from err
        if not isinstance(row, dict) or not str(row.get("text", "")).strip():
            raise TTSError(f'{path}, line {n}: each line needs a "text".')
        prompt = row.get("prompt") or args.prompt
        if not prompt:
            raise TTSError(f'{path}, line {n}: no "prompt" on the line and no --prompt given.')
        output = Path(row.get("output") or out_dir / f"{n:04d}.wav")
        if not output.is_absolute() and row.get("output"):
            output = path.parent / output
        if str(output) in outputs:
            raise TTSError(f"{path}, line {n}: output '{output}' is written by an earlier line too.")
        outputs.add(str(output))
        check_output_path(output, overwrite=args.overwrite)
        jobs.append({"line": n, "text": row["text"], "prompt": prompt,
                     "prompt_text": row.get("prompt_text") or (args.prompt_text if prompt == args.prompt else None),
                     "output": output, "seed": row.get("seed", args.seed)})
    if not jobs:
        raise TTSError(f"Batch file '{path}' has no lines.")
    return jobs


def _precheck(jobs: list[dict], language: str) -> None:
    """Fail on bad text, language or prompts before the model is loaded (that takes seconds)."""
    from text_frontend import resolve_language
    from text_frontend.normalize import check_text

    from ..audio import load_prompt
    from . import DEFAULT_SAMPLE_RATE

    resolve_language(language)
    for prompt in dict.fromkeys(j["prompt"] for j in jobs):
        load_prompt(prompt, DEFAULT_SAMPLE_RATE)
    for job in jobs:
        try:
            check_text(job["text"])
        except ValueError as err:
            raise type(err)(f"Line {job['line']}: {err}" if job["line"] else str(err)) from err


def run(args: argparse.Namespace) -> int:
    from ..audio import check_output_path

    _check_model_name(args.model)
    if args.jsonl:
        jobs = _jobs_from_jsonl(args)  # every line is checked before any synthesis
    else:
        if not args.prompt:
            raise TTSError("Give the voice with --prompt ref.wav (1-15 s of clean speech).")
        text = read_text(args.text, args.text_file)
        out = check_output_path(args.output, overwrite=args.overwrite)
        if args.dry_run:
            return _dry_run(args, text, out)
        jobs = [{"line": None, "text": text, "prompt": args.prompt, "prompt_text": args.prompt_text,
                 "output": out, "seed": args.seed}]
    _precheck(jobs, args.language)
    if args.dry_run:
        console().print(f"[green]{len(jobs)} batch line(s) are valid.[/green] Dry run: nothing was written.")
        return 0
    from rich.progress import Progress

    from ..synthesizer import Synthesizer

    con = console()
    t0 = time.perf_counter()
    synth = Synthesizer.from_pretrained(args.model, device=args.device)
    options = synth.check_options(model_options(args))
    con.print(f"loaded {synth.info.path.name} ({synth.family}) on {synth.device} in {time.perf_counter() - t0:.1f} s")
    with Progress(console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("synthesizing", total=len(jobs))
        for job in jobs:
            t1 = time.perf_counter()
            audio = synth.synthesize(job["text"], job["prompt"], prompt_text=job["prompt_text"],
                                     language=args.language, seed=job["seed"], **options)
            seconds = time.perf_counter() - t1
            path = audio.save(job["output"], overwrite=args.overwrite)
            con.print(f"wrote {path} ({audio.duration:.2f} s of audio in {seconds:.2f} s, "
                      f"RTF {seconds / audio.duration:.2f})")
            bar.advance(task)
    return 0
