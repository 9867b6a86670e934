"""`tts eval`: zero-shot evaluation of a model, of ground truth, of generated audio, or of a codec.

    tts eval --model tiny-flow --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --out eval/tiny-flow
    tts eval --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --out eval/ground-truth   # no model: the ceiling
    tts eval --manifest gen/manifest.jsonl --out gen/eval                             # audio you generated
    tts eval codec --codec tiny-melrvq --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --out eval/melrvq
    tts eval align --aligner tiny-aligner --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --out eval/aligner
    tts eval repetition --cuts data/tinyvoices/codes/cuts_dev_aligned_codes.jsonl.gz --out eval/repetition
    tts eval semantic --tokenizer tiny-semantic --cuts data/tinyvoices/cuts_dev_aligned.jsonl.gz --out eval/semantic
    tts eval semantic --cuts data/tinyvoices/codes/cuts_dev_aligned_codes.jsonl.gz --out eval/codebook1   # baseline
    tts eval s2a --model MASKGCT --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --limit 30 --out eval/s2a
"""

from __future__ import annotations

import argparse
import json

from ..errors import TTSError
from . import console
from .options import add_model_options, model_options

SUMMARY_ROWS = (("items", "items", "{}"), ("wer", "WER", "{:.3f}"), ("ref_wer", "WER of ground truth", "{:.3f}"),
                ("sim", "SIM", "{:.3f}"), ("sim_ref", "SIM of ground truth", "{:.3f}"),
                ("sim_original", "SIM to the original", "{:.3f}"),
                ("dnsmos_ovrl", "DNSMOS OVRL", "{:.2f}"), ("dnsmos_ovrl_ref", "DNSMOS OVRL of original", "{:.2f}"),
                ("mel_l1", "mel L1", "{:.3f}"), ("rtf", "RTF", "{:.3f}"), ("encode_rtf", "encode RTF", "{:.4f}"),
                ("decode_rtf", "decode RTF", "{:.4f}"), ("peak_memory_mib", "peak memory (MiB)", "{:.0f}"))


def register(sub) -> None:
    ev = sub.add_parser("eval", help="WER, speaker similarity, DNSMOS and RTF of a model, ground truth or codec",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ev.add_argument("what", nargs="?", choices=("model", "codec", "align", "repetition", "semantic", "s2a"),
                    default="model",
                    help="'model' (default): zero-shot TTS evaluation; 'codec': resynthesis quality; 'align': "
                         "a phone aligner's PER and (TinyVoices espeak-ng items) boundary errors; 'repetition': how "
                         "often VALL-E's repetition-aware sampling fires on the codes of a manifest; 'semantic': "
                         "phone purity of a semantic tokenizer (or, without --tokenizer, of the stored codes' first "
                         "codebook) on an aligned manifest; 's2a': a MaskGCT model's S2A stage alone, resynthesizing "
                         "test utterances from their own semantic tokens")
    ev.add_argument("--model", help="shipped model name or checkpoint folder (omit: evaluate the ground truth)")
    ev.add_argument("--cuts", help="test manifest, e.g. DIR/cuts_test_unseen.jsonl.gz")
    ev.add_argument("--manifest", help="JSONL of generated audio: {id, audio, text, prompt, reference?}")
    ev.add_argument("--codec", help="codec: checkpoint folder or shipped name")
    ev.add_argument("--vocoder", help="codec mode: evaluate a Vocos mel vocoder's copy-synthesis instead")
    ev.add_argument("--codebooks", help="codec mode: decode from the first k codebooks only; a comma-separated "
                    "list (e.g. 1,2,4,8) writes one report per k in OUT/q<k> and a table of them (default: all)")
    ev.add_argument("--aligner", default="tiny-aligner", help="align mode: aligner checkpoint folder or shipped name")
    ev.add_argument("--tokenizer", help="semantic: a semantic tokenizer folder or shipped name")
    ev.add_argument("--prompt", choices=("other", "prefix"), default="other",
                    help="s2a: the prompt is another utterance of the speaker (default) or the utterance's own start")
    ev.add_argument("--prefix-seconds", type=float, default=3.0, help="s2a --prompt prefix: the prompt's seconds")
    ev.add_argument("--given-codebooks", type=int, default=0, metavar="K",
                    help="s2a: give S2A the true codes of the first K codebooks it predicts and let it make the "
                         "rest (a diagnostic: which codebooks lose the words; default 0); a VALL-E R's NAR gets "
                         "the first K >= 1 codebooks, and with K = 0 its AR writes codebook 1 on the recording's "
                         "own phone durations")
    ev.add_argument("--out", required=True, help="report folder (JSON, Markdown, PNG, audio)")
    ev.add_argument("--overwrite", action="store_true", help="replace an existing report folder's contents")
    ev.add_argument("--limit", type=int, help="evaluate at most this many items")
    ev.add_argument("--language", default="en-us")
    ev.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--asr", help="Whisper model: a CTranslate2 folder or cached name (default: packaged base)")
    ev.add_argument("--speaker-encoder", default="resemblyzer", choices=("resemblyzer", "ecapa", "wavlm"))
    ev.add_argument("--speaker-model", help="local folder of the ECAPA or WavLM-SV model")
    ev.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (faster)")
    ev.add_argument("--windows", default="10,20,30", help="repetition: windows in frames (comma-separated)")
    ev.add_argument("--thresholds", default="0.1,0.2,0.3,0.4,0.5", help="repetition: thresholds (comma-separated)")
    add_model_options(ev)
    ev.set_defaults(func=run)


def _evaluator(args):
    from ..eval import Evaluator

    from ..eval.asr import asr_language

    return Evaluator(asr=args.asr, speaker=args.speaker_encoder, speaker_path=args.speaker_model,
                     dnsmos=not args.no_dnsmos, language=asr_language(args.language),
                     device="auto" if args.device is None else args.device)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, update


def _print(report, out: str) -> None:
    from rich.table import Table

    table = Table(title=f"{report.summary.get('model', 'evaluation')} -> {out}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in SUMMARY_ROWS:
        value = report.summary.get(key)
        if value is not None:
            table.add_row(label, fmt.format(value))
    console().print(table)


def _run_align(args: argparse.Namespace) -> int:
    from ..eval.alignment import evaluate_aligner
    from ..eval.zero_shot import prepare_out_dir

    if not args.cuts:
        raise TTSError("`tts eval align` needs --cuts (e.g. DIR/cuts_test_unseen.jsonl.gz).")
    prepare_out_dir(args.out, args.overwrite)
    bar, update = _progress()
    with bar:
        summary = evaluate_aligner(args.cuts, args.aligner, out=args.out, limit=args.limit,
                                   device=args.device or "cpu", progress=lambda d, t: update("align", d, t))
    print(json.dumps(summary))
    return 0


def _run_repetition(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..eval.repetition import repetition_grid

    if not args.cuts:
        raise TTSError("`tts eval repetition` needs --cuts: a code manifest (tts prepare features --kind codes).")
    try:
        windows = [int(w) for w in args.windows.split(",") if w.strip()]
        thresholds = [float(t) for t in args.thresholds.split(",") if t.strip()]
    except ValueError as err:
        raise TTSError(f"--windows takes integers and --thresholds numbers, comma-separated ({err}).") from err
    summary = repetition_grid(args.cuts, windows, thresholds, out=args.out, limit=args.limit)
    table = Table(title=f"repetition-aware sampling on {summary['frames']} frames of {summary['cuts']} cuts")
    for name in ("window", "threshold", "fires on"):
        table.add_column(name, justify="right")
    for r in summary["rates"]:
        table.add_row(str(r["window"]), f"{r['threshold']:g}", f"{100 * r['rate']:.1f} %")
    console().print(table)
    print(json.dumps(summary))
    return 0


def _codebook_list(text: str | None, n_codebooks: int) -> list[int | None]:
    if text is None:
        return [None]
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        ks = []
    if not ks or any(not 1 <= k <= n_codebooks for k in ks) or len(set(ks)) != len(ks):
        raise TTSError(f"--codebooks takes distinct counts in 1..{n_codebooks} (this codec's codebooks), "
                       f"comma-separated, got {text!r}.")
    return ks


def _run_codec(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data.manifests import load_cuts
    from ..eval.resynthesis import run_resynthesis
    from ..synthesizer import resolve_device

    if not args.cuts or (args.codec is None) == (args.vocoder is None):
        raise TTSError("`tts eval codec` needs --cuts and one of --codec or --vocoder.")
    if args.codebooks is not None and args.vocoder:
        raise TTSError("--codebooks counts a codec's codebooks; a vocoder has none: drop it or use --codec.")
    device = resolve_device(args.device)
    if args.codec:
        from ..codecs import load_codec

        codec, vocoder = load_codec(args.codec, device=device), None
        depths = _codebook_list(args.codebooks, codec.n_codebooks)
    else:
        from ..vocoder import Vocoder

        codec, vocoder, depths = None, Vocoder.from_pretrained(args.vocoder, device=device, kind="mel"), [None]
    if len(depths) > 1:
        from ..eval.zero_shot import prepare_out_dir

        prepare_out_dir(args.out, args.overwrite)
    cuts = load_cuts(args.cuts)
    rows = []
    for k in depths:
        out = args.out if len(depths) == 1 else str(Path(args.out) / f"q{k}")
        bar, update = _progress()
        with bar:
            report = run_resynthesis(cuts, out, codec=codec, vocoder=vocoder, evaluator=_evaluator(args),
                                     limit=args.limit, overwrite=args.overwrite, progress=update, codebooks=k)
        if len(depths) == 1:
            _print(report, out)
        rows.append({k_: v for k_, v in report.summary.items() if not isinstance(v, (dict, list))})
    if len(depths) == 1:
        print(json.dumps(rows[0]))
        return 0
    from rich.table import Table

    table = Table(title=f"{rows[0].get('model')}: resynthesis from the first k codebooks -> {args.out}")
    for col in ("codebooks", "WER", "WER of the originals", "SIM", "mel L1", "DNSMOS"):
        table.add_column(col, justify="right")
    fmt = lambda v, f: "" if v is None else f.format(v)  # noqa: E731
    for r in rows:
        table.add_row(str(r.get("codebooks")), fmt(r.get("wer"), "{:.3f}"), fmt(r.get("ref_wer"), "{:.3f}"),
                      fmt(r.get("sim"), "{:.3f}"), fmt(r.get("mel_l1"), "{:.3f}"), fmt(r.get("dnsmos_ovrl"), "{:.2f}"))
    console().print(table)
    (Path(args.out) / "codebooks.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps(rows))
    return 0


def _run_semantic(args: argparse.Namespace) -> int:
    from rich.table import Table

    from ..data.semantic import codebook_purity, semantic_purity
    from ..eval.zero_shot import prepare_out_dir

    if not args.cuts:
        raise TTSError("`tts eval semantic` needs --cuts: an aligned manifest (tts prepare align), e.g. "
                       "DIR/cuts_dev_aligned.jsonl.gz (without --tokenizer: its code manifest).")
    out = prepare_out_dir(args.out, args.overwrite)
    if args.tokenizer:
        from ..semantic import load_semantic_tokenizer

        tokenizer = load_semantic_tokenizer(args.tokenizer, args.device or "cpu")
        bar, update = _progress()
        with bar:
            result = semantic_purity(args.cuts, tokenizer, limit=args.limit,
                                     progress=lambda d, t: update("tokenize", d, t))
        result["tokenizer"] = str(tokenizer.path)
    else:
        result = codebook_purity(args.cuts, limit=args.limit)
        result["tokenizer"] = "codebook 1 of the stored codes"
    result["cuts_path"] = args.cuts
    table = Table(title=f"phone purity of {result['tokenizer']} on {result['cuts']} utterances")
    for name in ("scored per", "frames", "purity", "PNMI", "clusters used"):
        table.add_column(name, justify="left" if name == "scored per" else "right")
    for key, label in (("frame", "mel frame (93.75 Hz)"), ("token", "token (its majority phone)")):
        if key in result:
            r = result[key]
            table.add_row(label, str(r["frames"]), f"{r['purity']:.3f}", f"{r['pnmi']:.3f}", str(r["clusters"]))
    console().print(table)
    (out / "purity.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return 0


def _run_s2a(args: argparse.Namespace) -> int:
    from ..data.manifests import load_cuts
    from ..eval.s2a import run_s2a_check
    from ..prechecks import check_model
    from ..synthesizer import Synthesizer

    if not args.cuts or not args.model:
        raise TTSError("`tts eval s2a` needs --model (a MaskGCT or VALL-E R model) and --cuts (e.g. "
                       "DIR/cuts_test_unseen.jsonl.gz).")
    if not args.prefix_seconds > 0:
        raise TTSError(f"--prefix-seconds must be positive, got {args.prefix_seconds}.")
    _, options = check_model(args.model, model_options(args))  # fail before any work
    synthesizer = Synthesizer.from_pretrained(args.model, device=args.device)
    bar, update = _progress()
    with bar:
        report = run_s2a_check(load_cuts(args.cuts), synthesizer, args.out, prompt=args.prompt,
                               prefix_seconds=args.prefix_seconds, given_codebooks=args.given_codebooks,
                               limit=args.limit, evaluator=_evaluator(args),
                               seed=args.seed, options=options, overwrite=args.overwrite, progress=update)
    _print(report, args.out)
    print(json.dumps({k: v for k, v in report.summary.items() if not isinstance(v, (dict, list))}))
    return 0


def run(args: argparse.Namespace) -> int:
    from ..data.manifests import load_cuts
    from ..validation import check_seed

    check_seed(args.seed, "--seed")
    if args.what == "align":
        return _run_align(args)
    if args.what == "repetition":
        return _run_repetition(args)
    if args.what == "semantic":
        return _run_semantic(args)
    if args.what == "s2a":
        return _run_s2a(args)
    if args.what == "codec":
        return _run_codec(args)
    if args.manifest:
        from ..eval import load_manifest
        from ..eval.zero_shot import prepare_out_dir

        items = load_manifest(args.manifest)[: args.limit]
        prepare_out_dir(args.out, args.overwrite)
        bar, update = _progress()
        with bar:
            report = _evaluator(args).evaluate(items, progress=lambda d, t, _i: update("evaluate", d, t))
        report.summary["model"] = args.manifest
        report.write(args.out, items)
    else:
        if not args.cuts:
            raise TTSError("Give the test split with --cuts (e.g. DIR/cuts_test_unseen.jsonl.gz), or --manifest.")
        from ..eval.cases import build_cases
        from ..eval.zero_shot import run_zero_shot

        synthesizer = None
        options = model_options(args)
        if args.model:
            from ..prechecks import check_model
            from ..synthesizer import Synthesizer

            _, options = check_model(args.model, options)  # fail before any work
            synthesizer = Synthesizer.from_pretrained(args.model, device=args.device)
        elif options:
            raise TTSError("Model options were given without --model.")
        cases = build_cases(load_cuts(args.cuts), limit=args.limit)
        bar, update = _progress()
        with bar:
            report = run_zero_shot(cases, args.out, synthesizer, _evaluator(args), language=args.language,
                                   seed=args.seed, options=options, overwrite=args.overwrite, progress=update)
    _print(report, args.out)
    print(json.dumps({k: v for k, v in report.summary.items() if not isinstance(v, (dict, list))}))
    return 0
