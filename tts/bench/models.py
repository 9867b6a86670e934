"""End-to-end synthesis time of whole models, side by side (``tts bench models``).

Each model speaks the same text in one prompt's voice through the Synthesizer (text
front-end, prompt encoding and alignment, every stage, codec or vocoder decode: what a
user waits for), with its own default options. The models alternate over ``rounds``
rounds after one warm-up each, so a change in the machine's load hits all of them; the
median wall-clock time and its real-time factor are reported per model.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch

from ..synthesizer import Synthesizer

# About 10 s of speech at a typical rate (the other benchmarks' 10 s after a 3 s prompt).
TEXT = ("The birch canoe slid on the smooth planks, and a small boat drifted slowly toward the shore "
        "while the children watched from the old wooden pier and the gulls called far overhead.")


@dataclass
class ModelBenchRow:
    model: str
    params_m: float
    options: dict
    median_seconds: float
    audio_seconds: float
    rtf: float
    runs: list[float]


@dataclass
class ModelBenchResult:
    threads: int
    rounds: int
    rows: list[ModelBenchRow]

    def as_dict(self) -> dict:
        return asdict(self)


def bench_models(names: list[str], prompt, prompt_text: str, text: str = TEXT, rounds: int = 3,
                 threads: int = 1, device: str = "cpu", progress=None) -> ModelBenchResult:
    """Time ``names`` (shipped names or folders) synthesizing ``text`` in the voice of ``prompt``.

    Round 0 warms every model up and is not counted; item ``r`` of each round is seeded with
    ``r``. ``progress``, if given, is called with each model's name before its run.
    """
    torch.set_num_threads(threads)
    synths = {n: Synthesizer.from_pretrained(n, device=device) for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    audio = dict.fromkeys(names, 0.0)
    for r in range(rounds + 1):
        for n, s in synths.items():
            if progress is not None:
                progress(n)
            t0 = time.perf_counter()
            out = s.synthesize(text, prompt, prompt_text=prompt_text, seed=r)
            seconds = time.perf_counter() - t0
            if r:  # round 0 warms up
                times[n].append(seconds)
                audio[n] += out.duration / rounds
    rows = []
    for n, s in synths.items():
        med = statistics.median(times[n])
        rows.append(ModelBenchRow(model=n, params_m=sum(p.numel() for p in s.backend.model.parameters()) / 1e6,
                                  options=dict(s.info.options or {}), median_seconds=med, audio_seconds=audio[n],
                                  rtf=med / audio[n], runs=times[n]))
    return ModelBenchResult(threads=torch.get_num_threads(), rounds=rounds, rows=rows)
