"""Which stage of the phone aligner makes the most phonetic semantic tokens: phone purity per stage and cluster count.

For each stage of the aligner's speech encoder,
k-means on the pooled features of a sample of training utterances, then phone purity and
PNMI of the tokens on an aligned dev manifest, scored per mel frame as ``tts eval
semantic`` does; the codec's first codebook (MaskGCT's "codebook1" stream) is scored on
the same frames as the baseline. The same functions as ``tts prepare semantic-tokenizer``
and ``tts eval semantic`` (``tts.data.semantic``), without writing folders:

    OMP_NUM_THREADS=1 python experiments/semantic_stages.py --cuts data/tinyvoices/cuts_train.jsonl.gz \\
        --dev data/tinyvoices/cuts_dev_aligned.jsonl.gz --codes data/tinyvoices/codes/cuts_dev_aligned_codes.jsonl.gz

Prints one JSON line per (stage, clusters) and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, also when run from elsewhere


def main() -> None:
    import torch

    from aligner.kmeans import kmeans
    from aligner.semantic import SemanticConfig, SemanticTokenizer
    from tts.aligner import load_aligner
    from tts.data.manifests import load_cuts
    from tts.data.semantic import codebook_purity, collect_features, semantic_purity

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cuts", required=True, help="training manifest (audio)")
    p.add_argument("--dev", required=True, help="aligned dev manifest (tts prepare align)")
    p.add_argument("--codes", help="the dev manifest's codes (tts prepare features --kind codes): the baseline")
    p.add_argument("--aligner", default="tiny-aligner")
    p.add_argument("--stages", default=None, help="comma-separated (default: every stage of the aligner)")
    p.add_argument("--clusters", default="512,1024")
    p.add_argument("--max-tokens", type=int, default=100_000)
    p.add_argument("--iterations", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model, _, _ = load_aligner(args.aligner)
    stages = args.stages.split(",") if args.stages else model.speech_stages()
    cuts = list(load_cuts(args.cuts))
    random.Random(args.seed).shuffle(cuts)
    rows = []
    if args.codes:
        base = codebook_purity(args.codes)
        rows.append({"stage": "codec codebook 1", "clusters": "1024", **base})
        print(json.dumps(rows[-1]), flush=True)
    for stage in stages:
        tokenizer = SemanticTokenizer(SemanticConfig(stage=stage, dim=model.config.dim, clusters=2), model)
        feats = collect_features(cuts, tokenizer, args.max_tokens)
        for k in (int(c) for c in args.clusters.split(",")):
            centroids, info = kmeans(feats, k, iterations=args.iterations, seed=args.seed)
            fitted = SemanticTokenizer(SemanticConfig(stage=stage, dim=model.config.dim, clusters=k), model)
            fitted.centroids.copy_(centroids)
            rows.append({"stage": stage, "clusters": str(k), "tokens": len(feats), "iterations": info["iterations"],
                         **semantic_purity(args.dev, fitted)})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s\n")
    print("| stage | clusters | purity (per mel frame) | PNMI | purity (per token) |")
    print("|---|---|---|---|---|")
    for r in rows:
        token = f"{r['token']['purity']:.3f}" if "token" in r else "—"
        print(f"| {r['stage']} | {r['clusters']} | {r['frame']['purity']:.3f} | {r['frame']['pnmi']:.3f} | {token} |")


if __name__ == "__main__":
    main()
