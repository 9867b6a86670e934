"""Language-independent Unicode clean-up, run before any language rules.

What it does, in order:

1. NFKC normalization: full-width forms, ligatures and compatibility characters
   become their plain equivalents (``ｆｕｌｌ`` -> ``full``, ``ﬁ`` -> ``fi``,
   full-width CJK punctuation ``，！？`` -> ``, ! ?`` with a space after).
2. Typographic punctuation is mapped to the ASCII marks phonemizer keeps
   (curly quotes, CJK full stops and brackets, the ellipsis character).
3. Invisible characters (zero-width spaces, soft hyphens, BOM, control codes) go;
   emoji and pictographic symbols become spaces, since espeak would either drop
   them or read their Unicode names.
4. Runs of whitespace collapse to one space.
"""

from __future__ import annotations

import re
import unicodedata

# CJK sentence punctuation carries no space after it; phonemizer needs one to see a
# boundary, so these are mapped (before NFKC) to the ASCII mark plus a space.
_CJK_PUNCT = str.maketrans(
    {"\uff0c": ", ", "\u3001": ", ", "\u3002": ". ", "\uff01": "! ", "\uff1f": "? ",
     "\uff1a": ": ", "\uff1b": "; ", "\uff61": ". ", "\uff64": ", "}
)

# Characters NFKC leaves alone but that phonemizer only understands in ASCII form.
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
        "\u2013": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u2014": " \u2014 ", "\u2015": " \u2014 ",
        "\u2026": "...",
        "\u3010": "(", "\u3011": ")", "\u3008": "(", "\u3009": ")", "\u300a": '"', "\u300b": '"',
    }
)

# Invisible or formatting characters that carry no sound.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e]")
_WHITESPACE = re.compile(r"\s+")
# Symbols a language normalizer may still verbalize; everything else of category
# So (emoji, pictographs, dingbats) is dropped.
_KEEP_SYMBOLS = set("°©®™")


def _drop_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cf", "Co", "Cs", "Cn"):
        return ch not in "\n\t"
    if cat == "So":
        return ch not in _KEEP_SYMBOLS
    # Variation selectors and emoji modifiers (skin tones) are Mn/Sk.
    return 0xFE00 <= ord(ch) <= 0xFE0F or 0x1F3FB <= ord(ch) <= 0x1F3FF


def clean_unicode(text: str) -> str:
    """Return ``text`` with Unicode normalized, typographic marks mapped and noise removed.

    Args:
        text: any string.

    Returns:
        The cleaned string, stripped, with single spaces. May be empty.
    """
    text = unicodedata.normalize("NFKC", text.translate(_CJK_PUNCT))
    text = text.translate(_PUNCT_MAP)
    text = _INVISIBLE.sub("", text)
    text = "".join(" " if _drop_symbol(ch) else ch for ch in text)
    return _WHITESPACE.sub(" ", text).strip()


def has_speakable_content(text: str) -> bool:
    """True if ``text`` has at least one letter or digit (Unicode categories L* or N*)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)
