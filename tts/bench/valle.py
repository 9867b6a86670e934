"""VALL-E AR decoding speed: tokens/s with and without the KV cache, and peak memory.

The AR model generates exactly ``tokens`` codebook-1 tokens (EOS is forbidden until
then; 750 = 10 s at 75 Hz) after a 3 s prompt and 100 phonemes, with the default
sampling (temperature 1, top-p, repetition-aware sampling), batch 1. Without the
cache every step runs the whole sequence again (phonemes + prompt + tokens so far),
which is what VALL-E implementations without a cache do; with it, each step runs
one position against the stored keys and values. Weights are random: speed does not
depend on their values. Sizes: ``default`` is ``VallEConfig()`` (the tiny recipe's
model), ``paper`` the VALL-E paper's (1024 wide, 12 layers).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

SIZES = {"default": {}, "paper": {"dim": 1024, "heads": 16, "ar_layers": 12, "nar_layers": 12}}


@dataclass
class ValleBenchResult:
    size: str
    ar_parameters: int
    tokens: int
    prompt_frames: int
    phonemes: int
    cached_tokens_per_s: float
    cached_peak_mib: float
    uncached_tokens_per_s: float | None
    uncached_peak_mib: float | None
    memory_kind: str
    device: str
    threads: int

    @property
    def speedup(self) -> float | None:
        if not self.uncached_tokens_per_s:
            return None
        return self.cached_tokens_per_s / self.uncached_tokens_per_s

    def as_dict(self) -> dict:
        return {**asdict(self), "speedup": self.speedup}


def _run(model, inputs, tokens: int, use_cache: bool, seed: int = 0) -> None:
    from codec_lm.valle import VallESampling, generate_ar

    text, text_lens, prompt, prompt_lens = inputs
    n = torch.tensor([tokens])
    gens = [torch.Generator().manual_seed(seed)]
    out = generate_ar(model.ar, text, text_lens, prompt, prompt_lens, n, n, VallESampling(seed=seed), gens,
                      use_cache=use_cache)
    if int(out.lengths[0]) != tokens:  # EOS is forbidden before the cap: this would be a decoding bug
        raise RuntimeError(f"generated {int(out.lengths[0])} tokens instead of {tokens}")


def _timed(model, inputs, tokens: int, use_cache: bool, device: str) -> tuple[float, float, str]:
    from ..eval.speed import PeakMemory

    _run(model, inputs, min(tokens, 8), use_cache)  # warm-up: allocator, kernels, lazy inits
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    with PeakMemory(device) as mem:
        t0 = time.perf_counter()
        _run(model, inputs, tokens, use_cache)
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    return tokens / seconds, mem.increase_bytes / 2**20, mem.kind


def bench_valle(size: str = "default", tokens: int = 750, prompt_seconds: float = 3.0, phonemes: int = 100,
                uncached: bool = True, device: str = "cpu", progress=None) -> ValleBenchResult:
    """Time AR decoding of ``tokens`` tokens with the KV cache and (optionally) without.

    Args:
        size: ``default`` (``VallEConfig()``) or ``paper``.
        tokens: generated tokens per run.
        prompt_seconds: prompt length (at the config's frame rate).
        phonemes: phonemes of prompt + target text.
        uncached: also time the recomputing path (slow: quadratic in ``tokens``).
        device: torch device.
        progress: optional callable ``(stage) -> None``.

    Returns:
        Tokens/s and peak memory increase (MiB; CPU: resident set, CUDA: allocated) of each path.
    """
    from codec_lm.valle import VallE, VallEConfig

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    torch.manual_seed(0)
    model = VallE(VallEConfig(**SIZES[size], dropout=0.0)).to(device).eval()
    cfg = model.config
    frames = max(1, round(prompt_seconds * cfg.frame_rate))
    g = torch.Generator().manual_seed(0)
    text = torch.randint(5, cfg.vocab_size, (1, phonemes), generator=g)
    prompt = torch.randint(0, cfg.codebook_size, (1, frames), generator=g)
    inputs = tuple(x.to(device) for x in (text, torch.tensor([phonemes]), prompt, torch.tensor([frames])))
    if progress:
        progress("cached")
    cached_tps, cached_mib, kind = _timed(model, inputs, tokens, True, device)
    uncached_tps = uncached_mib = None
    if uncached:
        if progress:
            progress("uncached")
        uncached_tps, uncached_mib, kind = _timed(model, inputs, tokens, False, device)
    return ValleBenchResult(size=size, ar_parameters=sum(p.numel() for p in model.ar.parameters()), tokens=tokens,
                            prompt_frames=frames, phonemes=phonemes, cached_tokens_per_s=cached_tps,
                            cached_peak_mib=cached_mib, uncached_tokens_per_s=uncached_tps,
                            uncached_peak_mib=uncached_mib, memory_kind=kind, device=str(device),
                            threads=torch.get_num_threads())
