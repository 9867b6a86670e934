"""Mapping one phone string onto another: which phone of a reference (espeak-ng's
events, an MFA TextGrid) each of our phone symbols corresponds to.

A Levenshtein alignment of the two character sequences where a vowel may stand for
a vowel and a consonant for a consonant (an accent's substitutions: ``æ`` for ``a``,
``ɚ`` for ``ə``), never a vowel for a consonant.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

VOWELS = frozenset("aeiouyæøœɐɑɒɔəɘɚɛɜɝɞɤɨɪʉʊʌʏɯɵᵻ")


def is_phone_char(char: str) -> bool:
    """Letters other than modifier letters: not stress, length, tone, diacritics, spaces, punctuation."""
    return unicodedata.category(char) in ("Ll", "Lu", "Lo")


def _sub(a: str, b: str) -> int:
    """Substitution cost: 0 equal, 1 within vowels or within consonants, 2 across (never
    cheaper than a deletion plus an insertion, so a vowel never stands for a consonant)."""
    return 0 if a == b else 1 if (a in VOWELS) == (b in VOWELS) else 2


def align_phones(ours: Sequence[str], theirs: Sequence[str]) -> list[int | None]:
    """For each char of ``ours``, the index of the char of ``theirs`` it aligns with, or
    None (insertions and deletions cost 1)."""
    n, m = len(ours), len(theirs)
    cost = [list(range(m + 1))] + [[i] + [0] * m for i in range(1, n + 1)]
    for i in range(1, n + 1):
        row, up = cost[i], cost[i - 1]
        for j in range(1, m + 1):
            row[j] = min(up[j - 1] + _sub(ours[i - 1], theirs[j - 1]), up[j] + 1, row[j - 1] + 1)
    out: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:  # trace back, preferring matches and substitutions
        sub = _sub(ours[i - 1], theirs[j - 1])
        if sub < 2 and cost[i][j] == cost[i - 1][j - 1] + sub:
            out[i - 1], i, j = j - 1, i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return out
