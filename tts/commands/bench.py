"""`tts bench TARGET`: speed benchmarks."""

from __future__ import annotations

import argparse
import json

from . import console

TARGETS = ("frontend", "codec", "valle", "maskgct", "flow", "models")
# `tts bench models` speaks in the voice of the demo prompt of a checkout unless given another.
DEMO_PROMPT = "assets/demo_prompt.wav"


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
    c.add_argument("--device", default="cpu", help="codec, valle: torch device (default cpu)")
    v = b.add_argument_group("valle")
    v.add_argument("--size", default="default", choices=("default", "medium", "paper"),
                   help="valle: VallEConfig() (256 wide, 6 layers), medium (512 wide, 12 layers) or the VALL-E "
                        "paper's (1024 wide, 12 layers) (default: default)")
    v.add_argument("--tokens", type=int, default=938,
                   help="valle: generated codebook-1 frames (default 938 = 10 s at the codec's 93.75 Hz)")
    v.add_argument("--alignment", default="none", choices=("none", "monotonic"),
                   help="valle: plain VALL-E (one frame per step) or VALL-E R (--group frames per step)")
    v.add_argument("--group", type=int, help="valle: frames per AR step (default 1; monotonic: 2)")
    v.add_argument("--batch", type=int, default=8, help="valle: also time this many items at once (default 8; "
                   "0: skip)")
    v.add_argument("--skip-uncached", action="store_true", help="valle: time only the KV-cached path")
    m = b.add_argument_group("maskgct", "maskgct also reads --seconds (generated audio), --size "
                             "(default = the tiny recipe's model, medium = 512 wide with 12 + 12 layers, paper = "
                             "MaskGCT's width and depth) and --device")
    m.add_argument("--steps-list", default="5,10,25,50",
                   help="maskgct: comma-separated stage-1 step counts to time (default 5,10,25,50)")
    m.add_argument("--semantic", default="codebook1", choices=("codebook1", "aligner", "aligned"),
                   help="maskgct: T2S over the codec's first codebook (93.75 tokens/s) or over a semantic "
                        "tokenizer's tokens (23.4 tokens/s, as tiny-semantic); aligned: the latter with each "
                        "frame's phoneme in both stages and no phoneme prefix, as tiny_aligned.yaml "
                        "(default: codebook1)")
    f = b.add_argument_group("flow", "flow also reads --seconds, --repeats and --device. The same synthesis side "
                             "by side with F5-TTS's at equal dims: experiments/bench_f5.py in a checkout (README, Benchmarks)")
    f.add_argument("--model", help="flow: a flow checkpoint (default: the tiny architecture, random weights)")
    f.add_argument("--nfe-list", default="8,16,32", help="flow: comma-separated NFEs to time (default 8,16,32)")
    f.add_argument("--solver", default="euler", choices=("euler", "midpoint"))
    e = b.add_argument_group("models", "whole models end to end (text front-end, prompt, every stage, decode), "
                             "each with its own default options, alternating rounds after a warm-up, on --device")
    e.add_argument("--models", default="tiny-maskgct,tiny-valle",
                   help="models: comma-separated shipped names or folders (default tiny-maskgct,tiny-valle)")
    e.add_argument("--rounds", type=int, default=3, help="models: timed rounds, the median counts (default 3)")
    e.add_argument("--threads", type=int, default=1, help="models: torch CPU threads (default 1)")
    e.add_argument("--prompt", default=DEMO_PROMPT, help=f"models: the voice prompt (default {DEMO_PROMPT}, "
                   "run from a checkout)")
    e.add_argument("--prompt-text", help="models: the prompt's transcript (default: the .txt beside the prompt)")
    e.add_argument("--text", help="models: the sentence to speak (default: about 10 s of speech)")
    b.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "frontend":
        return _frontend(args)
    if args.target == "codec":
        return _codec(args)
    if args.target == "valle":
        return _valle(args)
    if args.target == "maskgct":
        return _maskgct(args)
    if args.target == "models":
        return _models(args)
    return _flow(args)


def _frontend(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ..bench.frontend import bench_frontend
    from ..errors import TTSError

    if args.sentences < 1:  # none would time nothing and print a negative or infinite rate
        raise TTSError(f"--sentences must be an integer >= 1, got {args.sentences}.")
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


def _valle(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ..bench.valle import bench_valle
    from ..errors import TTSError

    if args.tokens < 1:
        raise TTSError("--tokens must be at least 1.")
    if args.group is not None and not 1 <= args.group <= 16:
        raise TTSError(f"--group must be an integer in [1, 16], got {args.group}.")
    if args.batch < 0:
        raise TTSError(f"--batch must be 0 (skip) or a batch size, got {args.batch}.")
    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("VALL-E AR decoding", total=None)
        result = bench_valle(args.size, tokens=args.tokens, uncached=not args.skip_uncached, device=args.device,
                             alignment=args.alignment, group_size=args.group, batch=args.batch,
                             progress=lambda stage: progress.update(task, description=f"VALL-E AR, {stage}"))
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return 0
    from rich.table import Table

    r = result
    name = "VALL-E R" if r.alignment == "monotonic" else "VALL-E"
    table = Table(title=f"{name} AR decoding, {r.size} size ({r.ar_parameters / 1e6:.1f} M AR parameters), "
                        f"{r.group_size} frame(s) per step = {r.steps_per_audio_second:.2f} steps per second of "
                        f"audio, {r.tokens} frames after a {r.prompt_frames}-frame prompt and {r.phonemes} "
                        f"phonemes, {r.device} ({r.threads} threads)")
    for col in ("path", "frames/s", "audio s/s", "seconds", "peak MiB"):
        table.add_column(col, justify="left" if col == "path" else "right")

    def row(path, tps, mib, items=1):
        table.add_row(path, f"{tps:,.1f}", f"{tps / r.frame_rate:,.2f}", f"{items * r.tokens / tps:.1f}",
                      "" if mib is None else f"{mib:,.0f}")

    row("cached, batch 1", r.cached_tokens_per_s, r.cached_peak_mib)
    if r.uncached_tokens_per_s:
        row("recompute, batch 1", r.uncached_tokens_per_s, r.uncached_peak_mib)
    if r.batch_tokens_per_s:
        row(f"cached, batch {r.batch}", r.batch_tokens_per_s, None, r.batch)
    row("weight floor, batch 1", r.floor_tokens_per_s, None)
    row("weight + KV-cache floor, batch 1", r.kv_floor_tokens_per_s, None)
    con = console()
    con.print(table)
    con.print("frames/s and audio s/s of a batch count all its items.")
    con.print(f"Batch 1 reaches {r.floor_fraction:.2f} of the weight floor (one pass of x @ W over the AR's "
              f"weights per step) and {r.kv_floor_fraction:.2f} of the weight + KV-cache floor (the run's mean "
              "cache bytes per step added, at the bandwidth of that pass; sampling is in neither).")
    if r.speedup:
        con.print(f"KV cache speed-up: {r.speedup:.1f}x (target >= 5x)")
    if r.whole_rtf is not None:
        con.print(f"NAR (codebooks 2-Q of the same frames, greedy, batch 1): {r.nar_seconds:.2f} s; whole model "
                  f"(cached AR + NAR, batch 1, no codec decode): RTF {r.whole_rtf:.3f} for "
                  f"{r.audio_seconds:.2f} s of audio.")
    con.print(f"Peak memory: rise during the run ({r.memory_kind}).")
    return 0


def _maskgct(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ..bench.maskgct import bench_maskgct
    from ..errors import TTSError

    try:
        steps = tuple(int(x) for x in args.steps_list.split(",") if x.strip())
    except ValueError:
        steps = ()
    if not steps or min(steps) < 1:
        raise TTSError(f"--steps-list takes comma-separated step counts >= 1, got {args.steps_list!r}.")
    if args.seconds <= 0:
        raise TTSError("--seconds must be positive.")
    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("MaskGCT", total=None)
        r = bench_maskgct(args.size, seconds=args.seconds, steps_list=steps, device=args.device,
                          progress=lambda stage: progress.update(task, description=f"MaskGCT, {stage}"),
                          semantic=args.semantic)
    if args.json:
        print(json.dumps(r.as_dict(), indent=1))
        return 0
    from rich.table import Table

    stream = {"codebook1": "codebook 1", "aligner": "semantic tokens at 23.4 Hz",
              "aligned": "semantic tokens at 23.4 Hz, aligned phonemes"}[r.semantic]
    table = Table(title=f"MaskGCT synthesis, T2S over {stream}, {r.size} size ({r.parameters / 1e6:.1f} M "
                        "parameters, random weights), "
                        f"{r.audio_seconds:g} s ({r.frames} frames) after a {r.prompt_frames}-frame prompt, "
                        f"{r.phonemes} phonemes, batch 1, {r.device} ({r.threads} threads)")
    for col in ("stage-1 steps", "stage-2 steps", "cfg", "T2S s", "S2A s", "RTF"):
        table.add_column(col, justify="right")
    for i, run_ in enumerate(r.runs):
        label = f"{run_.steps} (default)" if i == 0 else str(run_.steps)
        table.add_row(label, ",".join(map(str, run_.s2a_steps)) + "...", f"{run_.cfg:g}", f"{run_.t2s_seconds:.2f}",
                      f"{run_.s2a_seconds:.2f}", f"{run_.rtf:.3f}")
    con = console()
    con.print(table)
    con.print(f"RTF = (T2S + S2A time) / audio duration, codec decode excluded. Codec decode (MelRVQ 8 x 1024 + "
              f"Vocos mel, official size): {r.decode_seconds:.2f} s, RTF {r.decode_rtf:.3f}; default options "
              f"with decode: RTF {r.total_rtf:.3f}.")
    return 0


# What experiments/bench_f5.py measured last (README, Benchmarks, gives the command and the venv).
F5_COMPARISON = ("0.72-0.79x F5-TTS 1.1.22's synthesis time at tiny-flow's size and 0.67x at 512 wide, 12 deep "
                 "(NFE 16, CFG 2, 10 s after a 3 s prompt, vocoder excluded, one core of an AMD EPYC); "
                 "experiments/bench_f5.py in a checkout, with F5-TTS in a separate venv, measures it here.")


def _flow(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..bench.flow import bench_flow
    from ..errors import TTSError

    try:
        nfes = tuple(int(x) for x in args.nfe_list.split(",") if x.strip())
    except ValueError as err:
        raise TTSError(f"--nfe-list must be comma-separated integers, got {args.nfe_list!r}.") from err
    with console(stderr=True).status("timing flow sampling"):
        result = bench_flow(args.model, nfes, seconds=args.seconds, solver=args.solver,
                            repeats=max(1, args.repeats - 1), device=args.device)
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return 0
    table = Table(title=f"Flow: {result.audio_seconds:g} s of speech, {result.model} "
                        f"({result.params_m} M parameters), {result.device}, {result.threads} thread(s)")
    for col in ("NFE", "solver", "seconds", "RTF", "peak memory (MiB)"):
        table.add_column(col, justify="right")
    for r in result.rows:
        table.add_row(str(r.nfe), r.solver, f"{r.seconds:.2f}", f"{r.rtf:.3f}", f"{r.peak_memory_mib:.0f}")
    con = console()
    con.print(table)
    con.print(f"Against F5-TTS at the same dims and NFE: {F5_COMPARISON}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..bench.models import TEXT, bench_models
    from ..errors import TTSError

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    if not names:
        raise TTSError("--models takes comma-separated model names or folders, e.g. tiny-maskgct,tiny-valle.")
    if args.rounds < 1 or args.threads < 1:
        raise TTSError("--rounds and --threads must be at least 1.")
    prompt = Path(args.prompt)
    if not prompt.is_file():
        raise TTSError(f"Prompt '{prompt}' does not exist: run from a checkout (for {DEMO_PROMPT}) or give "
                       "--prompt FILE --prompt-text TEXT.")
    prompt_text = args.prompt_text
    if prompt_text is None:
        transcript = prompt.with_suffix(".txt")
        if not transcript.is_file():
            raise TTSError(f"No --prompt-text given and no '{transcript}' beside the prompt: give --prompt-text.")
        prompt_text = transcript.read_text(encoding="utf-8").strip()
    with console(stderr=True).status("timing whole models") as status:
        result = bench_models(names, prompt, prompt_text, text=args.text or TEXT, rounds=args.rounds,
                              threads=args.threads, device=args.device,
                              progress=lambda name: status.update(f"timing {name}"))
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return 0
    from rich.table import Table

    table = Table(title=f"Whole models end to end, medians of {result.rounds} alternating rounds, "
                        f"{args.device} ({result.threads} threads)")
    for col in ("model", "M params", "own defaults", "seconds", "audio s", "RTF", "runs"):
        table.add_column(col, justify="left" if col in ("model", "own defaults", "runs") else "right")
    for r in result.rows:
        table.add_row(r.model, f"{r.params_m:.1f}", ", ".join(f"{k}={v}" for k, v in r.options.items()) or "none",
                      f"{r.median_seconds:.2f}", f"{r.audio_seconds:.2f}", f"{r.rtf:.3f}",
                      ", ".join(f"{t:.2f}" for t in r.runs))
    con = console()
    con.print(table)
    con.print("RTF = median synthesis time / seconds of audio (lower is faster).")
    return 0
