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


def fold_stress(symbols: Sequence[str], durations: Sequence[int]) -> list[int]:
    """Durations in which each stress mark keeps one frame and its vowel starts where the mark began.

    A stress mark is written before its syllable's vowel but has no sound of its own.
    Monotonic search still gives it frames, and it takes them from the start of the
    vowel: measured against espeak-ng's phone events, vowels after a stress mark began
    49 ms late (median) while other phones were within a few ms. So the mark's frames
    go to the vowel, and the mark takes the single frame it must have from the end of
    the symbol before it (when that one has a frame to spare).
    """
    out = [int(d) for d in durations]
    for i, sym in enumerate(symbols):
        if sym in STRESS and 0 < i < len(out) - 1:
            out[i + 1] += out[i] - 1
            out[i] = 1
            if out[i - 1] > 1:  # the mark's frame comes from the symbol before: the vowel keeps its onset
                out[i - 1] -= 1
                out[i + 1] += 1
    return out
