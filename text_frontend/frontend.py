"""``Frontend``: text -> normalized text -> IPA symbols -> ids, for one language.

Example:
    >>> fe = Frontend("en-us")
    >>> seq = fe.encode("Hello, world!")
    >>> "".join(seq.symbols)
    'həlˈoʊ, wˈɜːld!'
    >>> seq.words
    ['həlˈoʊ', 'wˈɜːld']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UnspeakableTextError
from .espeak import resolve_language
from .normalize import check_text, normalize_text
from .phonemize import parse_phonemes, phonemize_raw
from .sentences import split_sentences
from .vocab import PhonemeVocab

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PhonemeSequence:
    """One utterance after the front-end.

    Attributes:
        text: the normalized text that was phonemized.
        symbols: IPA symbols; ``" "`` separates words; punctuation is kept.
        ids: vocabulary ids of ``symbols`` (same length), no BOS/EOS added.
        word_spans: ``(start, end)`` into ``symbols`` for each spoken word.
        language: the espeak-ng code used.
    """

    text: str
    symbols: tuple[str, ...]
    ids: tuple[int, ...]
    word_spans: tuple[tuple[int, int], ...]
    language: str

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def words(self) -> list[str]:
        """The phonemes of each word, as strings."""
        return ["".join(self.symbols[a:b]) for a, b in self.word_spans]

    def tensor(self, bos_eos: bool = False) -> "torch.Tensor":
        """The ids as a ``LongTensor[N]`` (``[N + 2]`` with BOS/EOS, whose ids are fixed)."""
        import torch

        ids = list(self.ids)
        if bos_eos:
            ids = [PhonemeVocab.bos_id, *ids, PhonemeVocab.eos_id]
        return torch.tensor(ids, dtype=torch.long)


class Frontend:
    """Normalizer + espeak phonemizer + vocabulary for one language.

    Construction is cheap after the first one per language: the espeak backend is
    created once per language and shared.

    Args:
        language: any espeak-ng code (``en-us``, ``en-gb``, ``de``, ``fr-fr``, ``es``,
            ``cmn``...) or a common alias (``en``, ``fr``, ``zh``).
        with_stress: keep stress marks (``ˈ ˌ``) as symbols.
        vocab: the id mapping; default :meth:`PhonemeVocab.default`. Checkpoints pass
            their own saved vocabulary.
        normalize: run text normalization (numbers, abbreviations...) first.

    Raises:
        UnsupportedLanguageError: the language is unknown; the message lists close matches.
    """

    def __init__(
        self,
        language: str = "en-us",
        with_stress: bool = True,
        vocab: PhonemeVocab | None = None,
        normalize: bool = True,
    ) -> None:
        self.language = resolve_language(language)
        self.with_stress = with_stress
        self.vocab = vocab if vocab is not None else PhonemeVocab.default()
        self.normalize_enabled = normalize

    def __repr__(self) -> str:
        return f"Frontend(language={self.language!r}, with_stress={self.with_stress}, vocab={self.vocab!r})"

    def normalize(self, text: str) -> str:
        """Written text -> spoken words (see :func:`normalize_text`)."""
        if not self.normalize_enabled:
            return check_text(text)
        return normalize_text(text, self.language)

    def split(self, text: str, max_chars: int = 300) -> list[str]:
        """Normalize long text and cut it into sentences of at most ``max_chars``."""
        return split_sentences(self.normalize(text), max_chars=max_chars, min_chars=8)

    def encode(self, text: str) -> PhonemeSequence:
        """One utterance -> :class:`PhonemeSequence`.

        Raises:
            EmptyTextError: the text is empty or whitespace.
            UnspeakableTextError: nothing in it can be spoken.
        """
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str], njobs: int = 1) -> list[PhonemeSequence]:
        """Many utterances in one call into espeak (much faster than one call each).

        Args:
            texts: the utterances; each must contain something speakable.
            njobs: phonemizer worker processes for very large batches.
        """
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of texts; use encode() for one text.")
        normalized = [self.normalize(t) for t in texts]
        raw = phonemize_raw(normalized, self.language, njobs=njobs) if normalized else []
        out = []
        for text, norm, line in zip(texts, normalized, raw):
            ph = parse_phonemes(line, with_stress=self.with_stress)
            if not ph.word_spans:
                raise UnspeakableTextError(f"espeak-ng produced no phonemes for {text!r} ({self.language}).")
            out.append(
                PhonemeSequence(
                    text=norm,
                    symbols=ph.symbols,
                    ids=tuple(self.vocab.encode(ph.symbols)),
                    word_spans=ph.word_spans,
                    language=self.language,
                )
            )
        return out

    def phonemize(self, text: str) -> str:
        """The IPA string of ``text`` (words separated by spaces)."""
        return "".join(self.encode(text).symbols)
