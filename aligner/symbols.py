"""Which phoneme symbols are phones, and the sequence the aligner aligns.

The front-end's sequences hold one symbol per IPA character, plus word boundaries
(``" "``), punctuation and stress marks. The recognizer (CTC) predicts only *phone*
symbols: stress marks, boundaries and punctuation are not reliably audible, so they
are left out of its targets and of the phone error rate. The aligner, in contrast,
gives every symbol of the sequence at least one frame, and the sequence it aligns
is wrapped in word boundaries, so the silence before the first and after the last
word belongs to a boundary symbol instead of being added to a phone.
"""

from __future__ import annotations

from collections.abc import Sequence

from text_frontend.symbols import EXTRA, PUNCTUATION, RESERVED, STRESS

NOT_PHONES = frozenset(RESERVED) | frozenset(PUNCTUATION) | frozenset(STRESS) | frozenset(EXTRA)


def phone_table(symbols: Sequence[str]) -> list[bool]:
    """``[V]`` booleans: whether each vocabulary symbol (in id order) is a phone symbol."""
    return [s not in NOT_PHONES for s in symbols]


def phone_ids(ids: Sequence[int], table: Sequence[bool]) -> list[int]:
    """The phone symbols of a sequence of ids (the recognizer's target)."""
    return [i for i in ids if table[i]]


def with_boundaries(ids: Sequence[int], space_id: int) -> list[int]:
    """``[" "] + ids + [" "]``: the sequence whose durations cover every frame of an utterance."""
    return [space_id, *ids, space_id]
