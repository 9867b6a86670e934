"""Zero-shot synthesis with a trained :class:`codec_lm.valle.model.VallE`: KV-cached AR decoding, then the NAR.

Legend: b = batch (items x candidates), l = phonemes, p = prompt frames, t = generated
frames, q = codebooks (Q), v = AR classes (K codes + EOS).

The AR decodes codebook 1 with a preallocated KV cache (one position per step) and
per-item padding masks, so a batch may mix prompts and texts of any lengths. Its
length is bounded on both sides from the prompt's speaking rate (frames per
phoneme) times the target's phoneme count: EOS is forbidden before
``min_length_ratio`` of that estimate, and an item that reaches ``max_length_ratio``
of it is stopped (``ended=False``) — a model that never says EOS still terminates.
The NAR then fills codebooks 2..Q, one stage per codebook. With ``num_candidates``
several samples are drawn per item and the caller's scorer picks one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from nn_common import expected_frames, join_phonemes, pad_stack

from .model import VallE, VallEAR, VallENAR
from .modules import KVCache
from .sampling import derive_seed, inverse_cdf, item_generators, sample_tokens, uniforms

Scorer = Callable[[int, list[torch.Tensor]], Sequence[float]]


@dataclass
class VallESampling:
    """Decoding options.

    Attributes:
        temperature: AR softmax temperature (0 = greedy).
        top_k: keep the k most likely AR tokens (0 = off).
        top_p: nucleus mass of the AR draw (1.0 = off).
        repetition_window, repetition_threshold: repetition-aware sampling (VALL-E 2):
            a token making up more than ``threshold`` of the last ``window`` tokens is
            redrawn from the full distribution (``window = 0``: off).
        min_length_ratio, max_length_ratio: bounds on the AR length as multiples of
            the estimate (prompt frames per phoneme x target phonemes).
        max_frames: absolute cap on generated frames (None: only the ratio cap).
        nar_temperature: NAR temperature (0 = greedy, as in VALL-E).
        num_candidates: samples per item; the scorer (or the AR likelihood) picks one.
        seed: makes decoding deterministic (None: torch's global RNG).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.8
    repetition_window: int = 10
    repetition_threshold: float = 0.1
    min_length_ratio: float = 0.3
    max_length_ratio: float = 2.0
    max_frames: int | None = None
    nar_temperature: float = 0.0
    num_candidates: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.nar_temperature < 0:
            raise ValueError(f"temperatures must be >= 0 (0 = greedy), got {self.temperature}, {self.nar_temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.repetition_window < 0 or not 0.0 <= self.repetition_threshold <= 1.0:
            raise ValueError("repetition_window must be >= 0 and repetition_threshold in [0, 1]")
        if not 0.0 <= self.min_length_ratio <= self.max_length_ratio or self.max_length_ratio <= 0:
            raise ValueError(f"Need 0 <= min_length_ratio <= max_length_ratio and max_length_ratio > 0, got "
                             f"{self.min_length_ratio}, {self.max_length_ratio}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {self.max_frames}")
        if self.num_candidates < 1:
            raise ValueError(f"num_candidates must be >= 1, got {self.num_candidates}")


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
    """Output of :func:`generate_ar`.

    Attributes:
        tokens: ``[b, t]`` codebook-1 codes, -1 after each item's end.
        lengths: ``[b]`` frames generated (EOS not counted).
        ended: ``[b]`` True where the model emitted EOS, False where the cap stopped it.
        logprob: ``[b]`` sum of the log-probabilities (temperature 1) of the chosen tokens and EOS.
        logits: per step, the raw logits ``[b, v]`` (only with ``return_logits``).
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    ended: torch.Tensor
    logprob: torch.Tensor
    logits: list[torch.Tensor] = field(default_factory=list)


@torch.inference_mode()
def generate_ar(model: VallEAR, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor,
                prompt_lens: torch.Tensor, min_frames: torch.Tensor, max_frames: torch.Tensor,
                sampling: VallESampling, generators: list[torch.Generator] | None = None, use_cache: bool = True,
                return_logits: bool = False) -> ARResult:
    """Decode codebook 1 until EOS or the cap, for a padded batch.

    Args:
        model: the AR transformer (in eval mode).
        text: phoneme ids ``[b, l]`` (prompt's then target's), 0-padded; text_lens ``[b]``.
        prompt: codebook-1 prompt codes ``[b, p]``; prompt_lens ``[b]``.
        min_frames, max_frames: ``[b]`` length bounds (see :func:`length_limits`).
        sampling: temperature, top-k/p and repetition-aware sampling settings.
        generators: one per item for seeded sampling (None: global RNG).
        use_cache: False recomputes the whole sequence each step (reference / benchmark).
        return_logits: keep every step's raw logits (tests).
    """
    b, device = text.shape[0], text.device
    eos = model.config.eos_id
    horizon = int(max_frames.max())
    min_frames, max_frames = min_frames.to(device), max_frames.to(device)
    window = max(1, sampling.repetition_window)
    tokens = torch.full((b, horizon), -1, dtype=torch.long, device=device)
    lengths = torch.zeros(b, dtype=torch.long, device=device)
    ended = torch.zeros(b, dtype=torch.bool, device=device)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    logprob = torch.zeros(b, device=device)
    inp = torch.full((b,), model.config.bos_id, dtype=torch.long, device=device)
    target_in = inp[:, None]
    result = ARResult(tokens, lengths, ended, logprob)
    if use_cache:
        prefix = text.shape[1] + prompt.shape[1]
        cache = KVCache(len(model.blocks), prefix + horizon)
        valid = torch.cat([model.prefill(text, text_lens, prompt, prompt_lens, cache),
                           torch.ones(b, horizon, dtype=torch.bool, device=device)], dim=1)
    for t in range(horizon):
        if use_cache:
            logits = model.step(inp, t, valid[:, : prefix + t + 1], cache)
        else:
            logits = model.logits(text, text_lens, prompt, prompt_lens, target_in)[:, -1]
        logits = logits.float()
        if return_logits:
            result.logits.append(logits.detach().cpu().clone())
        logits[:, eos] = logits[:, eos].masked_fill(t < min_frames, float("-inf"))
        u = uniforms(generators, b, 2, device)
        tok = sample_tokens(logits, tokens[:, max(0, t - window):t], u, sampling.temperature, sampling.top_k,
                            sampling.top_p, sampling.repetition_window, sampling.repetition_threshold)
        active = ~done
        is_eos = tok == eos
        write = active & ~is_eos
        logprob += logits.log_softmax(-1).gather(1, tok[:, None])[:, 0].masked_fill(~active, 0.0)
        tokens[:, t] = torch.where(write, tok, tokens[:, t])
        lengths += write.long()
        ended |= active & is_eos
        done |= ended | (lengths >= max_frames)
        if bool(done.all()):
            break
        inp = tok.masked_fill(~write, 0)  # finished rows feed a harmless token; nothing reads their output
        if not use_cache:
            target_in = torch.cat([target_in, inp[:, None]], dim=1)
    result.tokens = tokens[:, : int(lengths.max())]
    return result


@torch.inference_mode()
def generate_nar(model: VallENAR, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor,
                 prompt_lens: torch.Tensor, first: torch.Tensor, lengths: torch.Tensor, temperature: float = 0.0,
                 generators: list[torch.Generator] | None = None) -> torch.Tensor:
    """Fill codebooks 2..Q given codebook 1.

    Args:
        text, text_lens: as for :func:`generate_ar`.
        prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
        first: codebook-1 codes ``[b, t]``; lengths ``[b]`` (each >= 1).
        temperature: 0 = greedy.

    Returns:
        ``[b, Q, t]`` codes, -1 beyond each item's length.
    """
    b, t = first.shape
    q = model.config.n_codebooks
    valid = torch.arange(t, device=first.device)[None] < lengths[:, None]
    codes = torch.zeros(b, q, t, dtype=torch.long, device=first.device)
    codes[:, 0] = first.masked_fill(~valid, 0)
    for stage in range(1, q):
        logits = model(text, text_lens, prompt, prompt_lens, codes, lengths, stage).float()  # [b, t, K]
        if temperature <= 0:
            codes[:, stage] = logits.argmax(-1)
            continue
        probs = (logits / temperature).softmax(-1)
        for i in range(b):  # per-item draws keep batched == one-by-one
            n = int(lengths[i])
            gen = generators[i] if generators is not None else None
            u = torch.rand(n, generator=gen).to(first.device) if gen is not None else torch.rand(n, device=first.device)
            codes[i, stage, :n] = inverse_cdf(probs[i, :n], u)
    return codes.masked_fill(~valid[:, None], -1)


@dataclass
class Generated:
    """One synthesized item.

    Attributes:
        codes: ``[Q, N]`` codes of the new speech (the prompt is not included).
        ended: the AR emitted EOS (False: stopped by the length cap).
        candidate: index of the chosen candidate.
        scores: score of every candidate (higher is better).
    """

    codes: torch.Tensor
    ended: bool
    candidate: int = 0
    scores: list[float] = field(default_factory=list)


def _check_inputs(config, prompt_codes, prompt_phonemes, target_phonemes) -> None:
    if not (len(prompt_codes) == len(prompt_phonemes) == len(target_phonemes)) or not prompt_codes:
        raise ValueError("Give one prompt (codes and phonemes) per target, and at least one target.")
    for i, (codes, pp, tp) in enumerate(zip(prompt_codes, prompt_phonemes, target_phonemes)):
        if codes.dim() != 2 or codes.shape[0] < config.n_codebooks or codes.shape[1] == 0:
            raise ValueError(f"Prompt {i}: codes must be [Q >= {config.n_codebooks}, N > 0], got {list(codes.shape)}")
        if int(codes.min()) < 0 or int(codes.max()) >= config.codebook_size:
            raise ValueError(f"Prompt {i}: codes must lie in [0, {config.codebook_size}): was it encoded by "
                             "the codec this model was trained with?")
        if len(pp) == 0 or len(tp) == 0:
            raise ValueError(f"Item {i}: the prompt's and the target's phonemes must not be empty.")
        if max(max(map(int, pp)), max(map(int, tp))) >= config.vocab_size:
            raise ValueError(f"Item {i}: phoneme ids must be < {config.vocab_size} (the model's vocabulary).")


def synthesize(model: VallE, prompt_codes: Sequence[torch.Tensor], prompt_phonemes: Sequence[Sequence[int]],
               target_phonemes: Sequence[Sequence[int]], sampling: VallESampling | None = None,
               scorer: Scorer | None = None, use_cache: bool = True) -> list[Generated]:
    """Speak each target in the voice of its prompt.

    Args:
        model: a trained VALL-E (put in eval mode here).
        prompt_codes: per item, the prompt's codes ``[Q, P]`` (from the model's codec).
        prompt_phonemes: per item, phoneme ids of the prompt's transcript.
        target_phonemes: per item, phoneme ids to speak.
        sampling: decoding options (default :class:`VallESampling`).
        scorer: ``scorer(item, candidates) -> scores`` (higher is better) to choose among
            ``num_candidates`` samples, e.g. ASR or speaker similarity of the decoded
            audio; default: EOS-terminated candidates first, then the AR's mean log-probability.
        use_cache: KV-cached decoding (False: recompute, for reference only).

    Returns:
        One :class:`Generated` per item, in order.
    """
    sampling = sampling or VallESampling()
    c = model.config
    _check_inputs(c, prompt_codes, prompt_phonemes, target_phonemes)
    model.eval()
    device = next(model.parameters()).device
    k = sampling.num_candidates
    texts, prompts, lows, highs, cands = [], [], [], [], []  # cands: each row's candidate index
    for pc, pp, tp in zip(prompt_codes, prompt_phonemes, target_phonemes):
        lo, hi = length_limits(pc.shape[1], len(pp), len(tp), sampling)
        for cand in range(k):
            texts.append(torch.tensor(join_phonemes(pp, tp, c.separator_id)))
            prompts.append(pc[: c.n_codebooks].long().cpu())
            lows.append(lo)
            highs.append(hi)
            cands.append(cand)
    text, text_lens = pad_stack(texts, 0)
    prompt, prompt_lens = pad_stack(prompts, 0)
    text, text_lens, prompt, prompt_lens = (x.to(device) for x in (text, text_lens, prompt, prompt_lens))
    # Each (candidate, decoder) pair has its own stream, not shared with the item's position
    # in the batch: an item draws the same numbers alone or in any batch. The NAR gets a
    # fresh stream because the AR of a batch keeps drawing for rows that already ended.
    generators = None if sampling.seed is None else item_generators([derive_seed(sampling.seed, c, 0) for c in cands])
    ar = generate_ar(model.ar, text, text_lens, prompt[:, 0], prompt_lens, torch.tensor(lows), torch.tensor(highs),
                     sampling, generators, use_cache=use_cache)
    generators = None if sampling.seed is None else item_generators([derive_seed(sampling.seed, c, 1) for c in cands])
    lengths = ar.lengths.clamp(min=1)  # a row that ended at once still gets one frame to decode
    first = ar.tokens if ar.tokens.shape[1] else torch.zeros(len(texts), 1, dtype=torch.long, device=device)
    first = first.clamp(min=0)
    if model.nar is not None:
        codes = generate_nar(model.nar, text, text_lens, prompt, prompt_lens, first, lengths,
                             sampling.nar_temperature, generators)
    else:
        codes = first[:, None]
    codes, lengths, ended = codes.cpu(), lengths.cpu(), ar.ended.cpu()
    mean_logprob = (ar.logprob.cpu() / (ar.lengths.cpu() + ar.ended.cpu().long()).clamp(min=1)).tolist()
    out = []
    for item in range(len(prompt_codes)):
        rows = range(item * k, (item + 1) * k)
        cands = [codes[r, :, : int(lengths[r])] for r in rows]
        if scorer is not None and k > 1:
            scores = [float(s) for s in scorer(item, cands)]
            if len(scores) != k:
                raise ValueError(f"The scorer returned {len(scores)} scores for {k} candidates.")
        else:
            scores = [mean_logprob[r] - (0.0 if bool(ended[r]) else 1e6) for r in rows]
        best = max(range(k), key=lambda j: scores[j])
        out.append(Generated(codes=cands[best], ended=bool(ended[rows[best]]), candidate=best, scores=scores))
    return out
