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

A monotonic model (VALL-E R) decodes with a phoneme pointer instead
(:mod:`.generate_aligned`): it needs the prompt's phone durations (from the phone
aligner), and ends after the target's last phoneme rather than at an EOS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from nn_common import join_phonemes, pad_stack

from .alignment import frame_phones, step_phones
from .generate_aligned import GivenSteps, generate_ar_aligned, prepare_prompt, step_limits
from .model import VallE, VallEAR, VallENAR
from .modules import KVCache
from .sampling import (ARResult, VallESampling, derive_seed, inverse_cdf, item_generators, length_limits,
                       sample_tokens, uniforms)

__all__ = ["ARResult", "Generated", "VallESampling", "generate_ar", "generate_nar", "length_limits", "synthesize"]

Scorer = Callable[[int, list[torch.Tensor]], Sequence[float]]


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
    if model.config.monotonic:
        raise ValueError("A monotonic model decodes with its phoneme pointer: use generate_ar_aligned")
    sampling = sampling.resolved(model.config)
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
                 generators: list[torch.Generator] | None = None, prompt_phones: torch.Tensor | None = None,
                 target_phones: torch.Tensor | None = None, return_probs: bool = False,
                 upto: int | None = None):
    """Fill codebooks 2..Q given codebook 1 (or ``K + 1..Q`` given the first ``K``; ``..upto``
    with ``upto``).

    Args:
        text, text_lens: as for :func:`generate_ar`.
        prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
        first: codebook-1 codes ``[b, t]``, or the first ``K`` codebooks ``[b, K, t]`` (a check
            of the NAR from the true codes of a recording); lengths ``[b]`` (each >= 1).
        temperature: 0 = greedy.
        prompt_phones, target_phones: monotonic models: ``[b, p]`` / ``[b, t]`` each frame's phoneme id.
        return_probs: also return each filled codebook's distribution (temperature 1).
        upto: the codebooks returned (default ``Q``); the NAR stops after codebook ``upto``.

    Returns:
        ``[b, upto, t]`` codes, -1 beyond each item's length; with ``return_probs``, ``(codes,
        probs [b, upto - K, t, K_entries])`` (float16).
    """
    given = first[:, None] if first.dim() == 2 else first
    b, known, t = given.shape
    q = model.config.n_codebooks if upto is None else upto
    if not 1 <= q <= model.config.n_codebooks:
        raise ValueError(f"generate_nar returns 1 to {model.config.n_codebooks} codebooks, got upto={upto}")
    if not 1 <= known <= q:
        raise ValueError(f"generate_nar needs 1 to {q} known codebooks, got {known}")
    valid = torch.arange(t, device=first.device)[None] < lengths[:, None]
    codes = torch.zeros(b, q, t, dtype=torch.long, device=first.device)
    codes[:, :known] = given.masked_fill(~valid[:, None], 0)
    probs_out = []
    for stage in range(known, q):
        logits = model(text, text_lens, prompt, prompt_lens, codes, lengths, stage, prompt_phones,
                       target_phones).float()  # [b, t, K]
        if return_probs:
            probs_out.append(logits.softmax(-1).half())
        if temperature <= 0:
            codes[:, stage] = logits.argmax(-1)
            continue
        probs = (logits / temperature).softmax(-1)
        for i in range(b):  # per-item draws keep batched == one-by-one
            n = int(lengths[i])
            gen = generators[i] if generators is not None else None
            u = torch.rand(n, generator=gen).to(first.device) if gen is not None else torch.rand(n, device=first.device)
            codes[i, stage, :n] = inverse_cdf(probs[i, :n], u)
    codes = codes.masked_fill(~valid[:, None], -1)
    if return_probs:
        empty = torch.zeros(b, 0, t, model.config.codebook_size, dtype=torch.half, device=codes.device)
        return codes, (torch.stack(probs_out, 1) if probs_out else empty)
    return codes


@dataclass
class Generated:
    """One synthesized item.

    Attributes:
        codes: ``[Q, N]`` codes of the new speech (the prompt is not included); ``[K, N]``
            with ``decode_codebooks=K`` (:class:`.sampling.VallESampling`).
        ended: the AR emitted EOS (False: stopped by the length cap).
        candidate: index of the chosen candidate.
        scores: score of every candidate (higher is better).
        durations: monotonic models: ``[n + 1]`` frames of each target phoneme and of the
            closing word boundary, as the pointer gave them (they sum to ``N``).
        probs: with ``nar_decode="expected"``: ``[Q - 1, N, C]`` the NAR's distribution of
            every code of codebooks 2..Q (float16; 2..K with ``decode_codebooks=K``, and None for
            ``K = 1``), for a codec that decodes expected vectors.
    """

    codes: torch.Tensor
    ended: bool
    candidate: int = 0
    scores: list[float] = field(default_factory=list)
    durations: torch.Tensor | None = None
    probs: torch.Tensor | None = None


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
               scorer: Scorer | None = None,
               prompt_durations: Sequence[Sequence[int]] | None = None,
               target_steps: Sequence[Sequence[int]] | None = None) -> list[Generated]:
    """Speak each target in the voice of its prompt.

    Args:
        model: a trained VALL-E (put in eval mode here).
        prompt_codes: per item, the prompt's codes ``[Q, P]`` (from the model's codec).
        prompt_phonemes: per item, phoneme ids of the prompt's transcript; for a monotonic
            model, the aligned (boundary-wrapped) sequence its ``prompt_durations`` are for.
        target_phonemes: per item, phoneme ids to speak.
        sampling: decoding options (default :class:`VallESampling`).
        scorer: ``scorer(item, candidates) -> scores`` (higher is better) to choose among
            ``num_candidates`` samples, e.g. ASR or speaker similarity of the decoded
            audio; default: candidates that ended by themselves first, then the AR's mean
            log-probability.
        prompt_durations: monotonic models only: per item, the frames of each prompt
            phoneme (from the phone aligner), summing to ``P``.
        target_steps: monotonic models only, a diagnostic: per item, the AR steps of each
            target phoneme and of the closing word boundary (``len(target) + 1``, each >= 1),
            e.g. a recording's own durations; the pointer follows them instead of the
            stay / advance head (:func:`.generate_aligned.generate_ar_aligned`).

    Returns:
        One :class:`Generated` per item, in order.
    """
    sampling = sampling or VallESampling()
    c = model.config
    _check_inputs(c, prompt_codes, prompt_phonemes, target_phonemes)
    if not c.monotonic and sampling.speed != 1.0:
        raise ValueError(f"speed {sampling.speed:g} needs a monotonic VALL-E (VALL-E R): this model's length comes "
                         "from its EOS, not from a phoneme pointer")
    if target_steps is not None and (not c.monotonic or len(target_steps) != len(target_phonemes) or any(
            len(st) != len(tp) + 1 for st, tp in zip(target_steps, target_phonemes))):
        raise ValueError("target_steps needs a monotonic VALL-E and, per item, the steps of each target phoneme "
                         "and of the closing word boundary.")
    if c.monotonic and (prompt_durations is None or len(prompt_durations) != len(prompt_codes)):
        raise ValueError("A monotonic VALL-E needs the prompt's phone durations (one per prompt, from the phone "
                         "aligner) to place its pointer.")
    upto = c.n_codebooks if sampling.decode_codebooks is None else sampling.decode_codebooks
    if upto > c.n_codebooks:
        raise ValueError(f"decode_codebooks {upto} is more than this model's {c.n_codebooks}")
    model.eval()
    device = next(model.parameters()).device
    k = sampling.num_candidates
    cands = [cand for _ in prompt_codes for cand in range(k)]  # each row's candidate index
    # Each (candidate, decoder) pair has its own stream, not shared with the item's position
    # in the batch: an item draws the same numbers alone or in any batch. The NAR gets a
    # fresh stream because the AR of a batch keeps drawing for rows that already ended.
    generators = None if sampling.seed is None else item_generators([derive_seed(sampling.seed, c, 0) for c in cands])
    if c.monotonic:
        ar, text, text_lens, prompt, prompt_lens, phones = _decode_aligned(
            model, prompt_codes, prompt_phonemes, prompt_durations, target_phonemes, sampling, generators, target_steps)
        mean_logprob = (ar.logprob.cpu() / ar.lengths.cpu().clamp(min=1)).tolist()
    else:
        ar, text, text_lens, prompt, prompt_lens = _decode_implicit(model, prompt_codes, prompt_phonemes,
                                                                    target_phonemes, sampling, generators)
        phones = (None, None)
        mean_logprob = (ar.logprob.cpu() / (ar.lengths.cpu() + ar.ended.cpu().long()).clamp(min=1)).tolist()
    generators = None if sampling.seed is None else item_generators([derive_seed(sampling.seed, c, 1) for c in cands])
    lengths = ar.lengths.clamp(min=1)  # a row that ended at once still gets one frame to decode
    first = ar.tokens if ar.tokens.shape[1] else torch.zeros(len(cands), 1, dtype=torch.long, device=device)
    first = first.clamp(min=0)
    probs = None
    if model.nar is not None and upto > 1:
        codes = generate_nar(model.nar, text, text_lens, prompt, prompt_lens, first, lengths,
                             sampling.nar_temperature, generators, *phones,
                             return_probs=sampling.nar_decode == "expected", upto=upto)
        if sampling.nar_decode == "expected":
            codes, probs = codes[0], codes[1].cpu()
    else:
        codes = first[:, None]
    codes, lengths, ended = codes.cpu(), lengths.cpu(), ar.ended.cpu()
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
        durations = None
        if c.monotonic:  # steps per target symbol on the chosen row's path, in frames
            path, start = ar.path[rows[best]].cpu(), len(prompt_phonemes[item])
            durations = torch.bincount(path[path >= 0] - start, minlength=len(target_phonemes[item]) + 1)
            durations = durations * c.group_size
        n = int(lengths[rows[best]])
        out.append(Generated(codes=cands[best], ended=bool(ended[rows[best]]), candidate=best, scores=scores,
                             durations=durations, probs=None if probs is None else probs[rows[best], :, :n]))
    return out


def _decode_implicit(model: VallE, prompt_codes, prompt_phonemes, target_phonemes, sampling, generators):
    """VALL-E's AR for every (item, candidate) row: ``(ARResult, text, text_lens, prompt, prompt_lens)``."""
    c, k = model.config, sampling.num_candidates
    device = next(model.parameters()).device
    texts, prompts, lows, highs = [], [], [], []
    for pc, pp, tp in zip(prompt_codes, prompt_phonemes, target_phonemes):
        lo, hi = length_limits(pc.shape[1], len(pp), len(tp), sampling)
        for _ in range(k):
            texts.append(torch.tensor(join_phonemes(pp, tp, c.separator_id)))
            prompts.append(pc[: c.n_codebooks].long().cpu())
            lows.append(lo)
            highs.append(hi)
    text, text_lens = pad_stack(texts, 0)
    prompt, prompt_lens = pad_stack(prompts, 0)
    text, text_lens, prompt, prompt_lens = (x.to(device) for x in (text, text_lens, prompt, prompt_lens))
    ar = generate_ar(model.ar, text, text_lens, prompt[:, 0], prompt_lens, torch.tensor(lows), torch.tensor(highs),
                     sampling, generators)
    return ar, text, text_lens, prompt, prompt_lens


def _decode_aligned(model: VallE, prompt_codes, prompt_phonemes, prompt_durations, target_phonemes, sampling,
                    generators, target_steps=None):
    """VALL-E R's AR for every row: ``(ARResult, text, text_lens, prompt, prompt_lens, (prompt, target)
    frame phonemes for the NAR)``. The text is the prompt's aligned phonemes, the target's and a
    closing word boundary; the prompt starts at frame ``P % g``."""
    c, k, g = model.config, sampling.num_candidates, model.config.group_size
    device = next(model.parameters()).device
    texts, prompts, pphones, starts, caps, forced = [], [], [], [], [], []
    for i, (pc, pp, pd, tp) in enumerate(zip(prompt_codes, prompt_phonemes, prompt_durations, target_phonemes)):
        try:
            codes, index = prepare_prompt(c, pc[: c.n_codebooks].long().cpu(), pp, pd)
        except ValueError as err:
            raise ValueError(f"Prompt {i}: {err}") from err
        cap = step_limits(c, pc.shape[1], len(pp), len(tp) + 1, sampling)
        given = None if target_steps is None else [max(1, int(x)) for x in target_steps[i]]
        if given is not None:  # room for the given durations
            cap = max(cap, sum(given))
        for _ in range(k):
            if given is not None:
                forced.append(torch.tensor([1] * len(pp) + given))
            texts.append(torch.tensor([*map(int, pp), *map(int, tp), c.separator_id]))
            prompts.append(codes)
            pphones.append(index)
            starts.append(len(pp))
            caps.append(cap)
    text, text_lens = pad_stack(texts, 0)
    prompt, prompt_lens = pad_stack(prompts, 0)
    prompt_index = pad_stack(pphones, 0)[0]  # padding reads phoneme 0 of the row; nothing attends to it
    text, text_lens, prompt, prompt_lens, prompt_index = (
        x.to(device) for x in (text, text_lens, prompt, prompt_lens, prompt_index))
    prompt_phones = step_phones(text, prompt_index, c.lookahead)
    grouped = prompt[:, 0].reshape(len(texts), -1, g)  # every prompt is whole steps (padding too)
    rule = GivenSteps(pad_stack(forced, 1)[0].to(device)) if forced else None
    ar = generate_ar_aligned(model.ar, text, text_lens, torch.tensor(starts), grouped, prompt_lens // g,
                             prompt_phones, torch.tensor(caps), sampling, generators, rule=rule)
    target_phones = text.gather(1, ar.path.clamp(min=0)).masked_fill(ar.path < 0, 0)
    return ar, text, text_lens, prompt, prompt_lens, (frame_phones(prompt_phones, g), frame_phones(target_phones, g))
