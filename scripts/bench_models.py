"""End-to-end synthesis time of shipped (or local) models, side by side, on one thread.

Each model speaks the same text in the demo prompt's voice through the Synthesizer (text
front-end, prompt encoding and alignment, both stages, codec or vocoder decode: what a
user waits for), with its own default options. The models alternate over ``--rounds``
rounds (after one warm-up each), so a change in the machine's load hits all of them; the
median wall-clock time and its real-time factor are reported per model.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_models.py --models tiny-maskgct,tiny-valle
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
# About 10 s of speech at a typical rate (the benchmarks' 10 s after a 3 s prompt).
TEXT = ("The birch canoe slid on the smooth planks, and a small boat drifted slowly toward the shore "
        "while the children watched from the old wooden pier and the gulls called far overhead.")


def main() -> None:
    from tts import Synthesizer

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="tiny-maskgct,tiny-valle", help="comma-separated shipped names or folders")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--text", default=TEXT)
    args = p.parse_args()
    torch.set_num_threads(1)
    prompt = REPO / "assets" / "demo_prompt.wav"
    prompt_text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    synths = {n: Synthesizer.from_pretrained(n, device="cpu") for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    audio: dict[str, float] = {}
    for r in range(args.rounds + 1):
        for n, s in synths.items():
            t0 = time.perf_counter()
            out = s.synthesize(args.text, prompt, prompt_text=prompt_text, seed=r)
            seconds = time.perf_counter() - t0
            if r:  # round 0 warms up
                times[n].append(seconds)
                audio.setdefault(n, 0.0)
                audio[n] += out.duration / args.rounds
    for n in names:
        params = sum(p.numel() for p in synths[n].backend.model.parameters()) / 1e6
        med = statistics.median(times[n])
        print(f"{n}: {params:.1f} M parameters, own defaults {synths[n].info.options or 'none'}; "
              f"median {med:.2f} s for {audio[n]:.2f} s of audio (RTF {med / audio[n]:.3f}); "
              f"runs {', '.join(f'{t:.2f}' for t in times[n])}")


if __name__ == "__main__":
    main()
