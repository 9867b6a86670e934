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
from ..validation import SEED_MAX
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
    s.add_argument("--prompt-language",
                   help="the language the prompt speaks, when not --language: a French prompt for English text "
                        "(default: --language)")
    s.add_argument("--model", default="tiny-flow", help=f"{', '.join(SHIPPED_MODELS)} or a checkpoint folder")
    s.add_argument("-o", "--output", help=f"output audio file (.wav, .flac, .ogg, .mp3; default {DEFAULT_OUTPUT}); "
                   "with --jsonl, the folder for the lines' outputs (default: the JSONL file's folder)")
    s.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    s.add_argument("--seed", type=int, help=f"random seed for reproducible output (0 to {SEED_MAX})")
    s.add_argument("--strict", action="store_true",
                   help="refuse a --language or --prompt-language the model was not trained on (default: a warning)")
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


# What a line of --jsonl may hold; model options are flags that apply to the whole batch.
JSONL_KEYS = ("text", "prompt", "prompt_text", "output", "seed")


def _check_line(row, where: str) -> dict:
    """A JSONL line's object, each key known and of its type (``where``: file and line, for messages)."""
    from ..validation import check_prompt_text, check_seed

    if not isinstance(row, dict):
        raise TTSError(f'{where}: each line must be a JSON object such as {{"text": "Hello."}}.')
    unknown = [k for k in row if k not in JSONL_KEYS]
    if unknown:
        raise TTSError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; a line takes "
                       f"{', '.join(JSONL_KEYS)}. Model options (--nfe...) are flags for the whole batch.")
    for key in ("text", "prompt", "prompt_text", "output"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise TTSError(f'{where}: "{key}" must be a string, got {json.dumps(row[key])}.')
    if not (row.get("text") or "").strip():
        raise TTSError(f'{where}: each line needs a "text".')
    try:
        check_seed(row.get("seed"), '"seed"')
        check_prompt_text(row.get("prompt_text"), '"prompt_text"')
    except TTSError as err:
        raise type(err)(f"{where}: {err}") from None
    return row


def _jobs_from_jsonl(args) -> list[dict]:
    from ..validation import check_writable_folder, read_text_file

    path = Path(args.jsonl)
    lines = read_text_file(path, "Batch file").splitlines()
    # Outputs named on a line are relative to -o (the batch's output folder), else to the JSONL's folder.
    out_dir = Path(args.output) if args.output else path.parent
    if args.output and not out_dir.is_dir():
        raise TTSError(f"With --jsonl, -o is the folder for the outputs, and '{out_dir}' is not a folder: create it.")
    check_writable_folder(out_dir, "the batch's outputs")
    jobs, outputs = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = _check_line(json.loads(line), f"{path}, line {n}")
        except json.JSONDecodeError as err:
            raise TTSError(f"{path}, line {n}: not valid JSON ({err}).") from err
        prompt = row.get("prompt") or args.prompt
        if not prompt:
            raise TTSError(f'{path}, line {n}: no "prompt" on the line and no --prompt given.')
        output = out_dir / (row.get("output") or f"{n:04d}.wav")  # an absolute "output" stays as it is
        if str(output) in outputs:
            raise TTSError(f"{path}, line {n}: output '{output}' is written by an earlier line too.")
        outputs.add(str(output))
        output, note = _output(output, args)
        prompt_text = row.get("prompt_text")
        if prompt_text is None and prompt == args.prompt:  # the line's own prompt, else the flags'
            prompt_text = args.prompt_text
        jobs.append({"line": n, "text": row["text"], "prompt": prompt, "prompt_text": prompt_text,
                     "output": output, "note": note, "seed": row.get("seed", args.seed)})
    if not jobs:
        raise TTSError(f"Batch file '{path}' has no lines.")
    return jobs


def _check_sentence_seconds(jobs: list[dict], language: str, duration: float) -> None:
    """--duration shared by each text's sentences gives none more than a sentence can have."""
    from text_frontend import Frontend

    from ..validation import sentence_seconds

    frontend = Frontend(language)
    for job in jobs:
        sentence_seconds(duration, [len(s) for s in frontend.encode_batch(frontend.split(job["text"]))])


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
    from ..checkpoint import read_checkpoint
    from ..languages import check_language
    from ..prechecks import check_model, precheck
    from ..validation import check_device, check_prompt_text, check_seed

    check_seed(args.seed, "--seed")
    check_device(args.device)
    check_prompt_text(args.prompt_text)
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
    language, prompts = precheck(jobs, args.language, args.prompt_language)
    info = read_checkpoint(args.model, verify=False)
    check_language(info, language, args.strict)
    if args.prompt_language:
        check_language(info, args.prompt_language, args.strict, what="--prompt-language")
    if "duration" in options:
        _check_sentence_seconds(jobs, language, options["duration"])
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
    # One bar of sentences per output, on a terminal only: piped output stays plain. The bar
    # (stderr) is closed, showing its last count, before "wrote ..." goes to stdout: a live bar
    # left open would share its line with what stdout prints.
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("sentences"),
               TimeElapsedColumn())
    for job in jobs:
        t1 = time.perf_counter()
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(job["output"].name, total=None)
            audio = synth.synthesize(job["text"], prompts[job["prompt"]], prompt_text=job["prompt_text"],
                                     language=language, prompt_language=args.prompt_language, seed=job["seed"],
                                     progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                                     options=options)
            bar.refresh()
        seconds = time.perf_counter() - t1
        path = audio.save(job["output"], overwrite=args.overwrite)
        con.print(f"wrote {path} ({audio.duration:.2f} s of audio in {seconds:.2f} s, "
                  f"RTF {seconds / audio.duration:.2f})")
    return 0
