"""Importing an external phone alignment (Montreal Forced Aligner TextGrids) as durations.

MFA's phones are not our symbols: its English models speak ARPAbet (``english_us_arpa``:
``AH0``, ``CH``) or IPA phones (``english_mfa``: ``tʃ``, ``aj``), and it has no stress
marks, word boundaries or punctuation. So the TextGrid's phone tier is mapped onto
our boundary-wrapped symbol sequence:

1. each of our phone symbols gets the start of the MFA phone it aligns with
   (:func:`aligner.mapping.align_phones`); several of our symbols inside one MFA phone
   (``oʊ`` for ``OW1``) share it evenly;
2. every other symbol (stress and length marks, word boundaries, punctuation, phones
   MFA does not have) starts where the previous MFA phone ended, so a pause between
   words belongs to the word boundary or punctuation after the word, and the silence
   before the first word to the leading boundary;
3. starts become frames, each symbol keeps at least one, and the last one ends at the
   last frame.
"""

from __future__ import annotations

import re
from pathlib import Path

from aligner.mapping import align_phones, is_phone_char

SILENCES = frozenset({"", "sil", "sp", "spn", "<eps>"})

# ARPAbet (stress digits removed) -> IPA, as espeak-ng's en-us writes them.
ARPABET = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ", "D": "d", "DH": "ð",
    "EH": "ɛ", "ER": "ɚ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h", "IH": "ɪ", "IY": "i", "JH": "dʒ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "ŋ", "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ",
    "T": "t", "TH": "θ", "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}


class TextGridError(ValueError):
    """A TextGrid cannot be read or does not fit the transcript."""


def read_intervals(path: str | Path, tier: str = "phones") -> list[tuple[float, float, str]]:
    """``(start, end, label)`` of an interval tier of a Praat TextGrid (long text format).

    Raises:
        TextGridError: not a TextGrid, or no interval tier named ``tier``.
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    if 'ooTextFile' not in text or "TextGrid" not in text:
        raise TextGridError(f"'{path}' is not a Praat TextGrid (long text format).")
    for block in re.split(r"\n\s*item \[\d+\]:", text)[1:]:
        name = re.search(r'name = "(.*)"', block)
        if name is None or name.group(1) != tier:
            continue
        triples = re.findall(r'xmin = ([\d.eE+-]+)\s*xmax = ([\d.eE+-]+)\s*text = "((?:[^"]|"")*)"', block)
        return [(float(a), float(b), label.replace('""', '"').strip()) for a, b, label in triples]
    raise TextGridError(f"'{path}' has no interval tier named {tier!r}.")


def phone_string(label: str) -> str:
    """An MFA phone label as IPA characters (ARPAbet converted, stress digits dropped)."""
    arpa = re.fullmatch(r"([A-Z]{1,2})[012]?", label)
    if arpa and arpa.group(1) in ARPABET:
        return ARPABET[arpa.group(1)]
    return label


def durations_from_intervals(symbols: list[str], intervals: list[tuple[float, float, str]], n_frames: int,
                             frame_rate: float, min_coverage: float = 0.8) -> list[int]:
    """Frames per symbol of ``symbols`` (boundary-wrapped), summing to ``n_frames``.

    Raises:
        TextGridError: fewer than ``min_coverage`` of our phones map onto the TextGrid's,
            or fewer frames than symbols.
    """
    phones = [(a, b, phone_string(label)) for a, b, label in intervals if label.lower() not in SILENCES]
    theirs = [(k, c) for k, (_, _, ipa) in enumerate(phones) for c in ipa if is_phone_char(c)]
    ours = [i for i, s in enumerate(symbols) if is_phone_char(s)]
    match = align_phones([symbols[i] for i in ours], [c for _, c in theirs])
    mapped = sum(j is not None for j in match)
    if not ours or mapped / len(ours) < min_coverage:
        raise TextGridError(f"only {mapped} of {len(ours)} phones of the transcript map onto the TextGrid's phones: "
                            "it was made for another text")
    inside: dict[int, list[int]] = {}  # MFA phone -> our symbols in it
    for i, j in zip(ours, match):
        if j is not None:
            inside.setdefault(theirs[j][0], []).append(i)
    starts: list[float | None] = [None] * len(symbols)
    ends: dict[int, float] = {}  # our symbol -> end of its MFA phone
    for k, members in inside.items():
        a, b, _ = phones[k]
        for rank, i in enumerate(members):
            starts[i] = a + (b - a) * rank / len(members)
            ends[i] = b
    starts[0], last_end = 0.0, 0.0
    for i in range(1, len(symbols)):
        if starts[i] is None:
            starts[i] = last_end  # a boundary, mark or unmapped phone starts where the last phone ended
        last_end = ends.get(i, max(last_end, starts[i]))
    return _frames(starts, n_frames, frame_rate)


def _frames(starts: list[float], n_frames: int, frame_rate: float) -> list[int]:
    """Start seconds -> frame counts: at least one frame each, the last ending at ``n_frames``."""
    count = len(starts)
    if n_frames < count:
        raise TextGridError(f"{n_frames} frames for {count} symbols: the audio is too short for its transcript")
    frames = [min(max(0, round(t * frame_rate)), n_frames - 1) for t in starts]
    frames[0] = 0
    for i in range(1, count):  # strictly increasing...
        frames[i] = max(frames[i], frames[i - 1] + 1)
    for i in range(count - 1, 0, -1):  # ...and leaving a frame for every later symbol
        frames[i] = min(frames[i], n_frames - (count - i))
        frames[i - 1] = min(frames[i - 1], frames[i] - 1)
    return [b - a for a, b in zip(frames, frames[1:] + [n_frames])]
