"""Finding what to regenerate when a transcript is edited.

:func:`changed_span` compares the old and new transcripts word by word and returns
the smallest block of words that covers every change; :func:`locate_span` maps that
block to seconds of the recording from ASR word timestamps, aligning the ASR's words
to the transcript's (they differ in spelling, numbers, punctuation).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from .errors import TTSError


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def changed_span(old: Sequence[str], new: Sequence[str]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """``((i1, i2), (j1, j2))`` such that ``old[i1:i2]`` became ``new[j1:j2]`` and every
    word outside is unchanged; ``None`` when the transcripts say the same words."""
    sm = difflib.SequenceMatcher(a=[_key(w) for w in old], b=[_key(w) for w in new], autojunk=False)
    changes = [op for op in sm.get_opcodes() if op[0] != "equal"]
    if not changes:
        return None
    return (changes[0][1], changes[-1][2]), (changes[0][3], changes[-1][4])


def locate_span(transcript: Sequence[str], asr_words: Sequence, i1: int, i2: int, margin: float = 0.02
                ) -> tuple[float, float]:
    """Seconds ``(start, end)`` of ``transcript[i1:i2]`` from ASR words with ``.text/.start/.end``.

    For an insertion (``i1 == i2``) the span is the point between the neighbouring
    words. ``margin`` seconds are added on each side (clamped to the neighbours) so
    that word onsets and releases are regenerated too.

    Raises:
        TTSError: the recognized words cannot be aligned to the transcript around
            the change (give ``start``/``end`` by hand).
    """
    asr = [w for w in asr_words if _key(w.text)]
    sm = difflib.SequenceMatcher(a=[_key(w) for w in transcript], b=[_key(w.text) for w in asr], autojunk=False)
    to_asr: dict[int, int] = {}
    for block in sm.get_matching_blocks():
        for k in range(block.size):
            to_asr[block.a + k] = block.b + k
    before = next((to_asr[i] for i in range(i1 - 1, -1, -1) if i in to_asr), None)
    after = next((to_asr[i] for i in range(i2, len(transcript)) if i in to_asr), None)
    inside = [to_asr[i] for i in range(i1, i2) if i in to_asr]
    if inside:
        start, end = asr[inside[0]].start, asr[inside[-1]].end
    elif before is not None or after is not None:
        # The changed words were not recognized as such: take the gap between neighbours.
        start = asr[before].end if before is not None else 0.0
        end = asr[after].start if after is not None else asr[-1].end
        if i1 == i2:
            start = end = (start + end) / 2
    else:
        raise TTSError("Could not find the changed words in the recording (the speech recognizer heard something "
                       "else): pass the span in seconds with --start and --end.")
    lo = asr[before].end if before is not None else 0.0
    hi = asr[after].start if after is not None else float("inf")
    start = max(lo, start - margin)
    return start, max(start, min(hi, end + margin))
