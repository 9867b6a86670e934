"""Deterministic train/dev/test splits for corpora that do not define their own.

Held-out speakers go to ``test_unseen`` whole; of the remaining utterances a fraction
goes to ``dev`` and to ``test_seen``. Membership is decided by a hash of the id and
the seed (not by list order), so adding files to a corpus later does not move the
utterances that were already assigned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _unit(key: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) for ``key``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(
    items: Iterable[tuple[str, str | None]],
    dev: float = 0.02,
    test_seen: float = 0.0,
    unseen_speakers: float = 0.0,
    seed: int = 0,
) -> dict[str, str]:
    """Map each utterance id to a split name.

    Args:
        items: ``(utterance_id, speaker)`` pairs; ``speaker`` may be None.
        dev: fraction of (seen) utterances for ``dev``.
        test_seen: fraction of (seen) utterances for ``test_seen``.
        unseen_speakers: fraction of speakers held out for ``test_unseen`` (at least
            one when positive and there are at least two speakers).
        seed: changes every assignment.

    Returns:
        ``{utterance_id: "train" | "dev" | "test_seen" | "test_unseen"}``.
    """
    items = list(items)
    speakers = sorted({s for _, s in items if s is not None})
    held: set[str] = set()
    if unseen_speakers > 0 and len(speakers) >= 2:
        ranked = sorted(speakers, key=lambda s: _unit(f"speaker:{s}", seed))
        n = min(len(speakers) - 1, max(1, round(unseen_speakers * len(speakers))))
        held = set(ranked[:n])
    out = {}
    for utt, spk in items:
        if spk in held:
            out[utt] = "test_unseen"
            continue
        u = _unit(utt, seed)
        out[utt] = "dev" if u < dev else "test_seen" if u < dev + test_seen else "train"
    return out
