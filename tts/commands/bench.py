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
    c = b.add_argument_group("codec")
    c.add_argument("--codecs", default="melrvq,encodec,encodec+vocos",
                   help="codec: comma-separated, of melrvq, encodec, encodec+vocos")
    c.add_argument("--seconds", type=float, default=10.0, help="codec: seconds of audio (default 10)")
    c.add_argument("--repeats", type=int, default=3, help="codec: timed runs, fastest counts (default 3)")
    c.add_argument("--codec-checkpoint", help="codec: MelRVQ checkpoint folder (default: random weights)")
    c.add_argument("--encodec-weights", help="codec: EnCodec 24 kHz weight file (default: random weights)")
    c.add_argument("--bandwidth", type=float, default=6.0, help="codec: EnCodec kbps (default 6)")
    c.add_argument("--vocos", help="codec: Vocos EnCodec folder for encodec+vocos (default: random weights)")
    c.add_argument("--device", default="cpu", help="codec: torch device (default cpu)")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "frontend":
        return _frontend(args)
    if args.target == "codec":
        return _codec(args)
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


def _codec(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ..bench.codec import bench_codec
    from ..errors import TTSError

    names = tuple(n.strip() for n in args.codecs.split(",") if n.strip())
    unknown = sorted(set(names) - {"melrvq", "encodec", "encodec+vocos"})
    if unknown or not names:
        raise TTSError(f"Unknown codec(s) {unknown}: --codecs takes melrvq, encodec, encodec+vocos.")
    if args.seconds <= 0 or args.repeats < 1:
        raise TTSError("--seconds must be positive and --repeats at least 1.")
    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("codec benchmark", total=len(names))
        results = bench_codec(names, seconds=args.seconds, repeats=args.repeats,
                              melrvq_checkpoint=args.codec_checkpoint, encodec_weights=args.encodec_weights,
                              bandwidth=args.bandwidth, vocos_dir=args.vocos, device=args.device,
                              progress=lambda name: progress.advance(task))
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1))
        return 0
    from rich.table import Table

    r0 = results[0]
    table = Table(title=f"Codec speed, {r0.seconds:g} s of 24 kHz audio on {r0.device} ({r0.threads} threads)")
    for col in ("codec", "decoder", "weights", "Q", "frames/s"):
        table.add_column(col, no_wrap=True)
    table.add_column("encode RTF", justify="right", no_wrap=True)
    table.add_column("decode RTF", justify="right", no_wrap=True)
    for r in results:
        table.add_row(r.codec, r.decoder, r.weights, str(r.n_codebooks), f"{r.frame_rate:g}",
                      f"{r.encode_rtf:.4f}", f"{r.decode_rtf:.4f}")
    con = console()
    con.print(table)
    con.print("RTF = compute time / audio duration (lower is faster; best of the timed runs).")
    return 0
