"""``PhonemeVocab``: a stable symbol <-> id mapping, saved inside every checkpoint.

Ids 0..4 are always ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` and the word
boundary ``" "``. Other ids follow the order the vocabulary was built in and never
change afterwards: :meth:`extend` only appends. Unknown symbols map to ``<unk>``
with one warning per distinct symbol and vocabulary.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from .symbols import BOS, EOS, PAD, RESERVED, SPACE, UNK, default_symbols

FORMAT = "phoneme-vocab"
VERSION = 1


class PhonemeVocab:
    """Symbol table with reserved tokens first.

    Args:
        symbols: the non-reserved symbols in id order (reserved ones, if present,
            are skipped; duplicates keep their first position).
    """

    pad_id, bos_id, eos_id, unk_id, space_id = range(len(RESERVED))

    def __init__(self, symbols: Iterable[str] = ()) -> None:
        self._symbols: list[str] = list(RESERVED)
        self._ids: dict[str, int] = {s: i for i, s in enumerate(self._symbols)}
        self._warned: set[str] = set()
        self.extend(symbols)

    # --- construction ---------------------------------------------------------

    @classmethod
    def default(cls) -> "PhonemeVocab":
        """Reserved tokens, punctuation, stress marks and every IPA character."""
        return cls(default_symbols())

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], base: "PhonemeVocab | None" = None) -> "PhonemeVocab":
        """The ``base`` vocabulary (default: :meth:`default`) extended by every unseen
        symbol in ``sequences``, appended in sorted order so the result is deterministic."""
        vocab = cls(base.symbols[len(RESERVED):] if base is not None else default_symbols())
        new = sorted({s for seq in sequences for s in seq if s not in vocab})
        vocab.extend(new)
        return vocab

    def extend(self, symbols: Iterable[str]) -> list[str]:
        """Append unseen symbols at the end; return the ones that were added."""
        added = []
        for sym in symbols:
            if not isinstance(sym, str) or not sym:
                raise ValueError(f"A vocabulary symbol must be a non-empty string, got {sym!r}.")
            if sym not in self._ids:
                self._ids[sym] = len(self._symbols)
                self._symbols.append(sym)
                added.append(sym)
        return added

    # --- mapping --------------------------------------------------------------

    def encode(self, symbols: Iterable[str]) -> list[int]:
        """Map symbols to ids; unknown ones become ``unk_id`` (warned once per symbol)."""
        ids = []
        for sym in symbols:
            idx = self._ids.get(sym)
            if idx is None:
                if sym not in self._warned:
                    self._warned.add(sym)
                    warnings.warn(
                        f"Phoneme symbol {sym!r} (U+{ord(sym[0]):04X}) is not in the vocabulary; "
                        "it is mapped to <unk>. Build the vocabulary from your corpus "
                        "(PhonemeVocab.build) to keep it.",
                        stacklevel=2,
                    )
                idx = self.unk_id
            ids.append(idx)
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to symbols.

        Raises:
            ValueError: an id is outside ``[0, len(self))``.
        """
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._symbols):
                raise ValueError(f"Id {i} is outside this vocabulary of {len(self._symbols)} symbols.")
            out.append(self._symbols[i])
        return out

    @property
    def symbols(self) -> list[str]:
        """All symbols in id order, reserved ones included (a copy)."""
        return list(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, sym: object) -> bool:
        return sym in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PhonemeVocab) and self._symbols == other._symbols

    def __repr__(self) -> str:
        return f"PhonemeVocab({len(self)} symbols)"

    # --- serialization ---------------------------------------------------------

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "symbols": self.symbols}

    @classmethod
    def from_dict(cls, data: dict, source: str = "vocabulary") -> "PhonemeVocab":
        """Rebuild a vocabulary from :meth:`to_dict` output, checking it thoroughly.

        Raises:
            ValueError: the data is not a vocabulary of this format, or its reserved
                ids or symbols are inconsistent.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{source} is not a phoneme vocabulary (expected format {FORMAT!r}).")
        if data.get("version") != VERSION:
            raise ValueError(f"{source} has vocabulary version {data.get('version')!r}; this toolkit reads {VERSION}.")
        symbols = data.get("symbols")
        if not isinstance(symbols, list) or list(symbols[: len(RESERVED)]) != list(RESERVED):
            raise ValueError(f"{source} is corrupt: its first symbols must be {list(RESERVED)}.")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"{source} is corrupt: it lists a symbol twice.")
        return cls(symbols[len(RESERVED):])

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "vocabulary") -> "PhonemeVocab":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source} is not valid JSON: {err}") from err
        return cls.from_dict(data, source)

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PhonemeVocab":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Vocabulary file {path} does not exist.")
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))


__all__ = ["PhonemeVocab", "PAD", "BOS", "EOS", "UNK", "SPACE"]
