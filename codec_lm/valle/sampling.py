"""Decoding options and token sampling for VALL-E: temperature, top-k, top-p, repetition-aware
sampling, seeded per item.

Legend: b = batch, v = classes (codes + EOS), w = repetition window.

Every random draw comes from the item's own ``torch.Generator`` (when given), as a
uniform number turned into a token by the inverse CDF. An item therefore draws the
same numbers alone or in any batch, and each step draws the same count of numbers
whatever happens, so batched sampling equals one-by-one sampling under a seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch

from nn_common import expected_frames

# Repetition-aware sampling: monotonic models redraw a code seen 10 times in the last 20
# frames (chosen so that it rarely fires on real speech's codes: `tts eval repetition`
# counts how often a setting fires on a corpus); implicit models keep VALL-E 2's 10 / 0.1,
# which fires far more often on codebook 1 of a fine-grained codec, so that existing
# implicit models decode as they always did.
RAS_WINDOW, RAS_THRESHOLD = 20, 0.45
IMPLICIT_RAS_WINDOW, IMPLICIT_RAS_THRESHOLD = 10, 0.1
ADVANCE_RULES = ("median", "sample")


@dataclass
class VallESampling:
    """Decoding options.

    Attributes:
        temperature: AR softmax temperature (0 = greedy).
        top_k: keep the k most likely AR tokens (0 = off).
        top_p: nucleus mass of the AR draw (1.0 = off).
        repetition_window, repetition_threshold: repetition-aware sampling (VALL-E 2):
            a token making up more than ``threshold`` of the last ``window`` frames is
            redrawn from the full distribution (``window = 0``: off). None: the model's
            default (:meth:`resolved`).
        min_length_ratio, max_length_ratio: bounds on the AR length as multiples of
            the estimate (prompt frames per phoneme x target phonemes). A monotonic
            model has no minimum (its pointer gives every phoneme a step) and the cap is
            a last resort (it ends after its last phoneme).
        max_frames: absolute cap on generated frames (None: only the ratio cap).
        max_phone_seconds: monotonic models: the pointer moves on after this long on one
            phoneme whatever the stay/advance head says (None: never forced), so that a
            model stuck on a phoneme still says the rest; aligned symbols of TinyVoices
            last at most 0.33 s.
        advance: monotonic models: how the stay / advance head moves the pointer.
            ``"median"`` (default): the pointer moves on once the head's chance of having
            moved on since the phoneme began passes one half (the median of the length
            distribution the head predicts), the same at any temperature. ``"sample"``: a
            draw at every step (at the AR temperature; greedy at 0), so a phoneme's length
            follows the head's hazard with all its spread, one-step phonemes included.
        speed: monotonic models: speaking-rate factor (1.0: the lengths the stay / advance
            head predicts; 0.9: about a tenth slower). With ``"median"`` the pointer moves on
            once the head's chance of still being on the phoneme falls to ``0.5 ** (1 / speed)``
            instead of 0.5; with ``"sample"`` each step's chance of moving on ``p`` becomes
            ``1 - (1 - p) ** speed``. Both scale a phoneme's length by ``1 / speed`` when the
            head's chance of moving on is the same at every step of it, and about so otherwise.
            The length cap grows by ``1 / speed`` too.
        cfg: monotonic models trained with ``phone_dropout``: classifier-free guidance scale of
            the AR's codes (0 = off). Each step also runs the AR without any phoneme and
            samples from ``cond + cfg * (cond - uncond)`` logits (about twice the AR's work);
            the stay / advance head reads the conditional pass.
        nar_temperature: NAR temperature (0 = greedy, as in VALL-E).
        nar_decode: ``"codes"`` (default): the NAR's codes go to the codec. ``"expected"``: each
            item also carries the NAR's distributions (:class:`Generated` ``probs``), so that a
            codec with codebook vectors (MelRVQ) can decode their expected vectors instead of
            one code each: where the NAR is unsure, a wrong code adds a wrong residual, the
            expected vector a small one.
        decode_codebooks: how many codebooks the new speech has (None: all ``Q``). ``K < Q``: the
            NAR fills only codebooks 2..K (none for 1) and the codec decodes those, for a
            codec trained to decode its first codebooks alone (EnCodec; MelRVQ with
            ``quantize_dropout``): where the NAR adds more error than voice, fewer may be better.
        num_candidates: samples per item; the scorer (or the AR likelihood) picks one.
        seed: makes decoding deterministic (None: torch's global RNG).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.8
    repetition_window: int | None = None
    repetition_threshold: float | None = None
    min_length_ratio: float = 0.3
    max_length_ratio: float = 2.0
    max_frames: int | None = None
    max_phone_seconds: float | None = 1.0
    advance: str = "median"
    speed: float = 1.0
    cfg: float = 0.0
    nar_temperature: float = 0.0
    nar_decode: str = "codes"
    decode_codebooks: int | None = None
    num_candidates: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.nar_temperature < 0:
            raise ValueError(f"temperatures must be >= 0 (0 = greedy), got {self.temperature}, {self.nar_temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if (self.repetition_window is not None and self.repetition_window < 0) or \
                (self.repetition_threshold is not None and not 0.0 <= self.repetition_threshold <= 1.0):
            raise ValueError("repetition_window must be >= 0 and repetition_threshold in [0, 1]")
        if not 0.0 <= self.min_length_ratio <= self.max_length_ratio or self.max_length_ratio <= 0:
            raise ValueError(f"Need 0 <= min_length_ratio <= max_length_ratio and max_length_ratio > 0, got "
                             f"{self.min_length_ratio}, {self.max_length_ratio}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")
        if self.num_candidates < 1:
            raise ValueError(f"num_candidates must be >= 1, got {self.num_candidates}")
        if self.advance not in ADVANCE_RULES:
            raise ValueError(f"advance must be one of {', '.join(ADVANCE_RULES)}, got {self.advance!r}")
        if self.nar_decode not in ("codes", "expected"):
            raise ValueError(f"nar_decode must be 'codes' or 'expected', got {self.nar_decode!r}")
        if self.decode_codebooks is not None and (isinstance(self.decode_codebooks, bool) or self.decode_codebooks < 1):
            raise ValueError(f"decode_codebooks must be >= 1 (None = all), got {self.decode_codebooks}")
        if not 0.1 <= self.speed <= 10.0:
            raise ValueError(f"speed must be in [0.1, 10], got {self.speed}")
        if not 0.0 <= self.cfg <= 20.0:
            raise ValueError(f"cfg must be in [0, 20] (0 = off), got {self.cfg}")
        if self.max_phone_seconds is not None and not self.max_phone_seconds > 0:
            raise ValueError(f"max_phone_seconds must be > 0 (None = off), got {self.max_phone_seconds}")

    def resolved(self, config) -> "VallESampling":
        """These options with the model's defaults filled in (repetition-aware sampling)."""
        window, threshold = ((RAS_WINDOW, RAS_THRESHOLD) if config.monotonic
                             else (IMPLICIT_RAS_WINDOW, IMPLICIT_RAS_THRESHOLD))
        return replace(self, repetition_window=window if self.repetition_window is None else self.repetition_window,
                       repetition_threshold=threshold if self.repetition_threshold is None
                       else self.repetition_threshold)


def length_limits(prompt_frames: int, prompt_phonemes: int, target_phonemes: int,
                  sampling: VallESampling) -> tuple[int, int]:
    """(min, max) frames to generate: the prompt's frames per phoneme x the target's phonemes, scaled by the ratios."""
    if prompt_frames <= 0 or prompt_phonemes <= 0 or target_phonemes <= 0:
        raise ValueError("The prompt needs frames and phonemes, and the target phonemes, to bound the length.")
    expected = expected_frames(prompt_frames, prompt_phonemes, target_phonemes)
    hi = max(1, math.ceil(expected * sampling.max_length_ratio))
    if sampling.max_frames is not None:
        hi = min(hi, sampling.max_frames)
    lo = min(hi, max(1, math.floor(expected * sampling.min_length_ratio)))
    return lo, hi


@dataclass
class ARResult:
    """Output of the AR decoders (``generate_ar``, ``generate_ar_aligned``).

    Attributes:
        tokens: ``[b, t]`` codebook-1 codes, -1 after each item's end.
        lengths: ``[b]`` frames generated (EOS not counted).
        ended: ``[b]`` True where the model emitted EOS (monotonic: its pointer passed the
            last phoneme), False where the length cap stopped it.
        logprob: ``[b]`` sum of the log-probabilities (temperature 1) of the chosen tokens
            and EOS (monotonic: and of the stay / advance decisions).
        logits: per step, the raw logits ``[b, v]`` (monotonic: ``([b, g, K], [b])``; only with
            ``return_logits``).
        path: monotonic only: ``[b, m]`` the phoneme index (in the text) of every step, -1 after the end.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    ended: torch.Tensor
    logprob: torch.Tensor
    logits: list = field(default_factory=list)
    path: torch.Tensor | None = None


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for the stream ``keys`` (e.g. candidate, decoder) of ``seed``; distinct streams do not overlap."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed) % (2**63), *map(int, keys)]).generate_state(1, np.uint64)[0] >> 1)


def item_generators(seeds: Sequence[int] | None) -> list[torch.Generator] | None:
    """One CPU generator per item (None: use torch's global RNG)."""
    if seeds is None:
        return None
    return [torch.Generator().manual_seed(int(s) % (2**63)) for s in seeds]


def uniforms(generators: list[torch.Generator] | None, b: int, n: int, device) -> torch.Tensor:
    """``[b, n]`` uniform numbers in [0, 1), row ``i`` from ``generators[i]``."""
    if generators is None:
        return torch.rand(b, n, device=device)
    return torch.stack([torch.rand(n, generator=g) for g in generators]).to(device)


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set logits outside the top-k and outside the nucleus of mass ``top_p`` to -inf (``[b, v]``).

    The most likely token always survives, so a row is never empty.
    """
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(-1)
        drop = probs.cumsum(-1) - probs >= top_p  # mass before this token already reaches top_p
        drop[:, 0] = False
        logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
    return logits


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sample ``[b]`` tokens from unnormalized ``probs [b, v]`` with uniforms ``u [b]``.

    ``right=True`` returns the first index whose cumulative mass exceeds ``u``, which
    can never be a zero-probability (filtered) token.
    """
    cdf = probs.cumsum(-1)
    idx = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1).contiguous(), right=True).squeeze(-1)
    return idx.clamp(max=probs.shape[-1] - 1)


def repetition_ratio(window: torch.Tensor, tokens: torch.Tensor, size: int) -> torch.Tensor:
    """Share of the last ``size`` generated tokens equal to ``tokens [b]``; ``window [b, w]`` (-1 = none)."""
    return (window == tokens[:, None]).sum(-1).float() / max(1, size)


def sample_tokens(logits: torch.Tensor, window: torch.Tensor, u: torch.Tensor, temperature: float, top_k: int,
                  top_p: float, repetition_window: int, repetition_threshold: float) -> torch.Tensor:
    """Choose the next token of each row.

    Args:
        logits: ``[b, v]`` float32, already masked (e.g. EOS before the minimum length).
        window: ``[b, w]`` the last generated tokens (-1 where there are none yet).
        u: ``[b, 2]`` uniforms: column 0 for the nucleus draw, 1 for the fallback.
        temperature: 0 for greedy decoding.
        top_k, top_p: filters of the first draw (0 / 1.0 = off).
        repetition_window, repetition_threshold: repetition-aware sampling (VALL-E 2):
            when the chosen token makes up more than ``threshold`` of the last
            ``window`` tokens, it is replaced by a draw from the full (unfiltered)
            distribution, which breaks the loops that nucleus sampling and greedy
            decoding fall into. ``window = 0`` turns it off.

    Returns:
        ``[b]`` token ids.
    """
    if temperature <= 0:
        tokens = logits.argmax(-1)
        full = logits.softmax(-1)  # fallback distribution at temperature 1
    else:
        scaled = logits / temperature
        full = scaled.softmax(-1)
        tokens = inverse_cdf(filter_logits(scaled, top_k, top_p).softmax(-1), u[:, 0])
    if repetition_window > 0:
        repeated = repetition_ratio(window, tokens, repetition_window) > repetition_threshold
        tokens = torch.where(repeated, inverse_cdf(full, u[:, 1]), tokens)
    return tokens


def repetition_rate(sequences: Sequence[torch.Tensor], window: int, threshold: float) -> tuple[int, int]:
    """How often repetition-aware sampling would fire on given (e.g. ground-truth) code sequences.

    Each frame of each ``[n]`` sequence is checked as :func:`sample_tokens` checks a chosen
    token: against the ``window`` frames before it (fewer at the start, counted as in
    decoding, over the full window size).

    Returns:
        ``(frames where it fires, frames)``.
    """
    if window < 1:
        raise ValueError(f"the repetition window must be >= 1 frame, got {window}")
    fired = total = 0
    for seq in sequences:
        seq = seq.long().flatten()
        before = torch.cat([seq.new_full((window,), -1), seq])[:-1]  # frame i's window ends just before it
        windows = before.unfold(0, window, 1)  # [n, w]
        fired += int((repetition_ratio(windows, seq, window) > threshold).sum())
        total += seq.numel()
    return fired, total
