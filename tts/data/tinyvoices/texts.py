"""Sentences for TinyVoices, from Debian's ``fortunes`` data.

Source: the ``fortunes`` package (fortune-mod's cookie files; BSD licence, see
``/usr/share/doc/fortunes/copyright``), installed by ``make setup``. Only the
general-interest files are used (no code, ASCII art or jargon files), and never the
offensive set (``fortunes-off``, not installed).

Every sentence goes through our English normalizer first, and the result is both
what the engine speaks and the transcript, so they agree exactly. Sentences with
anything an engine could read in more than one way are dropped: all-caps words
(acronyms), digits left over, brackets, and symbols.
"""

from __future__ import annotations

import re
from pathlib import Path

from text_frontend import FrontendError, normalize_text, split_sentences

FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORTUNE_FILES = (
    "fortunes", "literature", "people", "wisdom", "humorists", "education", "love", "men-women",
    "miscellaneous", "platitudes", "science", "work", "politics", "pets", "food", "sports",
    "songs-poems", "law", "medicine", "magic", "kids", "riddles", "paradoxum", "goedel", "tao", "news",
)
MIN_WORDS, MAX_WORDS = 6, 36

_ATTRIBUTION = re.compile(r"^\s*(--|-- |\t+--)")
_ALLOWED = re.compile(r"^[A-Z][A-Za-z ,.;:!?'-]*[.!?]$")
_ACRONYM = re.compile(r"\b[A-Z]{2,}\b")


def fortune_entries(root: Path = FORTUNES_DIR, files: tuple[str, ...] = FORTUNE_FILES) -> list[str]:
    """Every cookie of the chosen files as one line of text, attributions removed."""
    entries: list[str] = []
    for name in files:
        path = root / name
        if not path.is_file():
            continue
        for cookie in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            lines = [ln for ln in cookie.splitlines() if not _ATTRIBUTION.match(ln)]
            text = " ".join(ln.strip() for ln in lines if ln.strip())
            if text:
                entries.append(text)
    return entries


def clean_sentence(sentence: str) -> str | None:
    """The normalized, speakable form of ``sentence``, or None if it should be dropped."""
    sentence = re.sub(r"\s+--\s+|--", ", ", sentence)
    sentence = sentence.replace('"', "").replace("`", "'")
    if any(c in sentence for c in "()[]{}<>/\\|@#*_=+~^"):  # $ % & are verbalized by the normalizer
        return None
    try:
        text = normalize_text(sentence, "en-us")
    except FrontendError:
        return None
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    if not _ALLOWED.match(text) or _ACRONYM.search(text) or ".." in text:
        return None
    n_words = len(text.split())
    if not MIN_WORDS <= n_words <= MAX_WORDS:
        return None
    return text


def sentence_pool(root: Path = FORTUNES_DIR) -> list[str]:
    """All usable sentences, de-duplicated, in a fixed (sorted) order.

    Raises:
        FileNotFoundError: the fortunes data is not installed.
    """
    if not (root / "fortunes").is_file():
        raise FileNotFoundError(
            f"The fortunes text data is missing ({root}). Install it: `sudo apt-get install fortunes` "
            "(or run `make setup` as root)."
        )
    seen: set[str] = set()
    for entry in fortune_entries(root):
        for sentence in split_sentences(entry, max_chars=400):
            text = clean_sentence(sentence)
            if text is not None:
                seen.add(text)
    return sorted(seen)


# Characters per second at each engine's default rate, measured on a 5-hour TinyVoices run.
CHARS_PER_SECOND = {"espeak": 19.0, "flite": 17.9, "festival": 15.6}


def estimate_seconds(text: str, rate: float = 1.0, engine: str = "espeak") -> float:
    """Rough spoken duration of ``text`` at a speaking-rate factor, plus 0.3 s of padding."""
    return len(text) / (CHARS_PER_SECOND.get(engine, 17.5) * rate) + 0.3
