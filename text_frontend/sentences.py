"""Sentence splitting for long input.

Synthesis models are trained on utterances of a few seconds, so long text is cut
into sentences (at ``. ! ?`` and their CJK forms), and a sentence that is still too
long is cut again at the weakest pause that keeps the pieces under ``max_chars``:
``; :`` first, then ``,``, then a space. Run it on *normalized* text: abbreviations
and decimals no longer hold full stops there, so a full stop ends a sentence.
"""

from __future__ import annotations

import re

# A sentence ends after . ! ? (and closing quotes/brackets) followed by whitespace.
_SENTENCE_END = re.compile(r"[.!?。！？]+[\"')\]]*(?=\s)")
_CLAUSE_BREAKS = (re.compile(r"(?<=[;:])\s+"), re.compile(r"(?<=,)\s+"), re.compile(r"\s+"))


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive pieces while the result stays within ``max_chars``."""
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + 1 + len(piece) <= max_chars:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _split_long(sentence: str, max_chars: int, level: int = 0) -> list[str]:
    if len(sentence) <= max_chars or level >= len(_CLAUSE_BREAKS):
        return [sentence]
    pieces = [p for p in _CLAUSE_BREAKS[level].split(sentence) if p]
    if len(pieces) == 1:
        return _split_long(sentence, max_chars, level + 1)
    out: list[str] = []
    for chunk in _pack(pieces, max_chars):
        out.extend(_split_long(chunk, max_chars, level + 1))
    return out


def split_sentences(text: str, max_chars: int = 300, min_chars: int = 0) -> list[str]:
    """Split text into sentences of at most ``max_chars`` characters.

    Args:
        text: normalized text.
        max_chars: longer sentences are cut at clause boundaries, then at spaces
            (a single word longer than this stays whole).
        min_chars: sentences shorter than this are merged into the previous one
            (e.g. ``"No."``), as long as the result fits in ``max_chars``.

    Returns:
        The sentences, stripped, in order; empty for empty text.

    Example:
        >>> split_sentences("Hello there. How are you? Fine!")
        ['Hello there.', 'How are you?', 'Fine!']
    """
    text = text.strip()
    cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    sentences = [text[a:b].strip() for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]
    out: list[str] = []
    for sentence in sentences:
        for piece in _split_long(sentence, max_chars):
            short = len(piece) < min_chars or (out and len(out[-1]) < min_chars)
            if out and short and len(out[-1]) + 1 + len(piece) <= max_chars:
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    return out
