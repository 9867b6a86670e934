"""`tts bench TARGET`: speed benchmarks."""

from __future__ import annotations

import argparse
import json

from . import console, not_available

TARGETS = ("frontend", "codec", "valle", "maskgct", "flow")


def register(sub) -> None:
    b = sub.add_parser("bench", help="speed benchmarks")
    b.add_argument("target", choices=TARGETS)
    b.add_argument("--sentences", type=int, default=1000, help="frontend: number of sentences (default 1000)")
    b.add_argument("--language", default="en-us")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "frontend":
        return _frontend(args)
    issue = {"codec": "the codec issue", "valle": "the VALL-E issue", "maskgct": "the MaskGCT issue",
             "flow": "the flow-matching issue"}[args.target]
    raise not_available(f"bench {args.target}", issue)


def _frontend(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ..bench.frontend import bench_frontend

    with Progress(console=console(stderr=True), transient=True) as progress:
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
    con = console()
    con.print(table)
    con.print(f"{result.symbols_per_sentence:.1f} phoneme symbols per sentence on average")
    return 0
