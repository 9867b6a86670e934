"""Phonemization with phonemizer's espeak backend, into IPA symbols with word spans.

espeak-ng (through phonemizer, words separated by ``|``) returns strings such as
``"həlˈoʊ,|wˈɜːld!"``. :func:`parse_phonemes` turns one into

* ``symbols``: single IPA characters in NFD form, ``" "`` between words, each
  punctuation mark its own symbol: ``h ə l ˈ o ʊ , ␣ w ˈ ɜ ː l d !``;
* ``word_spans``: ``(start, end)`` symbol index ranges of each spoken word
  (punctuation excluded), so a caller can find the phonemes of word *k*.

Stress marks are always produced by the shared backend and removed here when not
wanted, so the same backend serves both settings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .espeak import backend_lock, get_backend
from .symbols import PUNCTUATION, SPACE, STRESS

WORD_SEP = "|"
_PUNCT = frozenset(PUNCTUATION)
_STRESS = frozenset(STRESS)


@dataclass(frozen=True)
class Phonemes:
    """Symbols of one utterance and the spans of its words.

    Attributes:
        symbols: IPA characters, word boundaries (``" "``) and punctuation marks.
        word_spans: ``(start, end)`` into ``symbols`` for each spoken word.
    """

    symbols: tuple[str, ...]
    word_spans: tuple[tuple[int, int], ...]


def parse_phonemes(raw: str, with_stress: bool = True) -> Phonemes:
    """Split a phonemizer output string (words joined by ``|``) into symbols.

    Args:
        raw: one line of phonemizer output.
        with_stress: keep the primary/secondary stress marks ``ˈ ˌ``.
    """
    symbols: list[str] = []
    spans: list[tuple[int, int]] = []
    for word in unicodedata.normalize("NFD", raw).split(WORD_SEP):
        chars = [c for c in word if not c.isspace() and (with_stress or c not in _STRESS)]
        if not chars:
            continue
        if symbols and symbols[-1] != SPACE:
            symbols.append(SPACE)
        start = end = None
        for c in chars:
            if c not in _PUNCT:
                if start is None:
                    start = len(symbols)
                end = len(symbols) + 1
            symbols.append(c)
        if start is not None:
            # A word's span covers its phonemes; punctuation glued to its edges
            # (quotes, commas) stays outside, punctuation inside it stays in.
            spans.append((start, end))
    while symbols and symbols[-1] == SPACE:
        symbols.pop()
    return Phonemes(tuple(symbols), tuple(spans))


def phonemize_raw(texts: Sequence[str], language: str, njobs: int = 1) -> list[str]:
    """Phonemize many normalized texts with the shared backend of ``language``.

    Args:
        texts: one utterance per item, already normalized (no newlines).
        language: a resolved espeak-ng code.
        njobs: phonemizer worker processes (each loads espeak once).

    Returns:
        One phonemizer output string per text, words separated by ``|``.
    """
    from phonemizer.separator import Separator

    lines = [" ".join(t.split()) for t in texts]  # phonemizer reads one line per text
    backend = get_backend(language)
    with backend_lock():
        return backend.phonemize(lines, separator=Separator(phone="", word=WORD_SEP), strip=True, njobs=njobs)
