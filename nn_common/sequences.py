"""Variable-length sequences: padding masks, padded stacks, prompt + target phonemes, target lengths.

Legend: b = batch, n = positions (frames or phonemes).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def lengths_to_mask(lens: torch.Tensor, n: int) -> torch.Tensor:
    """``lens [b]`` -> bool ``[b, n]``, True on the first ``lens[i]`` positions (the real ones)."""
    return torch.arange(n, device=lens.device)[None] < lens[:, None]


def pad_stack(items: Sequence[torch.Tensor], pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack tensors ``[..., n_i]`` into ``[b, ..., max n_i]``, padded on the last axis with ``pad_value``.

    Returns:
        The stack and the lengths ``[b]`` (``torch.long``).
    """
    lens = torch.tensor([t.shape[-1] for t in items], dtype=torch.long)
    out = items[0].new_full((len(items), *items[0].shape[:-1], int(lens.max())), pad_value)
    for i, t in enumerate(items):
        out[i, ..., : t.shape[-1]] = t
    return out, lens


def join_phonemes(prompt: Sequence[int], target: Sequence[int], separator_id: int) -> list[int]:
    """The phonemes a zero-shot model reads: the prompt's, a separator (none when ``separator_id`` is -1),
    then the target's."""
    sep = [separator_id] if separator_id >= 0 else []
    return [*map(int, prompt), *sep, *map(int, target)]


def expected_frames(prompt_frames: int, prompt_phonemes: int, target_phonemes: int) -> float:
    """Frames the target takes at the prompt's speaking rate: the prompt's frames per phoneme x the
    target's phonemes.

    Raises:
        ValueError: a prompt without frames or phonemes (no rate to measure).
    """
    if prompt_phonemes <= 0 or prompt_frames <= 0:
        raise ValueError("The prompt needs frames and phonemes to estimate a speaking rate.")
    return prompt_frames / prompt_phonemes * target_phonemes


def estimate_frames(prompt_frames: int, prompt_phonemes: int, target_phonemes: int, speed: float = 1.0) -> int:
    """Frames for the target: :func:`expected_frames` / ``speed`` (> 1 speaks faster), at least 1."""
    return max(1, round(expected_frames(prompt_frames, prompt_phonemes, target_phonemes) / speed))


def expand_by_durations(ids: torch.Tensor, durations: torch.Tensor, n: int) -> torch.Tensor:
    """Symbols at frame rate: ``ids [b, l]`` each repeated ``durations [b, l]`` times, then padded
    with 0 (or cut) to ``n`` frames: ``[b, n]``."""
    ends = durations.long().cumsum(1)  # [b, l]: the first frame after each symbol
    frames = torch.arange(n, device=ids.device)[None].expand(ids.shape[0], n)
    index = torch.searchsorted(ends, frames.contiguous(), right=True)  # [b, n]: the symbol each frame belongs to
    inside = index < ids.shape[1]
    out = torch.gather(ids, 1, index.clamp(max=ids.shape[1] - 1))
    return out.masked_fill(~inside, 0)
