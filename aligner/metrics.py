"""Phone error rate: edit distance between recognized and reference phone sequences."""

from __future__ import annotations

from collections.abc import Sequence


def edit_distance(hyp: Sequence, ref: Sequence) -> int:
    """Levenshtein distance (substitutions, insertions, deletions all cost 1)."""
    prev = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        cur = [i] + [0] * len(ref)
        for j, r in enumerate(ref, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (h != r))
        prev = cur
    return prev[-1]


def phone_error_rate(hyps: Sequence[Sequence], refs: Sequence[Sequence]) -> float:
    """Total edits over total reference length (corpus-level PER, like corpus WER)."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses for {len(refs)} references")
    total = sum(len(r) for r in refs)
    if total == 0:
        raise ValueError("the references hold no phones")
    return sum(edit_distance(h, r) for h, r in zip(hyps, refs)) / total
