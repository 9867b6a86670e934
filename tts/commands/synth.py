"""`tts synth`: text in the voice of a prompt recording (one text, or a JSONL batch).

Everything a run can refuse is checked before the model is loaded, in this order:
the model name and its options (read from its model.yaml), the output paths, the
language, the prompts and the texts. ``--dry-run`` does exactly these checks and
writes nothing; an output file that exists is a note there, not an error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..errors import TTSError
from . import SHIPPED_MODELS, console, read_text
from .options import add_model_options, model_options

DEFAULT_OUTPUT = "out.wav"


def register(sub) -> None:
    s = sub.add_parser("synth", help="synthesize text in the voice of a prompt recording")
    s.add_argument("text", nargs="?", help="text to speak; '-' or nothing reads stdin")
    s.add_argument("--text-file", help="read the text from this UTF-8 file")
    s.add_argument("--jsonl", help='batch: one {"text", "prompt"?, "prompt_text"?, "output"?, "seed"?} per line')
    s.add_argument("--prompt", help="reference recording of the voice (1-15 s)")
    s.add_argument("--prompt-text", help="transcript of the prompt (default: transcribed with Whisper)")
    s.add_argument("--language", default="en-us", help="espeak-ng language code or name (default en-us)")
    s.add_argument("--model", default="tiny-flow", help=f"{', '.join(SHIPPED_MODELS)} or a checkpoint folder")
    s.add_argument("-o", "--output", help=f"output audio file (.wav, .flac, .ogg, .mp3; default {DEFAULT_OUTPUT}); "
                   "with --jsonl, the folder for the lines' outputs (default: the JSONL file's folder)")
    s.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    s.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    s.add_argument("--seed", type=int, help="random seed for reproducible output")
    add_model_options(s)
    s.add_argument("--dry-run", action="store_true",
                   help="check the model's options, text, prompt and output path; write nothing")
    s.set_defaults(func=run)


def _output(path: Path, args) -> tuple[Path, str | None]:
    """A checked output path and, in a dry run, a note if it exists (a real run refuses it)."""
    from ..audio import check_output_path

    if args.dry_run:
        path = check_output_path(path, overwrite=True, flag="--overwrite")
        if path.exists() and not args.overwrite:
            return path, f"'{path}' exists: a real run needs --overwrite or another -o."
        return path, None
    return check_output_path(path, overwrite=args.overwrite, flag="--overwrite"), None


def _jobs_from_jsonl(args) -> list[dict]:
    path = Path(args.jsonl)
    if not path.is_file():
        raise TTSError(f"Batch file '{path}' does not exist.")
    # Outputs named on a line are relative to -o (the batch's output folder), else to the JSONL's folder.
    out_dir = Path(args.output) if args.output else path.parent
    if args.output and not out_dir.is_dir():
        raise TTSError(f"With --jsonl, -o is the folder for the outputs, and '{out_dir}' is not a folder: create it.")
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
        output = out_dir / (row.get("output") or f"{n:04d}.wav")  # an absolute "output" stays as it is
        if str(output) in outputs:
            raise TTSError(f"{path}, line {n}: output '{output}' is written by an earlier line too.")
        outputs.add(str(output))
        output, note = _output(output, args)
        jobs.append({"line": n, "text": row["text"], "prompt": prompt,
                     "prompt_text": row.get("prompt_text") or (args.prompt_text if prompt == args.prompt else None),
                     "output": output, "note": note, "seed": row.get("seed", args.seed)})
    if not jobs:
        raise TTSError(f"Batch file '{path}' has no lines.")
    return jobs


def _dry_run(args, jobs: list[dict], language: str, prompts: dict, options: dict) -> int:
    from text_frontend import Frontend

    con = console()
    frontend = Frontend(language)
    for job in jobs:
        seqs = frontend.encode_batch(frontend.split(job["text"]))
        head = f"Line {job['line']}: " if job["line"] else ""
        con.print(f"[bold]{head}Text[/bold] ({frontend.language}, {len(seqs)} sentence(s)) -> {job['output']}")
        for seq in seqs:
            con.print(f"  {seq.text}\n  [dim]/{''.join(seq.symbols)}/[/dim]", markup=True)
        if job["note"]:
            con.print(f"  [yellow]note:[/yellow] {job['note']}")
    for path, prompt in prompts.items():
        con.print(f"[bold]Prompt[/bold] {path}: {prompt.duration:.2f} s after trimming, {prompt.sample_rate} Hz")
    if args.prompt_text:
        con.print(f"  [dim]/{''.join(frontend.encode(args.prompt_text).symbols)}/[/dim]")
    if options or args.seed is not None:
        con.print(f"[bold]Options[/bold] {dict(options, seed=args.seed)}")
    con.print(f"[green]Inputs are valid for {args.model}.[/green] Dry run: nothing was written.")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..prechecks import check_model, precheck

    _, options = check_model(args.model, model_options(args))
    if args.jsonl:
        if args.text is not None or args.text_file is not None:
            raise TTSError("Give the texts either in --jsonl or as text/--text-file, not both.")
        jobs = _jobs_from_jsonl(args)  # every line is checked before any synthesis
    else:
        if not args.prompt:
            raise TTSError("Give the voice with --prompt ref.wav (1-15 s of clean speech).")
        text = read_text(args.text, args.text_file)
        out, note = _output(Path(args.output or DEFAULT_OUTPUT), args)
        jobs = [{"line": None, "text": text, "prompt": args.prompt, "prompt_text": args.prompt_text,
                 "output": out, "note": note, "seed": args.seed}]
    language, prompts = precheck(jobs, args.language)
    if args.dry_run:
        return _dry_run(args, jobs, language, prompts, options)
    return _synthesize(args, jobs, language, prompts, options)


def _synthesize(args, jobs: list[dict], language: str, prompts: dict, options: dict) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..synthesizer import Synthesizer

    con, err = console(), console(stderr=True)
    t0 = time.perf_counter()
    synth = Synthesizer.from_pretrained(args.model, device=args.device)
    con.print(f"loaded {synth.info.path.name} ({synth.family}) on {synth.device} in {time.perf_counter() - t0:.1f} s")
    # One bar of sentences per output, on a terminal only: piped output stays plain.
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("sentences"),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        for job in jobs:
            task = bar.add_task(job["output"].name, total=None)
            t1 = time.perf_counter()
            audio = synth.synthesize(job["text"], prompts[job["prompt"]], prompt_text=job["prompt_text"],
                                     language=language, seed=job["seed"],
                                     progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                                     options=options)
            seconds = time.perf_counter() - t1
            path = audio.save(job["output"], overwrite=args.overwrite)
            bar.remove_task(task)
            con.print(f"wrote {path} ({audio.duration:.2f} s of audio in {seconds:.2f} s, "
                      f"RTF {seconds / audio.duration:.2f})")
    return 0
