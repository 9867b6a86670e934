"""The default symbol inventory: reserved tokens, punctuation and every IPA character.

Symbols are single IPA characters in Unicode NFD form (``ɑ̃`` is ``ɑ`` + U+0303),
the unit Kokoro and VITS-style models use: one fixed inventory serves every
espeak-ng language, so no language ever meets an unknown phone, and the vocabulary
needs no data to build. Stress marks, length marks and tone digits are symbols too.

The order below defines the ids of :meth:`PhonemeVocab.default`. It is part of
every checkpoint's contract: **only ever append** to ``EXTRA``; never reorder or
remove anything.
"""

from __future__ import annotations

PAD, BOS, EOS, UNK, SPACE = "<pad>", "<bos>", "<eos>", "<unk>", " "
RESERVED = (PAD, BOS, EOS, UNK, SPACE)

# phonemizer's default punctuation marks (kept through phonemization), plus the
# apostrophe and hyphen that espeak leaves inside some words.
PUNCTUATION = tuple(';:,.!?¡¿—…"«»“”(){}[]') + ("'", "-")
STRESS = ("ˈ", "ˌ")

_ASCII = tuple("abcdefghijklmnopqrstuvwxyz") + tuple("0123456789")
_LATIN_1 = tuple("æçðøħŋœǀǁǂǃ")
_GREEK = tuple("βθχ")


def _block(start: int, end: int) -> tuple[str, ...]:
    return tuple(chr(c) for c in range(start, end + 1))


# IPA Extensions, Spacing Modifier Letters (length, tone letters, aspiration),
# Combining Diacritical Marks (nasalization, syllabicity...), Phonetic Extensions.
_IPA_BLOCKS = (
    _block(0x0250, 0x02AF) + _block(0x02B0, 0x02FF) + _block(0x0300, 0x036F) + _block(0x1D00, 0x1D7F)
)
# Arrows and ties espeak emits for intonation and linking in some voices.
EXTRA = ("↑", "↓", "↗", "↘", "‿", "‖")


def default_symbols() -> list[str]:
    """Every non-reserved symbol of the default vocabulary, in id order, no duplicates."""
    seen: dict[str, None] = {}
    for group in (PUNCTUATION, STRESS, _ASCII, _LATIN_1, _GREEK, _IPA_BLOCKS, EXTRA):
        for sym in group:
            if sym not in RESERVED:
                seen.setdefault(sym, None)
    return list(seen)
