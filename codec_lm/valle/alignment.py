"""Phone alignment on the AR's step grid (VALL-E R) and grouped codes (VALL-E 2).

Legend: b = batch, l = phonemes, n = frames, m = AR steps, q = codebooks, g = frames
per step (``group``).

The phone aligner gives every symbol of an utterance a whole number of codec frames.
With ``group > 1`` the AR runs on steps of ``group`` frames, so the durations move onto
that grid: each symbol ends at the step nearest to its last frame, the totals stay
exact (the symbols of an item cover exactly its steps), and for a target every symbol
keeps at least one step, because the pointer that decodes it visits each symbol for at
least one step. A prompt (or target) whose frame count is not a multiple of ``group``
loses ``n % group`` frames: a prompt at its start (so that it still joins the target),
a target at its end (trailing silence).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nn_common import pad_stack


def group_codes(codes: torch.Tensor, group: int) -> torch.Tensor:
    """``codes [..., n]`` -> ``[..., n // group, group]``: consecutive frames as one step (a remainder is dropped)."""
    m = codes.shape[-1] // group
    return codes[..., : m * group].reshape(*codes.shape[:-1], m, group)


def ungroup_codes(groups: torch.Tensor) -> torch.Tensor:
    """``[..., m, group]`` -> ``[..., m * group]``: the inverse of :func:`group_codes`."""
    return groups.reshape(*groups.shape[:-2], groups.shape[-2] * groups.shape[-1])


def step_durations(frames: torch.Tensor, steps: int, group: int, offset: int = 0,
                   at_least_one: bool = False) -> torch.Tensor:
    """Frames per symbol -> steps per symbol on a grid of ``steps`` steps of ``group`` frames.

    The grid covers frames ``[offset, offset + steps * group)``. Each symbol ends at the
    step nearest to its frame end (halves round up), the last one at ``steps``, so the
    result sums to exactly ``steps``; symbols outside the grid get 0.

    Args:
        frames: ``[l]`` frames of each symbol (>= 0).
        steps: steps of the grid.
        group: frames per step.
        offset: frames before the grid (dropped from the first symbols).
        at_least_one: give every symbol at least one step (targets: the decoding pointer
            visits every symbol), taking steps from the neighbours nearest in time.

    Returns:
        ``[l]`` long steps per symbol.

    Raises:
        ValueError: ``at_least_one`` with fewer steps than symbols.
    """
    frames = frames.long()
    n = frames.numel()
    if at_least_one and steps < n:
        raise ValueError(f"{steps} steps of {group} frames cannot give each of {n} symbols a step")
    ends = ((frames.cumsum(0) - offset).clamp(min=0) + group // 2) // group
    ends = ends.clamp(max=steps)
    ends[-1] = steps
    if at_least_one:
        i = torch.arange(n, device=frames.device)
        # Smallest strictly increasing sequence >= ends (each symbol ends after the one before it),
        # then the largest one that still leaves a step for every symbol after it.
        lifted = i + torch.cummax(torch.maximum(ends, i + 1) - i, dim=0).values
        ends = torch.minimum(lifted, steps - n + 1 + i)
    return torch.diff(ends, prepend=ends.new_zeros(1))


def advance_targets(durations: torch.Tensor) -> torch.Tensor:
    """``[l]`` steps per symbol (each >= 1) -> ``[m]`` float, 1 at the last step of each symbol.

    The stay/advance head's labels: after a symbol's last step the pointer moves on (after
    the last symbol's, the utterance ends).
    """
    out = torch.zeros(int(durations.sum()))
    out[durations.long().cumsum(0) - 1] = 1.0
    return out


@dataclass
class AlignedBatch:
    """A training batch on the AR's step grid (see :func:`align_batch`).

    Attributes:
        prompt: ``[b, q, P']`` prompt codes from frame ``P % g`` on (``P' = g x prompt steps``), -1 padded.
        prompt_lens: ``[b]`` frames ``P'``.
        target: ``[b, q, T']`` target codes up to ``g x target steps`` frames, -1 padded.
        target_lens: ``[b]`` frames ``T'``.
        prompt_phones: ``[b, mp]`` phoneme id of each prompt step (0 padded); with
            ``lookahead`` L > 0, ``[b, mp, 1 + L]``: that id, then the L after it in the text.
        target_phones: ``[b, mt]`` (or ``[b, mt, 1 + L]``) the same for each target step.
        advance: ``[b, mt]`` 1.0 at the last step of each target phoneme, 0 elsewhere and on padding.
    """

    prompt: torch.Tensor
    prompt_lens: torch.Tensor
    target: torch.Tensor
    target_lens: torch.Tensor
    prompt_phones: torch.Tensor
    target_phones: torch.Tensor
    advance: torch.Tensor


def phone_windows(text: torch.Tensor, index: torch.Tensor, lookahead: int) -> torch.Tensor:
    """The phoneme at each index and the ``lookahead`` after it.

    Args:
        text: ``[b, l]`` phoneme ids, 0 after each row's end.
        index: ``[b, m]`` positions in ``text`` (>= 0; at or past a row's end reads 0).

    Returns:
        ``[b, m, 1 + lookahead]`` ids, 0 past the end of the text.
    """
    l = text.shape[1]
    ext = torch.nn.functional.pad(text, (0, lookahead + 1))  # reads past the end give padding
    pos = (index[..., None] + torch.arange(lookahead + 1, device=text.device)).clamp(max=l + lookahead)
    return ext.gather(1, pos.flatten(1)).view(*index.shape, lookahead + 1)


def step_phones(text: torch.Tensor, index: torch.Tensor, lookahead: int) -> torch.Tensor:
    """What an AR step reads of the text at ``index``: ids ``[b, m]`` (``lookahead`` 0) or
    :func:`phone_windows` ``[b, m, 1 + lookahead]``; 0 past the end of the text."""
    windows = phone_windows(text, index, lookahead)
    return windows if lookahead else windows[..., 0]


def align_batch(phonemes: torch.Tensor, phoneme_lens: torch.Tensor, prompt_phoneme_lens: torch.Tensor,
                durations: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor, target: torch.Tensor,
                target_lens: torch.Tensor, group: int, lookahead: int = 0) -> AlignedBatch:
    """Cut prompt and target to whole steps and put the phonemes on the step grid.

    Args:
        phonemes: ``[b, l]`` the prompt's phonemes then the target's; phoneme_lens ``[b]``.
        prompt_phoneme_lens: ``[b]`` how many of them are the prompt's (``k``).
        durations: ``[b, l]`` frames of each phoneme: the first ``k`` sum to the prompt's
            frames, the rest to the target's.
        prompt: ``[b, q, p]`` codes; prompt_lens ``[b]``.
        target: ``[b, q, t]`` codes; target_lens ``[b]``.
        group: frames per AR step.
        lookahead: give each step the ids of the next ``lookahead`` phonemes too (see
            :func:`phone_windows`; the prompt's last steps read the target's first phonemes).

    Raises:
        ValueError: durations that do not cover the frames, a prompt shorter than one step,
            or a target with fewer steps than phonemes.
    """
    prompts, targets, pphones, tphones, advance = [], [], [], [], []
    for i in range(phonemes.shape[0]):
        n, k = int(phoneme_lens[i]), int(prompt_phoneme_lens[i])
        p, t = int(prompt_lens[i]), int(target_lens[i])
        ids, d = phonemes[i, :n], durations[i, :n].long()
        if not 0 < k < n or int(d[:k].sum()) != p or int(d[k:].sum()) != t:
            raise ValueError(f"Item {i}: the durations of its {k} prompt and {n - k} target phonemes sum to "
                             f"{int(d[:k].sum())} and {int(d[k:].sum())} frames, its codes have {p} and {t}")
        mp, mt = p // group, t // group
        if mp < 1:
            raise ValueError(f"Item {i}: a prompt of {p} frames is shorter than one step of {group} frames")
        if mt < n - k:
            raise ValueError(f"Item {i}: {t} target frames make {mt} steps of {group}, fewer than its {n - k} "
                             "phonemes (each needs a step)")
        off = p - mp * group
        prompts.append(prompt[i, :, off:p])
        targets.append(target[i, :, : mt * group])
        pd = step_durations(d[:k], mp, group, offset=off)
        td = step_durations(d[k:], mt, group, at_least_one=True)
        index = torch.arange(n, device=ids.device)
        pindex, tindex = index[:k].repeat_interleave(pd), index[k:].repeat_interleave(td)
        # windows as [1 + L, m]: pad_stack pads the last axis
        pphones.append(step_phones(ids[None], pindex[None], lookahead)[0].movedim(0, -1))
        tphones.append(step_phones(ids[None], tindex[None], lookahead)[0].movedim(0, -1))
        advance.append(advance_targets(td).to(prompt.device))
    prompt_c, prompt_l = pad_stack(prompts, -1)
    target_c, target_l = pad_stack(targets, -1)
    return AlignedBatch(prompt_c, prompt_l.to(prompt.device), target_c, target_l.to(prompt.device),
                        _steps_last(pad_stack(pphones, 0)[0]), _steps_last(pad_stack(tphones, 0)[0]),
                        pad_stack(advance, 0.0)[0])


def _steps_last(phones: torch.Tensor) -> torch.Tensor:
    """``[b, m]`` as is; ``[b, 1 + L, m]`` windows -> ``[b, m, 1 + L]``."""
    return phones.transpose(1, 2) if phones.dim() == 3 else phones


def frame_phones(phones: torch.Tensor, group: int) -> torch.Tensor:
    """``[b, m]`` phoneme id per step (or ``[b, m, 1 + L]`` windows: their first id) -> ``[b, m * group]``
    per frame (what the NAR reads)."""
    if phones.dim() == 3:
        phones = phones[..., 0]
    return phones.repeat_interleave(group, dim=1)
