"""Real people: the studio prompts of Debian's Asterisk sound packages, checked and joined.

Each prompt is a short clip (a word to a few sentences). A clip is kept when Whisper, forced
to the pack's language, hears what its transcript says (character error rate at most
:data:`MAX_CER` after both are normalized, lower-cased and stripped of punctuation). Packs
without transcripts of their own borrow the same-named prompt's text of the core-sounds pack
of their language (the prompts are translations of the same English set, often worded alike),
and keep only the clips that match it. Where no text exists at all (``es_co_july``), Whisper's
own transcript is kept when it is sure of it (mean word probability at least
:data:`MIN_MEAN_PROB`, every word at least :data:`MIN_WORD_PROB`); on these 8 kHz prompts
Whisper-base also writes fluent, confident sentences that were not said, so the retrained
aligner's score is the next filter. The verdicts are cached per pack in ``OUT/real/<pack>.json``,
so a resumed build does not listen again.

Clips shorter than the corpus' 3 s are joined in a seeded order into utterances of 3-12 s, with
0.25 s of silence between them and the transcripts joined by spaces.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..manifests import DataError
from .install import debian_package
from .sources import RealPack

MAX_CER = 0.25
MIN_MEAN_PROB, MIN_WORD_PROB = 0.8, 0.4
GAP_SECONDS = 0.25
MIN_SECONDS, MAX_SECONDS = 3.0, 12.0
_MOJIBAKE = re.compile(r"\w\?\w|\uFFFD")


@dataclass(frozen=True)
class Clip:
    """One verified prompt of a real person."""

    key: str  # the prompt's name, e.g. "vm-goodbye", "digits/5"
    path: str
    text: str  # normalized transcript (what the phonemizer reads)
    seconds: float  # after trimming its silence


def read_transcripts(package: str, language_code: str) -> dict[str, str]:
    """``{prompt name: text}`` of an Asterisk ``core-sounds-<code>.txt.gz`` (``; `` lines are comments)."""
    root = debian_package(package)
    files = list(root.glob(f"usr/share/doc/{package}/core-sounds-*.txt.gz"))
    if not files:
        raise DataError(f"{package} holds no core-sounds-*.txt.gz transcript file.")
    out: dict[str, str] = {}
    with gzip.open(files[0], "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip().lstrip("\ufeff")
            if not line or line.startswith(";") or ":" not in line:
                continue
            key, text = line.split(":", 1)
            text = text.strip()
            # Sounds described in brackets ("[toni ascendenti]") and broken encodings are not speech text.
            if text and "[" not in text and not _MOJIBAKE.search(text):
                out[key.strip()] = text
    return out


def decode(path: str | Path) -> tuple[np.ndarray, int]:
    """A clip's samples (float32 mono) and rate: G.722 and GSM through PyAV, WAV through soundfile."""
    path = Path(path)
    if path.suffix == ".wav":
        import soundfile as sf

        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return wav.mean(axis=1), sr
    import av

    with av.open(str(path), format=path.suffix[1:]) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
        rate = stream.rate
    if not frames:
        return np.zeros(0, np.float32), rate
    pcm = np.concatenate(frames, axis=-1).reshape(-1)
    return (pcm.astype(np.float32) / 32768.0 if pcm.dtype == np.int16 else pcm.astype(np.float32)), rate


def trim(wav: np.ndarray, sr: int, floor_db: float = -40.0, keep: float = 0.05) -> np.ndarray:
    """``wav`` without the silence before and after its speech (10 ms frames quieter than
    ``floor_db`` below the loudest), keeping ``keep`` seconds on each side."""
    hop = max(1, sr // 100)
    n = len(wav) // hop
    if n == 0:
        return wav
    rms = np.sqrt(np.mean(wav[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    active = np.nonzero(20 * np.log10(rms / rms.max()) > floor_db)[0]
    pad = int(keep * sr)
    return wav[max(0, active[0] * hop - pad): min(len(wav), (active[-1] + 1) * hop + pad)]


def clip_files(pack: RealPack) -> dict[str, Path]:
    """``{prompt name: file}`` of every clip of ``pack``."""
    root = debian_package(pack.package) / "usr" / "share" / "asterisk" / "sounds" / pack.folder
    if not root.is_dir():
        raise DataError(f"{pack.package} has no usr/share/asterisk/sounds/{pack.folder}: the package layout changed.")
    return {str(p.relative_to(root).with_suffix("")): p for p in sorted(root.rglob(f"*.{pack.ext}"))}


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def _normalized(text: str, language: str, normalize) -> str:
    try:
        return normalize(text, language)
    except ValueError:
        return text


def cer(ref: str, hyp: str) -> float:
    """Character error rate of ``hyp`` against ``ref`` after :func:`_plain` on both."""
    import jiwer

    ref, hyp = _plain(ref), _plain(hyp)
    if not ref:
        return 1.0
    return float(jiwer.cer(ref, hyp))


WINDOW_SECONDS = 26.0  # Whisper hears 30 s at a time, whatever the clip: fill the window
WINDOW_GAP = 1.0
MIN_CLIP_SECONDS = 0.1


def _windows(keys: list[str], files: dict[str, Path]):
    """Lists of ``(key, trimmed samples, rate)`` whose clips with :data:`WINDOW_GAP` s between
    them fit :data:`WINDOW_SECONDS`: one Whisper call hears several prompts (a 1 s prompt costs
    as much as 30 s)."""
    window, length = [], 0.0
    for key in keys:
        wav, sr = decode(files[key])
        wav = trim(wav, sr)
        seconds = len(wav) / sr
        if seconds < MIN_CLIP_SECONDS:  # an empty or click-only file: nothing to hear
            continue
        if window and length + WINDOW_GAP + seconds > WINDOW_SECONDS:
            yield window
            window, length = [], 0.0
        window.append((key, wav, sr))
        length += seconds + (WINDOW_GAP if len(window) > 1 else 0.0)
    if window:
        yield window


def _listen(asr, window):
    """``(key, heard text, word probabilities, seconds)`` of each clip of ``window``: the clips are
    heard joined by silence, each word given to the clip its middle falls in (or nearest to)."""
    sr = window[0][2]
    pieces, spans, t = [], [], 0.0
    for key, wav, rate in window:
        if rate != sr:
            raise DataError(f"{key} is at {rate} Hz, its pack at {sr} Hz.")
        if pieces:
            pieces.append(np.zeros(int(WINDOW_GAP * sr), np.float32))
            t += WINDOW_GAP
        pieces.append(wav)
        spans.append((key, t, t + len(wav) / sr))
        t += len(wav) / sr
    words = asr.transcribe_words(np.concatenate(pieces), sr).words
    heard: dict[str, list] = {key: [] for key, _, _ in spans}
    for w in words:
        mid = (w.start + w.end) / 2
        key = min(spans, key=lambda s: 0.0 if s[1] <= mid <= s[2] else min(abs(mid - s[1]), abs(mid - s[2])))[0]
        heard[key].append(w)
    for key, start, end in spans:
        ws = heard[key]
        yield key, " ".join(w.text for w in ws).strip(), [w.probability for w in ws], end - start


def _verdict(heard_text: str, probs: list[float], seconds: float, given: str, pack: RealPack, normalize) -> dict:
    verdict = {"seconds": round(seconds, 3), "ok": False, "heard": heard_text,
               "mean_word_prob": round(float(np.mean(probs)), 3) if probs else 0.0,
               "min_word_prob": round(min(probs), 3) if probs else 0.0}
    if given:
        # Whisper writes numbers in digits: read them as words before comparing.
        verdict["cer"] = round(cer(_normalized(given, pack.language, normalize),
                                   _normalized(heard_text, pack.language, normalize)), 3)
        if verdict["cer"] <= MAX_CER:
            verdict.update(text=given, ok=True, by="transcript")
    elif not pack.transcripts and probs and verdict["mean_word_prob"] >= MIN_MEAN_PROB \
            and verdict["min_word_prob"] >= MIN_WORD_PROB:
        # No text at all: Whisper's words, when it is sure of each. (Not for a borrowed text that does
        # not match: on 8 kHz prompts Whisper-base writes fluent, confident, wrong sentences.)
        verdict.update(text=heard_text, ok=True, by="whisper")
    return verdict


def verify_pack(pack: RealPack, cache: Path, asr_factory, normalize, limit: int | None = None,
                seed: int = 0) -> list[Clip]:
    """The clips of ``pack`` that Whisper confirms, cached in ``cache`` (JSON).

    Args:
        limit: listen to only this many clips, in a seeded order (a small build needs few).
        asr_factory: ``language -> object with transcribe_words(wav, sr)`` (built only when a
            clip is not in the cache yet).
        normalize: ``(text, language) -> text``, the front-end's normalizer (or raises ValueError).
    """
    done = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    texts = read_transcripts(pack.transcripts, pack.transcripts.rsplit("-", 1)[-1]) if pack.transcripts else {}
    files = clip_files(pack)
    order = sorted(files)
    random.Random(seed).shuffle(order)
    order = order[:limit] if limit is not None else order
    pending = [k for k in order if k not in done]
    asr = asr_factory(pack.language) if pending else None
    for window in _windows(pending, files):
        for key, heard_text, probs, seconds in _listen(asr, window):
            done[key] = _verdict(heard_text, probs, seconds, texts.get(key, ""), pack, normalize)
        _save(cache, done)
    for key in pending:  # too short to be heard
        done.setdefault(key, {"seconds": 0.0, "ok": False, "heard": ""})
    _save(cache, done)
    clips = []
    for key in order:
        v = done[key]
        if not v["ok"]:
            continue
        try:
            text = normalize(v["text"], pack.language)
        except ValueError:
            continue
        clips.append(Clip(key, str(files[key]), text, v["seconds"]))
    return clips


def _save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")
    tmp.replace(path)


def join_clips(clips: list[Clip], seed: int) -> list[list[Clip]]:
    """Clips in a seeded order, as utterances: a clip of :data:`MIN_SECONDS`-:data:`MAX_SECONDS`
    alone, shorter ones joined greedily until the group reaches :data:`MIN_SECONDS` (so a group
    stays under 2 x 3 s + a gap); longer clips and a short remainder are dropped."""
    order = sorted(clips, key=lambda c: c.key)
    random.Random(seed).shuffle(order)
    groups, cur, length = [], [], 0.0
    for clip in order:
        if clip.seconds > MAX_SECONDS:
            continue
        if clip.seconds >= MIN_SECONDS:
            groups.append([clip])
            continue
        length += clip.seconds + (GAP_SECONDS if cur else 0.0)
        cur.append(clip)
        if length >= MIN_SECONDS:
            groups.append(cur)
            cur, length = [], 0.0
    return groups


def render(group: list[Clip], out_wav: Path) -> None:
    """The clips of ``group``, trimmed, joined with :data:`GAP_SECONDS` of silence, as one float wav."""
    import soundfile as sf

    pieces, rate = [], None
    for clip in group:
        wav, sr = decode(clip.path)
        rate = rate or sr
        if sr != rate:
            raise DataError(f"{clip.path} is at {sr} Hz, its pack at {rate} Hz.")
        if pieces:
            pieces.append(np.zeros(int(GAP_SECONDS * sr), np.float32))
        pieces.append(trim(wav, sr))
    sf.write(str(out_wav), np.concatenate(pieces), rate, subtype="FLOAT")
