"""Time of the VALL-E AR's cached decoding step alone, against the weight floor, as the cache grows.

A step reads every weight once and, for attention, every cached key and value once. This
times :func:`codec_lm.valle.decode.fused_step` (random weights, random cache contents,
batch 1) at several cache lengths and prints each time with the cache's size and the
share of the weight floor (``tts bench valle``'s one pass of ``x @ W`` over the same
weights) it reaches; run it from a checkout:

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench_decode_step.py            # 512 wide, 12 layers
    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench_decode_step.py --dim 256 --layers 6 --heads 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--keys", default="1,381,581,881,1319", help="comma-separated cached positions")
    ap.add_argument("--steps", type=int, default=40, help="steps per timed round (median of 5 rounds)")
    args = ap.parse_args()

    from codec_lm.valle import VallE, VallEConfig
    from codec_lm.valle.decode import StepWeights, fused_step
    from codec_lm.valle.modules import KVCache
    from tts.bench.valle import weight_floor_bytes, weight_floor_seconds

    keys = [int(k) for k in args.keys.split(",")]
    torch.manual_seed(0)
    ar = VallE(VallEConfig(dim=args.dim, heads=args.heads, ar_layers=args.layers, nar_layers=1, dropout=0.0)).ar.eval()
    e = args.dim // args.heads
    with torch.inference_mode():
        weights = StepWeights(ar.blocks)
        cache = KVCache(args.layers, max(keys) + 1)
        cache.k = torch.randn(args.layers, 1, args.heads, max(keys) + 1, e)
        cache.v = torch.randn_like(cache.k)
        x = torch.randn(1, args.dim)
        floor = statistics.median(weight_floor_seconds(ar, "cpu") for _ in range(5))
        print(f"{args.dim} wide, {args.layers} layers, {torch.get_num_threads()} thread(s): weight floor "
              f"{floor * 1e3:.2f} ms ({weight_floor_bytes(ar) / 2**20:.0f} MiB of weights)")
        for n in keys:
            rounds = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    cache.length = n - 1  # the step writes position n - 1 and attends to n positions
                    fused_step(weights, x, None, cache)
                rounds.append((time.perf_counter() - t0) / args.steps)
            step = statistics.median(rounds)
            kv_mib = 2 * args.layers * args.dim * n * 4 / 2**20
            print(f"  {n:5d} cached positions ({kv_mib:5.1f} MiB of keys and values): step {step * 1e3:.2f} ms, "
                  f"{floor / step:.2f} of the weight floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
