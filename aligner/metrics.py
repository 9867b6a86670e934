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


def phone_purity(tokens: Sequence[int], phones: Sequence) -> dict:
    """How well discrete tokens predict the phones of the same frames.

    Args:
        tokens: a cluster id per frame.
        phones: the frame's phone label (any hashable: a symbol or an id), one per token.

    Returns:
        ``purity``: the share of frames whose cluster's majority phone is the frame's own
        phone (HuBERT's "phone purity", the accuracy of the best token -> phone map);
        ``pnmi``: phone-normalized mutual information ``I(phone; token) / H(phone)`` (0:
        the tokens say nothing about the phone, 1: they determine it); ``frames``,
        ``clusters`` (distinct tokens seen) and ``phones`` (distinct labels).

    Raises:
        ValueError: different lengths, or no frames.
    """
    import math
    from collections import Counter

    if len(tokens) != len(phones):
        raise ValueError(f"{len(tokens)} tokens for {len(phones)} phone labels: give one label per frame")
    if not tokens:
        raise ValueError("phone purity needs at least one frame")
    joint = Counter(zip((int(t) for t in tokens), phones))
    per_token, per_phone = Counter(), Counter()
    best: dict[int, int] = {}
    for (token, phone), count in joint.items():
        per_token[token] += count
        per_phone[phone] += count
        best[token] = max(best.get(token, 0), count)
    n = len(tokens)
    mutual = sum(c / n * math.log(c * n / (per_token[t] * per_phone[p])) for (t, p), c in joint.items())
    entropy = -sum(c / n * math.log(c / n) for c in per_phone.values())
    return {"purity": sum(best.values()) / n, "pnmi": mutual / entropy if entropy > 0 else 1.0, "frames": n,
            "clusters": len(per_token), "phones": len(per_phone)}
