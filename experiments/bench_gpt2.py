"""Batch-1 AR decoding speed of our VALL-E AR side by side with Hugging Face GPT-2 at the same dims.

Both are decoder-only transformers of the same width, depth, heads, MLP ratio and
output size (1025 = 1024 codes + EOS), with random weights, on CPU. Each decodes
``--tokens`` tokens after the same prefix length (100 phonemes + a 3 s prompt at
93.75 Hz = 381 positions) with a KV cache, sampling at temperature 1 with top-p 0.8:

* ours: ``codec_lm.valle.generate_ar`` (EOS forbidden until the cap; repetition-aware
  sampling on, as by default);
* GPT-2: ``GPT2LMHeadModel.generate(do_sample=True, top_p=0.8, min_new_tokens=N,
  max_new_tokens=N)`` over a 381-token prefix.

The two sides alternate (the order flips every round) and the medians of wall-clock and
CPU time per token are reported with their ratio (ours / GPT-2; below 1: ours is faster),
and the weight-reading floor of ``tts bench valle`` (one pass of ``x @ W`` over the AR's
weight matrices), each also in CPU time: on a machine shared with other jobs, CPU time
leaves out the time a process waited for a core. transformers is one of the toolkit's dependencies; run it from a checkout:

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench_gpt2.py            # 512 wide, 12 layers
    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench_gpt2.py --dim 256 --layers 6
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ours(dim: int, layers: int, heads: int):
    from codec_lm.valle import VallE, VallEConfig, VallESampling, generate_ar

    torch.manual_seed(0)
    model = VallE(VallEConfig(dim=dim, heads=heads, ar_layers=layers, nar_layers=1, dropout=0.0)).eval()
    g = torch.Generator().manual_seed(0)
    text, prompt = torch.randint(5, 500, (1, 100), generator=g), torch.randint(0, 1024, (1, 281), generator=g)

    def run(n: int) -> None:
        cap = torch.tensor([n])
        out = generate_ar(model.ar, text, torch.tensor([100]), prompt, torch.tensor([281]), cap, cap,
                          VallESampling(seed=0), [torch.Generator().manual_seed(0)])
        assert int(out.lengths[0]) == n

    return model.ar, run


def _gpt2(dim: int, layers: int, heads: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=1025, n_positions=2048, n_embd=dim, n_layer=layers, n_head=heads,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=1024, eos_token_id=1024)
    model = GPT2LMHeadModel(cfg).eval()
    prefix = torch.randint(0, 1024, (1, 381), generator=torch.Generator().manual_seed(0))

    def run(n: int) -> None:
        with torch.inference_mode():
            out = model.generate(prefix, attention_mask=torch.ones_like(prefix), do_sample=True, top_p=0.8,
                                 top_k=0, min_new_tokens=n, max_new_tokens=n, pad_token_id=1024)
        assert out.shape[1] == 381 + n

    return model, run


def _timed(run, n: int) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    run(n)
    return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--unfused", action="store_true",
                    help="time our AR through its modules instead of the fused decoding step (what that step buys)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.unfused:
        import codec_lm.valle.model as valle_model

        valle_model.can_fuse = lambda blocks: False
    from tts.bench.valle import weight_floor_seconds

    heads = args.dim // 64
    ar, ours = _ours(args.dim, args.layers, heads)
    _, gpt2 = _gpt2(args.dim, args.layers, heads)
    for run in (ours, gpt2):  # warm-up
        run(8)
    times = {"ours": [], "gpt2": []}
    floors, cpu_floors = [], []
    for r in range(args.rounds):
        order = (("ours", ours), ("gpt2", gpt2)) if r % 2 == 0 else (("gpt2", gpt2), ("ours", ours))
        for name, run in order:
            times[name].append(_timed(run, args.tokens))
        floors.append(weight_floor_seconds(ar, "cpu"))
        cpu_floors.append(weight_floor_seconds(ar, "cpu", clock=time.process_time))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    floor, cpu_floor = statistics.median(floors), statistics.median(cpu_floors)
    result = {"fused": not args.unfused, "dim": args.dim, "layers": args.layers, "heads": heads, "tokens": args.tokens, "rounds": args.rounds,
              "threads": torch.get_num_threads(),
              "ours_tokens_per_s": 1 / med["ours"][0], "gpt2_tokens_per_s": 1 / med["gpt2"][0],
              "ours_ms_per_token_cpu": 1e3 * med["ours"][1], "gpt2_ms_per_token_cpu": 1e3 * med["gpt2"][1],
              "ratio_wall": med["ours"][0] / med["gpt2"][0], "ratio_cpu": med["ours"][1] / med["gpt2"][1],
              "floor_tokens_per_s": 1 / floor, "ours_floor_fraction": floor / med["ours"][0],
              "gpt2_floor_fraction": floor / med["gpt2"][0], "floor_ms_cpu": 1e3 * cpu_floor,
              "ours_floor_fraction_cpu": cpu_floor / med["ours"][1], "gpt2_floor_fraction_cpu": cpu_floor / med["gpt2"][1]}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.dim} wide, {args.layers} layers, {heads} heads, batch 1, {args.tokens} tokens after 381, "
          f"{result['threads']} thread(s), medians of {args.rounds} alternating rounds")
    print(f"  ours  {result['ours_tokens_per_s']:6.1f} tokens/s ({result['ours_ms_per_token_cpu']:.2f} ms CPU/token), "
          f"{result['ours_floor_fraction']:.2f} of the floor (CPU time: {result['ours_floor_fraction_cpu']:.2f})")
    print(f"  GPT-2 {result['gpt2_tokens_per_s']:6.1f} tokens/s ({result['gpt2_ms_per_token_cpu']:.2f} ms CPU/token), "
          f"{result['gpt2_floor_fraction']:.2f} of the floor (CPU time: {result['gpt2_floor_fraction_cpu']:.2f})")
    print(f"  floor {result['floor_tokens_per_s']:6.1f} tokens/s ({result['floor_ms_cpu']:.2f} ms CPU; one pass of "
          "x @ W over the AR's weights)")
    print(f"  ours / GPT-2 time per token: wall {result['ratio_wall']:.2f}, CPU {result['ratio_cpu']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
