"""VALL-E AR decoding speed: frames/s and audio-seconds/s with and without the KV cache,
the share of the memory-bandwidth floor reached at batch 1, batched throughput, peak memory;
and the NAR's time for the same frames, so that the whole model's time (AR + NAR, codec
decode left out) can be set beside other families' (``tts bench maskgct``).

The AR generates exactly ``tokens`` codebook-1 frames (938 = 10 s at the codec's 93.75
Hz) after a 3 s prompt and 100 phonemes, with the default sampling (temperature 1,
top-p, repetition-aware sampling). Plain VALL-E (``alignment="none"``) makes one frame
per step and EOS is forbidden before the cap; VALL-E R (``"monotonic"``) makes
``group_size`` frames per step and its stay/advance head is biased to stay, so the
pointer only moves when the cap forces it and the run lasts exactly as long. Weights
are otherwise random: speed does not depend on their values.

Without the cache every step runs the whole sequence again (phonemes + prompt + tokens
so far), which is what VALL-E implementations without a cache do; with it, each step
runs one position against the stored keys and values.

**Bandwidth floor.** At batch 1 a step multiplies every AR weight matrix by one vector,
so it cannot be faster than reading those weights once: the floor is the time of one
pass of ``x @ W`` over all of them (pre-transposed ``[in, out]`` copies, the faster
layout), averaged over 50 passes right before and right after the run. It leaves out what a real step adds:
reading the KV cache (which grows with the sequence), embeddings, norms, sampling.
The KV cache is memory a step must read too (at 512 wide and 12 layers, 48 KiB per
position: 10 s of audio after a 3 s prompt ends at 40 % of the weights' bytes), so the
bench also gives a **weight + cache floor**: the weights' and the run's mean cache bytes
per step, read at the bandwidth the weight pass measured.

**NAR.** Codebooks 2..Q of the same frames, greedy, batch 1: one pass of the NAR per
codebook over phonemes, the prompt's codes and the target's (Q - 1 passes), timed once
after a warm-up pass.

Sizes: ``default`` is ``VallEConfig()`` (256 wide, 6 layers), ``medium`` 512 wide with
12 layers (GPT-2 small's shape), ``paper`` the VALL-E paper's (1024 wide, 12 layers).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from codec_lm.valle import VallE, VallEConfig, VallESampling, generate_ar, generate_nar
from codec_lm.valle.generate_aligned import cached_steps, generate_ar_aligned, recomputed_steps

from ..eval.speed import PeakMemory

SIZES = {"default": {}, "medium": {"dim": 512, "heads": 8, "ar_layers": 12, "nar_layers": 1},
         "paper": {"dim": 1024, "heads": 16, "ar_layers": 12, "nar_layers": 12}}
ALIGNMENTS = ("none", "monotonic")


@dataclass
class ValleBenchResult:
    size: str
    alignment: str
    group_size: int
    ar_parameters: int
    tokens: int
    frame_rate: float
    prompt_frames: int
    phonemes: int
    cached_tokens_per_s: float
    cached_peak_mib: float
    uncached_tokens_per_s: float | None
    uncached_peak_mib: float | None
    floor_tokens_per_s: float
    kv_floor_tokens_per_s: float
    batch: int
    batch_tokens_per_s: float | None
    memory_kind: str
    device: str
    threads: int
    nar_seconds: float | None = None

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio generated per item (whole steps)."""
        return whole_frames(self.tokens, self.group_size) / self.frame_rate

    @property
    def whole_rtf(self) -> float | None:
        """Batch-1 time of the cached AR plus the NAR over the audio's duration (no codec decode)."""
        if self.nar_seconds is None:
            return None
        ar = whole_frames(self.tokens, self.group_size) / self.cached_tokens_per_s
        return (ar + self.nar_seconds) / self.audio_seconds

    @property
    def speedup(self) -> float | None:
        if not self.uncached_tokens_per_s:
            return None
        return self.cached_tokens_per_s / self.uncached_tokens_per_s

    @property
    def steps_per_audio_second(self) -> float:
        """AR steps per second of audio: the codec's frame rate over the frames per step."""
        return self.frame_rate / self.group_size

    @property
    def cached_audio_seconds_per_s(self) -> float:
        return self.cached_tokens_per_s / self.frame_rate

    @property
    def uncached_audio_seconds_per_s(self) -> float | None:
        return self.uncached_tokens_per_s / self.frame_rate if self.uncached_tokens_per_s else None

    @property
    def batch_audio_seconds_per_s(self) -> float | None:
        return self.batch_tokens_per_s / self.frame_rate if self.batch_tokens_per_s else None

    @property
    def floor_fraction(self) -> float:
        """Cached batch-1 speed over the bandwidth floor's (1.0 = as fast as reading the weights)."""
        return self.cached_tokens_per_s / self.floor_tokens_per_s

    @property
    def kv_floor_fraction(self) -> float:
        """Cached batch-1 speed over the weight + KV-cache floor's."""
        return self.cached_tokens_per_s / self.kv_floor_tokens_per_s

    def as_dict(self) -> dict:
        return {**asdict(self), "speedup": self.speedup, "steps_per_audio_second": self.steps_per_audio_second,
                "cached_audio_seconds_per_s": self.cached_audio_seconds_per_s,
                "uncached_audio_seconds_per_s": self.uncached_audio_seconds_per_s,
                "batch_audio_seconds_per_s": self.batch_audio_seconds_per_s, "floor_fraction": self.floor_fraction,
                "kv_floor_fraction": self.kv_floor_fraction, "audio_seconds": self.audio_seconds,
                "whole_rtf": self.whole_rtf}


def whole_frames(tokens: int, group_size: int) -> int:
    """``tokens`` rounded up to whole AR steps of ``group_size`` frames: the frames a run makes."""
    return -(-tokens // group_size) * group_size


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


class _Inputs:
    """Random phonemes and a prompt, repeated ``batch`` times, in the layout each decoder reads."""

    def __init__(self, model, phonemes: int, frames: int, batch: int, device: str) -> None:
        cfg = model.config
        g = torch.Generator().manual_seed(0)
        self.batch, self.device, self.model = batch, device, model
        text = torch.randint(5, cfg.vocab_size, (1, phonemes), generator=g).repeat(batch, 1)
        prompt = torch.randint(0, cfg.codebook_size, (1, frames), generator=g).repeat(batch, 1)
        self.text, self.prompt = text.to(device), prompt.to(device)
        self.text_lens = torch.full((batch,), phonemes, device=device)
        if cfg.monotonic:
            # The first half of the phonemes is the prompt's, spread evenly over its steps.
            gs = cfg.group_size
            self.steps = frames // gs
            self.start = torch.full((batch,), phonemes // 2, device=device)
            per_step = torch.arange(self.steps) * (phonemes // 2) // self.steps
            self.prompt_phones = text[:, per_step].to(device)
            self.prompt = self.prompt[:, : self.steps * gs].reshape(batch, self.steps, gs)

    def run(self, tokens: int, use_cache: bool) -> None:
        model, b, cfg = self.model, self.batch, self.model.config
        gens = [torch.Generator().manual_seed(i) for i in range(b)]
        if cfg.monotonic:
            steps = -(-tokens // cfg.group_size)
            out = generate_ar_aligned(model.ar, self.text, self.text_lens, self.start, self.prompt,
                                      torch.full((b,), self.steps, device=self.device), self.prompt_phones,
                                      torch.full((b,), steps), VallESampling(seed=0, max_phone_seconds=None), gens,
                                      stepper=cached_steps if use_cache else recomputed_steps)
            expected = steps * cfg.group_size
        else:
            n = torch.full((b,), tokens)
            out = generate_ar(model.ar, self.text, self.text_lens, self.prompt,
                              torch.full((b,), self.prompt.shape[1], device=self.device), n, n,
                              VallESampling(seed=0), gens, use_cache=use_cache)
            expected = tokens
        if bool((out.lengths != expected).any()):  # the cap decides the length here: anything else is a bug
            raise RuntimeError(f"generated {out.lengths.tolist()} frames instead of {expected}")


def _nar_seconds(inputs: _Inputs, tokens: int) -> float:
    """Seconds of the NAR filling codebooks 2..Q of ``tokens`` frames (rounded up to whole
    steps) after the prompt, greedy, batch 1 (``inputs.batch`` must be 1)."""
    model, cfg, device = inputs.model, inputs.model.config, inputs.device
    frames = whole_frames(tokens, cfg.group_size)
    g = torch.Generator().manual_seed(2)
    prompt_frames = inputs.prompt.shape[1] * (cfg.group_size if cfg.monotonic else 1)
    prompt = torch.randint(0, cfg.codebook_size, (1, cfg.n_codebooks, prompt_frames), generator=g).to(device)
    first = torch.randint(0, cfg.codebook_size, (1, frames), generator=g).to(device)
    phones = {}
    if cfg.monotonic:  # each frame's phoneme: the AR's prompt steps' (the first half of the text), then the rest
        half = inputs.text.shape[1] // 2
        phones = {"prompt_phones": inputs.prompt_phones.repeat_interleave(cfg.group_size, dim=1),
                  "target_phones": inputs.text[:, half + torch.arange(frames) * (inputs.text.shape[1] - half)
                                               // frames]}

    def run() -> None:
        generate_nar(model.nar, inputs.text, inputs.text_lens, prompt, torch.tensor([prompt_frames], device=device),
                     first, torch.tensor([frames], device=device), **phones)

    run()  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    run()
    _sync(device)
    return time.perf_counter() - t0


def _timed(inputs: _Inputs, tokens: int, use_cache: bool) -> tuple[float, float, str]:
    """Frames/s over the batch, and peak memory rise (MiB) with its kind."""
    inputs.run(min(tokens, 8), use_cache)  # warm-up: allocator, kernels, lazy inits, decoding weights
    _sync(inputs.device)
    with PeakMemory(inputs.device) as mem:
        t0 = time.perf_counter()
        inputs.run(tokens, use_cache)
        _sync(inputs.device)
        seconds = time.perf_counter() - t0
    frames = whole_frames(tokens, inputs.model.config.group_size)
    return inputs.batch * frames / seconds, mem.increase_bytes / 2**20, mem.kind


def _floor_matrices(ar) -> list[torch.Tensor]:
    """The weight matrices a batch-1 step multiplies by (embedding tables excluded: a step reads one row)."""
    return [p for name, p in ar.named_parameters()
            if p.dim() == 2 and not name.endswith("embed.weight") and not name.startswith("phone.")]


def weight_floor_bytes(ar) -> int:
    """Bytes of the matrices :func:`weight_floor_seconds` reads."""
    return sum(p.numel() * p.element_size() for p in _floor_matrices(ar))


def kv_cache_bytes_per_step(config, prefix: int, steps: int, element_size: int = 4) -> float:
    """Mean bytes of keys and values one batch-1 step reads over a run of ``steps`` steps after
    ``prefix`` cached positions (step ``t`` attends to ``prefix + t + 1`` positions)."""
    mean_positions = prefix + (steps + 1) / 2
    return 2 * config.ar_layers * config.dim * mean_positions * element_size


def weight_floor_seconds(ar, device: str, repeats: int = 50, clock=time.perf_counter) -> float:
    """Seconds of one pass of ``x @ W`` over every AR weight matrix (embedding tables excluded:
    a step reads one row of each), averaged over ``repeats`` passes like the run's steps are
    (a minimum would pick the quiet moments of a busy machine and the run could not).

    ``clock``: wall-clock by default; ``time.process_time`` gives CPU seconds. Only the
    passes are timed, not the making of the transposed copies."""
    mats = [p.detach().t().contiguous() for p in _floor_matrices(ar)]
    xs = [torch.randn(1, w.shape[0], device=device, dtype=w.dtype) for w in mats]
    with torch.inference_mode():
        for x, w in zip(xs, mats):  # warm-up
            x @ w
        _sync(device)
        t0 = clock()
        for _ in range(repeats):
            for x, w in zip(xs, mats):
                x @ w
        _sync(device)
        return (clock() - t0) / repeats


def bench_valle(size: str = "default", tokens: int = 938, prompt_seconds: float = 3.0, phonemes: int = 100,
                uncached: bool = True, device: str = "cpu", alignment: str = "none", group_size: int | None = None,
                batch: int = 8, progress=None, nar: bool = True) -> ValleBenchResult:
    """Time AR decoding of ``tokens`` frames with the KV cache and (optionally) without.

    Args:
        size: ``default``, ``medium`` or ``paper`` (see the module docstring).
        tokens: generated codebook-1 frames per item (rounded up to whole steps).
        prompt_seconds: prompt length (at the config's frame rate).
        phonemes: phonemes of prompt + target text.
        uncached: also time the recomputing path (slow: quadratic in ``tokens``).
        device: torch device.
        alignment: ``none`` (VALL-E) or ``monotonic`` (VALL-E R).
        group_size: frames per AR step (default: 1 for ``none``, 2 for ``monotonic``).
        batch: also time cached decoding of this many items at once (0: skip).
        progress: optional callable ``(stage) -> None``.
        nar: also time the NAR over the same frames (batch 1).

    Returns:
        Speeds in codebook-1 frames/s (batch rows: summed over the batch), the bandwidth
        floor, peak memory increase (MiB; CPU: resident set, CUDA: allocated) and the
        NAR's seconds.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    if alignment not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {alignment!r}; use one of {', '.join(ALIGNMENTS)}")
    group_size = group_size or (2 if alignment == "monotonic" else 1)
    torch.manual_seed(0)
    model = VallE(VallEConfig(**SIZES[size], dropout=0.0, alignment=alignment, group_size=group_size))
    if model.config.monotonic:
        with torch.no_grad():
            model.ar.advance.bias.fill_(-30.0)  # always "stay": the length cap sets the run's length
    model = model.to(device).eval()
    frames = max(group_size, round(prompt_seconds * model.config.frame_rate))
    one = _Inputs(model, phonemes, frames, 1, device)
    if progress:
        progress("cached, batch 1")
    floor = weight_floor_seconds(model.ar, device)
    cached_tps, cached_mib, kind = _timed(one, tokens, True)
    floor = (floor + weight_floor_seconds(model.ar, device)) / 2  # before and after the run
    steps = -(-tokens // group_size)
    prefix = one.text.shape[1] + one.prompt.shape[1]  # phonemes + prompt steps, as the cache holds them
    kv = kv_cache_bytes_per_step(model.config, prefix, steps, next(model.ar.parameters()).element_size())
    kv_floor = floor * (1 + kv / weight_floor_bytes(model.ar))
    uncached_tps = uncached_mib = batch_tps = None
    if uncached:
        if progress:
            progress("recompute, batch 1")
        uncached_tps, uncached_mib, kind = _timed(one, tokens, False)
    if batch > 1:
        if progress:
            progress(f"cached, batch {batch}")
        batch_tps, _, _ = _timed(_Inputs(model, phonemes, frames, batch, device), tokens, True)
    nar_seconds = None
    if nar:
        if progress:
            progress("NAR, batch 1")
        nar_seconds = _nar_seconds(one, tokens)
    return ValleBenchResult(size=size, alignment=alignment, group_size=group_size,
                            ar_parameters=sum(p.numel() for p in model.ar.parameters()), tokens=tokens,
                            frame_rate=model.config.frame_rate, prompt_frames=frames, phonemes=phonemes,
                            cached_tokens_per_s=cached_tps, cached_peak_mib=cached_mib,
                            uncached_tokens_per_s=uncached_tps, uncached_peak_mib=uncached_mib,
                            floor_tokens_per_s=group_size / floor,
                            kv_floor_tokens_per_s=group_size / kv_floor, batch=batch if batch > 1 else 1,
                            batch_tokens_per_s=batch_tps, memory_kind=kind, device=str(device),
                            threads=torch.get_num_threads(), nar_seconds=nar_seconds)
