"""MaskGCT synthesis speed: real-time factor of each stage, of the codec decode, and how it scales with steps.

One item (batch 1) of ``seconds`` of speech (938 frames for 10 s at 93.75 Hz) after a
3 s prompt, with 15 phonemes per second of prompt and target (a typical English
rate), is generated with random weights: speed does not depend on their values, and
a model never ends early here (the length is fixed before decoding). Stage 1 (T2S)
and stage 2 (S2A) are timed apart, so a row's RTF is the sum of its stages' times
divided by the audio duration; the **codec decode is reported separately** (random
MelRVQ 8 x 1024 on the official Vocos mel architecture, the shipped codec's
architecture) and added only in the "with decode" figure of the default row.

Sizes: ``default`` is ``MaskGCTConfig()`` (the tiny recipe's model), ``medium`` 512
wide with 12 + 12 layers (``tts bench valle``'s medium width and depth), ``paper`` is
MaskGCT's width and depth (1024 wide, 16 + 16 layers) on the same codec.

Semantic streams: ``codebook1`` (T2S writes the codec's first codebook, one token per
code frame, and S2A codebooks 2..Q) or ``aligner`` (T2S writes a semantic tokenizer's
tokens, one per 4 code frames = 23.4 per second, as ``tiny-semantic``'s 512 clusters,
and S2A all Q codebooks from them): the T2S sequence is 4x shorter. ``aligned`` is
``aligner`` with ``text_conditioning="aligned"``: both stages read each frame's phoneme
(random durations here), T2S reads no phoneme prefix, and the duration model's
prediction of the target's durations is timed with T2S.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from codec_lm.maskgct import MaskGCT, MaskGCTConfig, MaskGCTSampling
from codec_lm.maskgct.generate import _acoustic_from_semantic, _canvas, generate_acoustic, generate_semantic
from codec_lm.maskgct.sampling import make_generators

from .codec import _melrvq

SIZES = {"default": {}, "medium": {"dim": 512, "heads": 8, "t2s_layers": 12, "s2a_layers": 12},
         "paper": {"dim": 1024, "heads": 16, "t2s_layers": 16, "s2a_layers": 16}}
SEMANTIC = {"codebook1": {}, "aligner": {"semantic_source": "aligner", "semantic_clusters": 512, "semantic_hop": 4,
                                         "text_positions": "stretched"}}
SEMANTIC["aligned"] = {**SEMANTIC["aligner"], "text_positions": "sequence", "text_conditioning": "aligned"}
PHONEMES_PER_SECOND = 15.0


@dataclass
class MaskGCTRun:
    steps: int
    s2a_steps: tuple[int, ...]
    cfg: float
    t2s_seconds: float
    s2a_seconds: float
    audio_seconds: float

    @property
    def rtf(self) -> float:
        return (self.t2s_seconds + self.s2a_seconds) / self.audio_seconds

    def as_dict(self) -> dict:
        return {**asdict(self), "rtf": self.rtf}


@dataclass
class MaskGCTBenchResult:
    size: str
    parameters: int
    audio_seconds: float
    frames: int
    prompt_frames: int
    phonemes: int
    default: MaskGCTRun
    decode_seconds: float
    device: str
    threads: int
    runs: list[MaskGCTRun] = field(default_factory=list)
    semantic: str = "codebook1"

    @property
    def decode_rtf(self) -> float:
        return self.decode_seconds / self.audio_seconds

    @property
    def total_rtf(self) -> float:
        """Default steps, both stages and the codec decode."""
        return self.default.rtf + self.decode_rtf

    def as_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k not in ("default", "runs")},
                "default": self.default.as_dict(), "runs": [r.as_dict() for r in self.runs],
                "decode_rtf": self.decode_rtf, "total_rtf": self.total_rtf}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _run(model, inputs, frames: int, options, device: str) -> tuple[float, float, torch.Tensor]:
    """Time stage 1 and stage 2 of one generation; return both times and the codes ``[1, q, n]``."""
    text, text_lens, codes, prompt_lens = inputs
    target = torch.tensor([frames], device=device)
    gens = make_generators(options.seed, 1, device)
    codes = codes.clone()
    cfg = model.config
    _sync(device)
    t0 = time.perf_counter()
    if cfg.semantic_source == "codebook1":
        semantic = generate_semantic(model, text, text_lens, codes, prompt_lens, target, options, gens)
        _sync(device)
        t1 = time.perf_counter()
        codes[:, 0] = semantic
        codes[:, cfg.first_acoustic:] = generate_acoustic(model, semantic, codes, prompt_lens, target, options, gens)
    else:  # the prompt's tokens: random, like its codes; the target is whole tokens
        hop = cfg.semantic_hop
        sem_prompt, sem_target = prompt_lens // hop, model.semantic_lengths(target)
        prompt_tokens = torch.randint(0, cfg.semantic_size, (1, int(sem_prompt[0])),
                                      generator=torch.Generator().manual_seed(1)).to(device)
        canvas = _canvas(prompt_tokens, sem_prompt, int((sem_prompt + sem_target)[0]))
        frame_text = None
        if cfg.aligned:  # the target's durations (timed; random weights), then every frame's phoneme
            n = int(prompt_lens[0] + hop * sem_target[0])
            known = torch.arange(text.shape[1], device=device)[None] < text.shape[1] // 2
            model.duration.predict(text, text_lens, torch.full_like(text, 5), known)
            frame_text = text[:, torch.arange(n, device=device) * text.shape[1] // n]
        semantic = generate_semantic(model, text, text_lens, None, sem_prompt, sem_target, options, gens, canvas,
                                     frame_text)
        _sync(device)
        t1 = time.perf_counter()
        codes = _acoustic_from_semantic(model, semantic, codes[..., : int(prompt_lens[0])], prompt_lens, sem_target,
                                        options, gens, frame_text)
    _sync(device)
    return t1 - t0, time.perf_counter() - t1, codes


def bench_maskgct(size: str = "default", seconds: float = 10.0, steps_list: tuple[int, ...] = (5, 10, 25, 50),
                  prompt_seconds: float = 3.0, device: str = "cpu", progress=None,
                  semantic: str = "codebook1") -> MaskGCTBenchResult:
    """Time MaskGCT synthesis of ``seconds`` of speech at the default options and at other step counts.

    Args:
        size: ``default`` (``MaskGCTConfig()``) or ``paper``.
        seconds: generated audio.
        steps_list: stage-1 step counts to time (stage 2 at its default); the default
            options (25 steps, guidance 2.5) are always timed, with and without guidance,
            stage 2 with 1 step per codebook and with (16, 4, 1), and the shipped
            ``tiny-maskgct``'s own defaults (10 steps, no guidance, 1 step per codebook).
        prompt_seconds: prompt length (``aligner``: rounded down to whole tokens).
        device: torch device.
        progress: optional callable ``(stage) -> None``.
        semantic: the semantic stream and text, ``codebook1``, ``aligner`` or ``aligned`` (see the
            module docstring).

    Returns:
        Per-stage times of every run and the codec decode time (separately).
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; use one of {', '.join(SIZES)}")
    if semantic not in SEMANTIC:
        raise ValueError(f"unknown semantic stream {semantic!r}; use one of {', '.join(SEMANTIC)}")
    if seconds <= 0 or not steps_list or min(steps_list) < 1:
        raise ValueError("seconds must be positive and every step count at least 1")
    torch.manual_seed(0)
    model = MaskGCT(MaskGCTConfig(**SIZES[size], **SEMANTIC[semantic], dropout=0.0)).to(device).eval()
    cfg = model.config
    frames = max(1, round(seconds * cfg.frame_rate))
    hop = cfg.semantic_hop
    prompt_frames = max(hop, round(prompt_seconds * cfg.frame_rate) // hop * hop)
    phonemes = round((seconds + prompt_seconds) * PHONEMES_PER_SECOND)
    g = torch.Generator().manual_seed(0)
    codes = torch.full((1, cfg.n_codebooks, prompt_frames + frames), -1, dtype=torch.long)
    codes[..., :prompt_frames] = torch.randint(0, cfg.codebook_size, (1, cfg.n_codebooks, prompt_frames), generator=g)
    inputs = (torch.randint(5, cfg.vocab_size, (1, phonemes), generator=g).to(device),
              torch.tensor([phonemes], device=device), codes.to(device), torch.tensor([prompt_frames], device=device))
    default = MaskGCTSampling(seed=0)

    def timed(label: str, options: MaskGCTSampling) -> MaskGCTRun:
        if progress:
            progress(label)
        t2s, s2a, _ = _run(model, inputs, frames, options, device)
        return MaskGCTRun(options.steps, tuple(options.s2a_steps), options.cfg, t2s, s2a, seconds)

    if progress:
        progress("warm-up")
    _run(model, inputs, frames, MaskGCTSampling(steps=1, s2a_steps=1, seed=0), device)  # allocator, lazy inits
    runs = [timed("default options", default)]
    variants = [MaskGCTSampling(steps=s, seed=0) for s in steps_list if s != default.steps]
    variants += [MaskGCTSampling(cfg=0.0, seed=0), MaskGCTSampling(s2a_steps=1, seed=0),
                 MaskGCTSampling(s2a_steps=(16, 4, 1), seed=0),
                 MaskGCTSampling(steps=10, cfg=0.0, s2a_steps=1, seed=0)]  # tiny-maskgct's own defaults
    runs += [timed(f"steps {o.steps}, s2a {o.s2a_steps}, cfg {o.cfg:g}", o) for o in variants]

    if progress:
        progress("codec decode")
    codec, _ = _melrvq(None)
    codec = codec.to(device).eval()
    _, _, out = _run(model, inputs, frames, MaskGCTSampling(steps=1, s2a_steps=1, seed=0), device)
    target = out[..., prompt_frames:]
    with torch.inference_mode():
        codec.decode(target)  # warm-up
        _sync(device)
        t0 = time.perf_counter()
        codec.decode(target)
        _sync(device)
        decode = time.perf_counter() - t0
    return MaskGCTBenchResult(size=size, parameters=sum(p.numel() for p in model.parameters()),
                              audio_seconds=seconds, frames=frames, prompt_frames=prompt_frames, phonemes=phonemes,
                              default=runs[0], decode_seconds=decode, device=str(device),
                              threads=torch.get_num_threads(), runs=runs, semantic=semantic)
