"""Monotonic (VALL-E R) AR decoding: a phoneme pointer that can only stay or move on by one.

Legend: b = batch, l = phonemes (the prompt's, then the target's), p = prompt frames,
m = AR steps, g = frames per step (``group_size``), K = codebook entries.

Each step reads the ``g`` codes of the step before (BOS first) plus the embedding of
the phoneme under the pointer, and gives the ``g`` codes of this step and a stay /
advance logit. The pointer starts at the first target phoneme (just after the
prompt's), moves on by one when the head says so (sampled at the AR temperature,
greedy at 0) or when it has held one phoneme for ``max_phone_seconds``, and the
utterance ends when it moves past the last phoneme (the target's closing word
boundary). Every phoneme therefore gets at least one step, none is skipped or said
twice, and there is no EOS to miss. The length cap is a last resort: when the steps
left are only enough for one step per phoneme left, the pointer moves on every step,
so the sentence is still said to its end, and the item is reported (``ended=False``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .alignment import step_durations, step_phones
from .model import VallEAR
from .modules import KVCache
from .sampling import ARResult, VallESampling, length_limits, sample_tokens, uniforms


def prepare_prompt(config, codes: torch.Tensor, phonemes, durations) -> tuple[torch.Tensor, torch.Tensor]:
    """A prompt on the step grid, as :func:`.alignment.align_batch` puts training prompts.

    Args:
        config: the model's ``VallEConfig``.
        codes: ``[Q, P]`` the prompt's codes.
        phonemes: ``[k]`` its phoneme ids as aligned (boundary-wrapped, as the aligner gives them).
        durations: ``[k]`` frames of each, summing to ``P``.

    Returns:
        ``codes [Q, P']`` from frame ``P % g`` on, and ``[P' / g]`` the index in ``phonemes``
        of each step's phoneme.

    Raises:
        ValueError: durations that do not match the phonemes or the frames, or a prompt
            shorter than one step.
    """
    g = config.group_size
    phonemes = torch.as_tensor(list(map(int, phonemes)), dtype=torch.long)
    durations = torch.as_tensor(durations).long().cpu()
    p = codes.shape[1]
    if durations.numel() != phonemes.numel() or int(durations.sum()) != p or bool((durations < 0).any()):
        raise ValueError(f"The prompt's durations ({durations.numel()} summing to {int(durations.sum())} frames) "
                         f"must give each of its {phonemes.numel()} phonemes its frames, {p} in all")
    steps = p // g
    if steps < 1:
        raise ValueError(f"A prompt of {p} frames is shorter than one AR step ({g} frames)")
    offset = p - steps * g
    index = torch.arange(phonemes.numel()).repeat_interleave(step_durations(durations, steps, g, offset=offset))
    return codes[:, offset:], index


def step_limits(config, prompt_frames: int, prompt_phonemes: int, target_symbols: int,
                sampling: VallESampling) -> int:
    """The length cap in steps: ``max_length_ratio`` x the prompt's frames per phoneme x the target's
    symbols, but never fewer steps than symbols unless ``max_frames`` asks for it."""
    _, hi = length_limits(prompt_frames, prompt_phonemes, target_symbols, sampling)
    if sampling.max_frames is None:
        hi = hi / sampling.speed  # a slower pointer needs the room
    steps = max(1, math.ceil(hi / config.group_size))
    return steps if sampling.max_frames is not None else max(steps, target_symbols)


def _with_unconditional(x: torch.Tensor, blank: bool) -> torch.Tensor:
    """``[b, ...]`` -> ``[2b, ...]``: ``x`` again, or zeros (phoneme id 0: "no phoneme") when ``blank``."""
    return torch.cat([x, torch.zeros_like(x) if blank else x])


def _as_given(x: torch.Tensor, blank: bool) -> torch.Tensor:
    return x


# A step function: ``step(t, inp [B, g], phone [B] or [B, 1 + L])`` -> ``(codes logits [B, g, K],
# advance logit [B])`` of step ``t`` for every row (B = b, or 2b with guidance). A stepper builds
# one for a batch: ``stepper(model, rows, text, text_lens, prompt, prompt_steps, prompt_phones,
# horizon)``, where ``rows(x, blank)`` turns a ``[b, ...]`` input into the B rows the model runs.
Step = Callable[[int, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def cached_steps(model: VallEAR, rows, text, text_lens, prompt, prompt_steps, prompt_phones, horizon: int) -> Step:
    """The decoding steps on a KV cache: the prefix is run once, then each step adds one position."""
    c = model.config
    prefix = text.shape[1] + prompt.shape[1]
    cache = KVCache(len(model.blocks), prefix + horizon)
    valid = model.prefill(rows(text, True), rows(text_lens, False), rows(prompt, False),
                          rows(prompt_steps, c.drop_prompt), cache, rows(prompt_phones, True))
    valid = torch.cat([valid, valid.new_ones(valid.shape[0], horizon)], dim=1)

    def step(t: int, inp: torch.Tensor, phone: torch.Tensor):
        return model.step(inp, t, valid[:, : prefix + t + 1], cache, phone)

    return step


def recomputed_steps(model: VallEAR, rows, text, text_lens, prompt, prompt_steps, prompt_phones,
                     horizon: int) -> Step:
    """The decoding steps without a cache: the whole sequence runs through the model at every step
    (the reference the cached steps are checked against, and `tts bench valle`'s baseline)."""
    c = model.config
    args = (rows(text, True), rows(text_lens, False), rows(prompt, False), rows(prompt_steps, c.drop_prompt))
    history = {"inp": [], "phone": []}

    def step(t: int, inp: torch.Tensor, phone: torch.Tensor):
        history["inp"].append(inp)
        history["phone"].append(phone)
        codes, adv = model.logits(*args, torch.stack(history["inp"], 1), None, rows(prompt_phones, True),
                                  torch.stack(history["phone"], 1))
        return codes[:, -1], adv[:, -1]

    return step


class HeadRule:
    """How the pointer moves by default: the stay / advance head, read as ``sampling.advance`` says.

    ``advance(adv, held, pointer, u)`` gives, per row, whether the head moves the pointer on
    after this step (``u``: the step's uniform for the ``"sample"`` rule); ``moved(advance)``
    is told which rows did move on (the head's or the caps' doing)."""

    def __init__(self, sampling: VallESampling, b: int, device) -> None:
        self.sampling = sampling
        self.stayed = torch.ones(b, device=device)  # the head's chance of still being on it ("median")

    def advance(self, adv: torch.Tensor, held: torch.Tensor, pointer: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        s = self.sampling
        if s.advance == "median":
            self.stayed = self.stayed * torch.sigmoid(-adv)
            return self.stayed <= 0.5 ** (1.0 / s.speed)
        # the chance of staying, to the power `speed`: lengths of a constant hazard scale by 1 / speed
        scale = s.temperature if s.temperature > 0 else 1.0
        move = -torch.expm1(s.speed * torch.nn.functional.logsigmoid(-adv / scale))
        return u < move if s.temperature > 0 else move > 0.5

    def moved(self, advance: torch.Tensor) -> None:
        self.stayed = self.stayed.masked_fill(advance, 1.0)


class GivenSteps:
    """A pointer rule that moves on after given step counts instead of the head (a diagnostic:
    a recording's own durations, to tell the AR's timing from its codes).

    Args:
        steps: ``[b, l]`` the steps of each phoneme of the text (the target's are read; each >= 1).
    """

    def __init__(self, steps: torch.Tensor) -> None:
        self.steps = steps.clamp(min=1)

    def advance(self, adv, held, pointer, u) -> torch.Tensor:
        steps = self.steps.to(pointer.device)
        return held >= steps.gather(1, pointer.clamp(max=steps.shape[1] - 1)[:, None])[:, 0]

    def moved(self, advance) -> None:
        pass


def _guided(codes: torch.Tensor, adv: torch.Tensor, b: int, cfg: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A step's logits as decoding reads them: float, and with guidance ``cond + cfg (cond - uncond)``
    for the codes while the pointer follows the pass that reads the text."""
    codes, adv = codes.float(), adv.float()
    if cfg > 0:
        codes = codes[:b] + cfg * (codes[:b] - codes[b:])
        adv = adv[:b]
    return codes, adv


@torch.inference_mode()
def generate_ar_aligned(model: VallEAR, text: torch.Tensor, text_lens: torch.Tensor, start: torch.Tensor,
                        prompt: torch.Tensor, prompt_steps: torch.Tensor, prompt_phones: torch.Tensor,
                        max_steps: torch.Tensor, sampling: VallESampling,
                        generators: list[torch.Generator] | None = None, stepper=cached_steps,
                        rule: HeadRule | GivenSteps | None = None) -> ARResult:
    """Decode codebook 1 of a padded batch, ``g`` frames per step, until each pointer passes its last phoneme.

    Args:
        model: the AR transformer of a monotonic model (in eval mode).
        text: ``[b, l]`` phoneme ids, the prompt's aligned ones then the target's and its
            closing word boundary, 0-padded; text_lens ``[b]``.
        start: ``[b]`` index of the first target phoneme (the prompt's phoneme count).
        prompt: ``[b, mp, g]`` prompt codes by step; prompt_steps ``[b]``.
        prompt_phones: ``[b, mp]`` phoneme id of each prompt step (``[b, mp, 1 + L]`` windows for
            ``lookahead`` L > 0: :func:`.alignment.phone_windows`).
        max_steps: ``[b]`` the length cap in steps (:func:`step_limits`).
        sampling: temperature, top-k/p, repetition-aware sampling, ``max_phone_seconds``, ``cfg``
            (classifier-free guidance: each step also runs the AR on the same rows with every
            phoneme id 0, which a model trained with ``phone_dropout`` reads as "no text"; and,
            for one trained with ``drop_prompt``, without the prompt's codes).
        generators: one per item for seeded sampling (None: global RNG).
        stepper: how a step is computed: :func:`cached_steps` (KV cache) or :func:`recomputed_steps`.
        rule: how the pointer moves on: :class:`HeadRule` (the default) or :class:`GivenSteps`. The
            length cap and ``max_phone_seconds`` apply to either.

    Returns:
        :class:`ARResult` with ``tokens [b, m * g]``, ``lengths`` in frames and ``path``;
        ``ended`` is False where the length cap had to move the pointer on.
    """
    c = model.config
    if not c.monotonic:
        raise ValueError("generate_ar_aligned decodes monotonic models; use generate_ar for alignment='none'")
    sampling = sampling.resolved(c)
    if sampling.cfg > 0 and not c.phone_dropout:
        raise ValueError(f"cfg {sampling.cfg:g} needs a model trained with phone_dropout > 0: this one never saw "
                         "steps without phonemes, so its unconditional pass means nothing")
    b, device, g = text.shape[0], text.device, c.group_size
    horizon = int(max_steps.max())
    max_steps, start, text_lens = max_steps.to(device), start.to(device), text_lens.to(device)
    rule = rule or HeadRule(sampling, b, device)
    hold = horizon + 1 if sampling.max_phone_seconds is None else max(
        1, math.ceil(sampling.max_phone_seconds * c.steps_per_second))
    window = max(1, sampling.repetition_window)
    tokens = torch.full((b, horizon * g), -1, dtype=torch.long, device=device)
    path = torch.full((b, horizon), -1, dtype=torch.long, device=device)
    n_steps = torch.zeros(b, dtype=torch.long, device=device)
    held = torch.zeros(b, dtype=torch.long, device=device)  # steps spent on the current phoneme
    pointer = start.clone()
    ended = torch.zeros(b, dtype=torch.bool, device=device)
    rushed = torch.zeros(b, dtype=torch.bool, device=device)  # the cap moved the pointer on
    done = torch.zeros(b, dtype=torch.bool, device=device)
    logprob = torch.zeros(b, device=device)
    inp = torch.full((b, g), c.bos_id, dtype=torch.long, device=device)
    result = ARResult(tokens, n_steps, ended, logprob, path=path)
    # With guidance the AR runs on 2b rows: the b as given, then the same b without any phoneme.
    rows = _with_unconditional if sampling.cfg > 0 else _as_given
    step = stepper(model, rows, text, text_lens, prompt, prompt_steps, prompt_phones, horizon)
    for t in range(horizon):
        # A finished row's pointer is past its text: it reads padding, and nothing reads its output.
        phone = step_phones(text, pointer[:, None], c.lookahead)[:, 0]  # [b] or [b, 1 + L]
        codes, adv = _guided(*step(t, rows(inp, False), rows(phone, True)), b, sampling.cfg)
        u = uniforms(generators, b, 2 * g + 1, device)  # the same count every step: batched == alone
        active = ~done
        for j in range(g):
            f = t * g + j
            tok = sample_tokens(codes[:, j], tokens[:, max(0, f - window):f], u[:, 2 * j: 2 * j + 2],
                                sampling.temperature, sampling.top_k, sampling.top_p, sampling.repetition_window,
                                sampling.repetition_threshold)
            logprob += codes[:, j].log_softmax(-1).gather(1, tok[:, None])[:, 0].masked_fill(~active, 0.0)
            tokens[:, f] = torch.where(active, tok, tokens[:, f])
        held += 1
        advance = rule.advance(adv, held, pointer, u[:, 2 * g]) | (held >= hold)
        # After this step, the steps left must hold one step for each phoneme after this one.
        forced = (max_steps - n_steps - 1 <= text_lens - 1 - pointer) & ~advance & active
        rushed |= forced
        advance |= forced
        log_p = torch.nn.functional.logsigmoid(torch.where(advance, adv, -adv))
        logprob += log_p.masked_fill(~active, 0.0)
        path[:, t] = torch.where(active, pointer, path[:, t])
        n_steps += active.long()
        pointer = pointer + (advance & active).long()
        held = held.masked_fill(advance, 0)
        rule.moved(advance)
        ended |= active & (pointer >= text_lens)
        done |= ended | (n_steps >= max_steps)
        if bool(done.all()):
            break
        inp = tokens[:, t * g: (t + 1) * g].clamp(min=0)  # finished rows feed harmless codes
    last = int(n_steps.max())
    result.ended = ended & ~rushed
    result.lengths = n_steps * g
    result.tokens = tokens[:, : last * g]
    result.path = path[:, :last]
    return result
