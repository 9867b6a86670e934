"""Front-end throughput: sentences per second for normalization and batch phonemization."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from text_frontend import Frontend

from .sentences import benchmark_sentences


@dataclass
class FrontendBenchResult:
    sentences: int
    language: str
    normalize_per_s: float
    batch_per_s: float
    single_per_s: float
    symbols_per_sentence: float

    def as_dict(self) -> dict:
        return asdict(self)


def bench_frontend(
    n: int = 1000, language: str = "en-us", single: int = 100, progress=None
) -> FrontendBenchResult:
    """Time the front-end on ``n`` benchmark sentences.

    Args:
        n: sentences for the batch run (one ``encode_batch`` call).
        language: espeak-ng language; the sentences are English either way.
        single: sentences encoded one ``encode`` call at a time, for comparison.
        progress: optional callable ``(step_name) -> None`` called between phases.

    Returns:
        Rates in sentences per second. The espeak backend is created (and warmed up)
        before timing, as it is once per process in real use.
    """
    texts = benchmark_sentences(n)
    fe = Frontend(language)
    fe.encode("Warm up the backend.")

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    step("normalize")
    t0 = time.perf_counter()
    for t in texts:
        fe.normalize(t)
    t_norm = time.perf_counter() - t0

    step("batch")
    t0 = time.perf_counter()
    seqs = fe.encode_batch(texts)
    t_batch = time.perf_counter() - t0

    step("single")
    k = min(single, n)
    t0 = time.perf_counter()
    for t in texts[:k]:
        fe.encode(t)
    t_single = time.perf_counter() - t0

    return FrontendBenchResult(
        sentences=n,
        language=fe.language,
        normalize_per_s=n / t_norm,
        batch_per_s=n / t_batch,
        single_per_s=k / t_single if k else float("nan"),
        symbols_per_sentence=sum(len(s) for s in seqs) / max(1, len(seqs)),
    )
