"""Intelligibility: word error rate after Whisper's text normalization.

English text goes through Whisper's ``EnglishTextNormalizer`` (lower case, no
punctuation, spelled-out numbers to digits, British to American spelling,
contractions expanded), taken from the ``whisper-normalizer`` package because it
ships the spelling table offline (Transformers' copy needs a ``normalizer.json``
from the Hub). Other languages use Whisper's ``BasicTextNormalizer``. Both sides,
reference and hypothesis, are normalized the same way, so "Hello, World!" and
"hello world" score 0.

Counting is jiwer's (Levenshtein alignment over words). The corpus WER is
``(S + D + I) / N`` over all items together, the number papers report; the mean
of per-item WERs weighs short sentences more and is given beside it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import EvalError, require


def _is_english(language: str | None) -> bool:
    return (language or "en").split("-")[0].lower() == "en"


@functools.lru_cache(maxsize=2)
def _normalizer(english: bool) -> Callable[[str], str]:
    if english:
        return require("whisper_normalizer.english", "whisper-normalizer").EnglishTextNormalizer()
    return require("whisper_normalizer.basic", "whisper-normalizer").BasicTextNormalizer()


def normalize_text(text: str, language: str | None = "en") -> str:
    """Whisper's normalization of ``text`` for scoring.

    Args:
        text: a reference or a transcript.
        language: ``"en"`` (or an ``en-*`` espeak code) for the English normalizer;
            any other code for the basic one; ``None`` means English.

    Returns:
        Lower-case words separated by single spaces.
    """
    return " ".join(_normalizer(_is_english(language))(text).split())


@dataclass(frozen=True)
class WordErrors:
    """Alignment counts of one item or of a whole corpus.

    Attributes:
        wer: ``(substitutions + deletions + insertions) / words``. For an empty
            reference it is the number of inserted words (0 when both are empty).
        words: reference words ``N``.
    """

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    hits: int
    words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions


@dataclass(frozen=True)
class WERScores:
    """What :func:`wer` returns.

    Attributes:
        corpus: the corpus-level :class:`WordErrors` (its ``wer`` is the headline).
        items: per-item :class:`WordErrors`, in input order.
        references, hypotheses: the normalized texts that were scored.
    """

    corpus: WordErrors
    items: list[WordErrors]
    references: list[str]
    hypotheses: list[str]

    @property
    def wer(self) -> float:
        """Corpus WER."""
        return self.corpus.wer

    @property
    def item_wers(self) -> list[float]:
        return [i.wer for i in self.items]

    @property
    def mean_item_wer(self) -> float:
        return sum(self.item_wers) / len(self.items) if self.items else math.nan


def _count(jiwer, ref: str, hyp: str) -> WordErrors:
    words = len(ref.split())
    if words == 0:
        # Some jiwer versions reject an empty reference: count by hand.
        ins = len(hyp.split())
        return WordErrors(float(ins), 0, 0, ins, 0, 0)
    out = jiwer.process_words(ref, hyp)
    return WordErrors(
        wer=(out.substitutions + out.deletions + out.insertions) / words,
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
        hits=out.hits,
        words=words,
    )


def corpus_errors(items: list[WordErrors]) -> WordErrors:
    # Alignment is per sentence, so the corpus counts are the sums of the items' counts.
    s = sum(x.substitutions for x in items)
    d = sum(x.deletions for x in items)
    i = sum(x.insertions for x in items)
    n = sum(x.words for x in items)
    hits = sum(x.hits for x in items)
    return WordErrors((s + d + i) / n if n else float(i), s, d, i, hits, n)


def wer(
    references: Sequence[str] | str,
    hypotheses: Sequence[str] | str,
    *,
    normalize: bool = True,
    language: str | None = "en",
) -> WERScores:
    """Corpus and per-item WER of ``hypotheses`` against ``references``.

    Args:
        references: target texts (one string is taken as a list of one).
        hypotheses: transcripts, same length and order.
        normalize: apply :func:`normalize_text` to both (Whisper's convention);
            when ``False`` only whitespace is collapsed.
        language: selects the normalizer, see :func:`normalize_text`.

    Returns:
        :class:`WERScores`; ``.wer`` is the corpus WER, ``.item_wers`` the per-item list.

    Raises:
        EvalError: the lists differ in length or are empty, or an item is not a string.
    """
    refs = [references] if isinstance(references, str) else list(references)
    hyps = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    if len(refs) != len(hyps):
        raise EvalError(
            f"wer() got {len(refs)} references but {len(hyps)} hypotheses: give one transcript per reference."
        )
    if not refs:
        raise EvalError("wer() got no texts: give at least one reference and one hypothesis.")
    for kind, texts in (("reference", refs), ("hypothesis", hyps)):
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise EvalError(f"{kind} #{i} is {type(t).__name__}, not a string: pass the text itself.")
    if normalize:
        refs = [normalize_text(t, language) for t in refs]
        hyps = [normalize_text(t, language) for t in hyps]
    else:
        refs = [" ".join(t.split()) for t in refs]
        hyps = [" ".join(t.split()) for t in hyps]
    jiwer = require("jiwer")
    items = [_count(jiwer, r, h) for r, h in zip(refs, hyps)]
    return WERScores(corpus=corpus_errors(items), items=items, references=refs, hypotheses=hyps)


def missed_by_position(references: Sequence[str], hypotheses: Sequence[str], parts: int = 4, *,
                       language: str | None = "en") -> list[float | None]:
    """Share of reference words not recognized, by where they stand in their sentence.

    Each (normalized) reference word is counted as missed when the WER alignment does not
    match it to an equal hypothesis word (substituted or deleted; insertions belong to no
    reference word), and falls into one of ``parts`` equal slices of its sentence by
    position. A synthesis that garbles the speech right after its prompt shows as a first
    slice worse than the others, where a recording's misses are spread evenly.

    Returns:
        ``parts`` shares (``None`` for a slice that no word fell into).
    """
    if parts < 1:
        raise EvalError(f"missed_by_position() needs parts >= 1, got {parts}.")
    scores = wer(references, hypotheses, language=language)  # validates and normalizes
    jiwer = require("jiwer")
    counts = [[0, 0] for _ in range(parts)]  # [words, missed]
    for ref, hyp in zip(scores.references, scores.hypotheses):
        words = ref.split()
        if not words:
            continue
        hit = [False] * len(words)
        if hyp.split():
            for chunk in jiwer.process_words(ref, hyp).alignments[0]:
                if chunk.type == "equal":
                    hit[chunk.ref_start_idx:chunk.ref_end_idx] = [True] * (chunk.ref_end_idx - chunk.ref_start_idx)
        for i, ok in enumerate(hit):
            part = counts[i * parts // len(words)]
            part[0] += 1
            part[1] += not ok
    return [missed / n if n else None for n, missed in counts]
