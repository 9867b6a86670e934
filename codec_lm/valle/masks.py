"""Attention masks and padding for VALL-E's sequences (a prefix LM: phonemes and prompt, then the target).

Legend: b = batch, s = positions, n = tokens of a segment, g = codes per step.
"""

from __future__ import annotations

import torch

from nn_common import lengths_to_mask


def prefix_lm_mask(valid: torch.Tensor, prefix: int, queries: int) -> torch.Tensor:
    """Attention mask for the last ``queries`` of ``s = valid.shape[1]`` positions.

    Query at absolute position ``i`` may see key ``j`` when ``valid[b, j]`` and
    (``j < prefix`` or ``j <= i``): the prefix is bidirectional, the rest causal, and
    prefix queries never see the target.

    Args:
        valid: bool ``[b, s]``, real (non-padding) keys.
        prefix: length of the bidirectional prefix (phonemes + prompt, padded).
        queries: number of query positions (the last ones).

    Returns:
        bool ``[b, 1, queries, s]``.
    """
    s = valid.shape[1]
    i = torch.arange(s - queries, s, device=valid.device)[:, None]
    j = torch.arange(s, device=valid.device)[None]
    allowed = (j < prefix) | (j <= i)
    return allowed[None, None] & valid[:, None, None, :]


def over(valid: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """A ``[b, n]`` mask shaped to broadcast over ``tokens`` ``[b, n]`` or ``[b, n, g]`` (grouped
    codes, phoneme windows)."""
    return valid[..., None] if tokens.dim() == 3 else valid


def segment(tokens: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids ``[b, n]`` or ``[b, n, g]`` -> (ids with padding replaced by 0, bool valid ``[b, n]``)."""
    valid = lengths_to_mask(lens, tokens.shape[1])
    return tokens.masked_fill(~over(valid, tokens), 0), valid
