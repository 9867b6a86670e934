"""Exact phone onsets of TinyVoices espeak-ng utterances, for scoring phone aligners.

An espeak-ng utterance is re-synthesized through libespeak-ng (ctypes, synchronous
mode, phoneme events in IPA) with the speaker's voice, pitch and rate. Each
``espeakEVENT_PHONEME`` gives the sample where espeak starts that phone; the sox
chain of :mod:`.engines` (trim leading silence, pad 0.15 s, resample to 24 kHz)
moves it to ``(sample - trim_start) / espeak_rate + pad`` seconds in the corpus file.
The events' phones are then mapped onto the front-end's symbol sequence by an
edit-distance alignment of the two phone strings.

Which library: the one the ``espeak-ng`` command runs on (found with ``ldd``), with
that command's data folder, because that is what made the corpus audio. It is not
necessarily the one phonemizer loads (``espeakng-loader`` may ship another version,
whose audio differs). Each synthesis runs in a forked child process, for two
reasons: libespeak-ng keeps waveform-generator state from one utterance to the next
(a second utterance in the same process differs from the command's from its 64th
sample on), and a child never touches the espeak instance phonemizer holds in this
process (the library is loaded by absolute path, the data folder passed explicitly).

What the reference means (see :class:`PhoneRef`):

* ``start`` is espeak's event sample. For stops it is the start of the closure.
* espeak emits the event of a vowel that follows a liquid or nasal (l ɹ r j w m n ŋ)
  only after the vowel's first half (its "vowel start" frames, up to the vowel
  centre; synthesize.c, ``Generate``). Those vowels are flagged ``late``: their true
  onset lies between the previous event and ``start``.
* A liquid that a vowel's ending already renders (coda l or r before some
  consonants, "themselves") gets no samples of its own: ``start == end``, and its
  sound lies before ``start``. Such phones are flagged ``empty``.
* One espeak phone can cover several of our symbols (``oʊ``, ``tʃ``, ``aɪ``): the
  first symbol is its ``onset``, the others lie inside the same phone.
* A phone cut by sox's silence trim starts where the speech starts (0.15 s): the
  first phone always does, since espeak's first event precedes the trim point.

:meth:`Reference.onsets` leaves ``late`` and ``empty`` phones out unless asked.
"""

from __future__ import annotations

import ctypes
import functools
import json
import multiprocessing
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aligner.mapping import VOWELS, align_phones, is_phone_char
from text_frontend import Frontend

from ...errors import TTSError
from ..manifests import load_cuts
from .engines import SAMPLE_RATE

PAD_SECONDS = 0.15
# The sox chain of engines.synthesize for espeak voices (its first effect alone finds the trim).
_LEAD_TRIM = ["silence", "1", "0.02", "0.1%"]
_SOX_CHAIN = [*_LEAD_TRIM, "reverse", *_LEAD_TRIM, "reverse", "pad", str(PAD_SECONDS), str(PAD_SECONDS),
              "gain", "-n", "-3", "rate", "-v", str(SAMPLE_RATE)]
# espeak phones of type liquid or nasal (phontab of espeak-ng 1.51, English tables).
_LIQUID_NASAL = frozenset("lɫɹrjwmnŋɲ")


class ReferenceAlignmentError(TTSError, RuntimeError):
    """espeak-ng cannot be driven, or one utterance gets no trustworthy reference."""


@dataclass(frozen=True)
class PhoneEvent:
    """One ``espeakEVENT_PHONEME``."""

    phone: str  # espeak's IPA name of the phone ("oʊ", "tʃ"); "" for a pause
    sample: int  # where the phone starts, in samples of the raw espeak audio
    text_position: int  # 1-based character position of its word in the text
    late: bool = False  # a vowel after a liquid or nasal: the event is at the vowel centre


@dataclass(frozen=True)
class PhoneRef:
    """The reference of one phone symbol of the front-end sequence (times in seconds
    into the cut's audio; None when no espeak phone maps to the symbol)."""

    index: int  # position in PhonemeSequence.symbols
    symbol: str
    start: float | None  # where its espeak phone starts
    end: float | None  # where the next espeak phone or pause starts
    onset: bool  # first of our symbols in its espeak phone: the one whose start is scored
    event: str  # the espeak phone it maps to ("" when unmapped)
    exact: bool  # the symbol is espeak's character at that place (not a substitute)
    late: bool  # start is the vowel centre, not its onset

    @property
    def empty(self) -> bool:
        """espeak gave the phone no samples of its own (``start == end``)."""
        return self.start is not None and self.end == self.start


@dataclass(frozen=True)
class Reference:
    """Reference alignment of one cut."""

    cut_id: str
    symbols: tuple[str, ...]  # frontend.encode(text).symbols
    phones: tuple[PhoneRef, ...]  # one per phone symbol (not stress, length, space, punctuation)
    coverage: float  # fraction of phones that have a time
    agreement: float  # fraction of phones whose symbol equals espeak's
    speech: tuple[float, float]  # start and end of the speech, between the 0.15 s pads (s)

    def onsets(self, strict: bool = True) -> list[tuple[int, float]]:
        """``(symbol index, start seconds)`` of the phone onsets, in order.

        Args:
            strict: leave out ``late`` and ``empty`` phones, whose ``start`` is not
                where the phone's sound begins.
        """
        return [(p.index, p.start) for p in self.phones
                if p.onset and p.start is not None and not (strict and (p.late or p.empty))]


# --- libespeak-ng --------------------------------------------------------------------------

class _Voice(ctypes.Structure):  # espeak_VOICE of speak_lib.h
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


class _Event(ctypes.Structure):  # espeak_EVENT of speak_lib.h; ``id`` is a union whose
    # 8-byte member ``string`` holds a phone event's name (UTF-8, NUL-terminated if shorter).
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_AUDIO_OUTPUT_SYNCHRONOUS, _POS_CHARACTER = 2, 1
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA, _INIT_DONT_EXIT = 0x1, 0x2, 0x8000
_EVENT_END_OF_LIST, _EVENT_PHONEME = 0, 7
_RATE, _PITCH = 1, 3
# The espeak-ng command's own flags for a text argument: auto encoding, [[phonemes]], end pause.
_SYNTH_FLAGS = 0x0 | 0x100 | 0x1000


@functools.lru_cache(maxsize=1)
def cli_library() -> tuple[str, str]:
    """``(libespeak-ng path, data folder)`` of the ``espeak-ng`` command (raises
    :class:`ReferenceAlignmentError` if there is none or it is linked statically)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ReferenceAlignmentError("espeak-ng is not installed: `sudo apt-get install espeak-ng`.")
    ldd = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    lib = re.search(r"libespeak-ng\.so\S*\s+=>\s+(\S+)", ldd)
    data = re.search(r"Data at:\s*(\S+)", subprocess.run([exe, "--version"], capture_output=True, text=True).stdout)
    if lib is None or data is None:
        raise ReferenceAlignmentError(f"Cannot find the libespeak-ng that {exe} runs on (ldd: {ldd.strip()[:200]!r}).")
    return lib.group(1), data.group(1)


def _synth_child(conn, path: str, data: str, text: str, voice: str, pitch: int, rate: int) -> None:
    """In a fresh child process: synthesize and send ``(pcm bytes, rate, events)`` or an error string."""
    try:
        # libespeak-ng draws noise with libc's rand() (voice variants with breath or flutter), and a
        # forked child inherits the parent's rand() state, which phonemizer's espeak in the parent
        # advances: reset it to a fresh process's state (glibc starts as if srand(1)), as the command has.
        ctypes.CDLL(None).srand(1)
        lib = ctypes.CDLL(path)  # absolute path: never phonemizer's instance
        sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(),
                                   _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT)
        if sr <= 0:
            raise RuntimeError(f"espeak_Initialize failed for {path} with data {data}")
        audio, events = [], []

        def on_synth(wav, n, event) -> int:
            audio.append(ctypes.string_at(wav, 2 * n))
            i = 0
            while event[i].type != _EVENT_END_OF_LIST:
                if event[i].type == _EVENT_PHONEME:
                    events.append((event[i].id.decode("utf-8", "replace"), event[i].sample, event[i].text_position))
                i += 1
            return 0  # 0: go on

        callback = _CALLBACK(on_synth)  # a local, alive until this process exits
        lib.espeak_SetSynthCallback(callback)
        # As the espeak-ng command does: by name, else by properties with the whole name as the
        # language (espeak-ng 1.51 finds no "en-gb+VARIANT" by name; by language it speaks plain
        # en-gb, and so does the command, which made the corpus). verify checks the result.
        if lib.espeak_SetVoiceByName(voice.encode()) != 0 and \
                lib.espeak_SetVoiceByProperties(ctypes.byref(_Voice(languages=voice.encode()))) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(_RATE, rate, 0)  # after the voice, as the CLI does
        lib.espeak_SetParameter(_PITCH, pitch, 0)
        encoded = text.encode("utf-8")
        err = lib.espeak_Synth(encoded, ctypes.c_size_t(len(encoded) + 1), 0, _POS_CHARACTER, 0, _SYNTH_FLAGS,
                               None, None)
        if err != 0 or lib.espeak_Synchronize() != 0:
            raise RuntimeError(f"espeak_Synth failed (error {err})")
        conn.send((b"".join(audio), sr, events))
    except Exception as err:  # noqa: BLE001 -- the parent raises it with context
        conn.send(str(err))
    finally:
        conn.close()


def espeak_events(text: str, voice: str, pitch: int, rate: int) -> tuple[np.ndarray, int, list[PhoneEvent]]:
    """Synthesize like ``espeak-ng -v VOICE -p PITCH -s RATE -w out.wav TEXT``, with phone events.

    Each call runs in a forked child process (about 20 ms of overhead; Linux only), as
    only a fresh libespeak-ng reproduces the command's audio (see the module docstring).

    Args:
        voice: espeak voice with variant (``"en-gb-x-rp+m3"``).
        pitch: 0-99. rate: words per minute.

    Returns:
        ``(wav, sample_rate, events)``: float32 ``[T]`` in [-1, 1) at espeak's rate
        (22050 Hz), and the phone events in time order.

    Raises:
        ReferenceAlignmentError: the library or the voice cannot be loaded, or synthesis failed.
    """
    path, data = cli_library()
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_synth_child, args=(send, path, data, text, voice, int(pitch), int(rate)),
                        daemon=True)
    child.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:  # the child died without a word
        result = None
    receive.close()
    child.join()
    if not isinstance(result, tuple):
        why = result or f"the synthesis process died (exit code {child.exitcode})"
        raise ReferenceAlignmentError(f"libespeak-ng ({path}): {why}, for {text[:40]!r}")
    pcm_bytes, sr, raw_events = result
    events, prev = [], ""
    for phone, sample, pos in raw_events:
        phone = unicodedata.normalize("NFD", phone)
        events.append(PhoneEvent(phone, sample, pos, late=phone[:1] in VOWELS and prev[:1] in _LIQUID_NASAL))
        prev = phone
    return np.frombuffer(pcm_bytes, dtype=np.int16).astype(np.float32) / 32768.0, sr, events


# --- sox -----------------------------------------------------------------------------------

def _sox(pcm: np.ndarray, rate: int, effects: list[str]) -> np.ndarray:
    """Run sox on int16 mono samples; return int16 samples (no dither, as engines.py)."""
    fmt = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1"]
    res = subprocess.run(["sox", "-D", *fmt, "-r", str(rate), "-", *fmt, "-", *effects],
                         input=pcm.astype(np.int16).tobytes(), capture_output=True)
    if res.returncode != 0:
        raise ReferenceAlignmentError(f"sox failed: {res.stderr.decode(errors='replace').strip()[:200]}")
    return np.frombuffer(res.stdout, dtype=np.int16)


def trim_start(pcm: np.ndarray, rate: int) -> int:
    """Samples sox's leading-silence trim removes from int16 audio ``pcm``."""
    kept = _sox(pcm, rate, _LEAD_TRIM)
    start = len(pcm) - len(kept)
    if not np.array_equal(pcm[start:], kept):  # the trim only cuts, so this always holds
        raise ReferenceAlignmentError("sox's silence trim changed the samples it kept.")
    return start


def remake_audio(pcm: np.ndarray, rate: int) -> np.ndarray:
    """The corpus file's int16 24 kHz samples made from raw espeak audio ``pcm`` (int16)."""
    return _sox(pcm, rate, _SOX_CHAIN)


# --- mapping events onto the front-end's symbols -------------------------------------------------

def map_events(symbols: tuple[str, ...], events: list[PhoneEvent], times: list[float],
               speech_end: float) -> list[PhoneRef]:
    """Map espeak events (starting at ``times`` seconds) onto the phone symbols of ``symbols``."""
    ours = [i for i, s in enumerate(symbols) if is_phone_char(s)]
    theirs = [(k, c) for k, e in enumerate(events) for c in e.phone if is_phone_char(c)]
    match = align_phones([symbols[i] for i in ours], [c for _, c in theirs])
    refs, seen = [], set()
    for i, j in zip(ours, match):
        if j is None:
            refs.append(PhoneRef(i, symbols[i], None, None, False, "", False, False))
            continue
        k = theirs[j][0]
        end = times[k + 1] if k + 1 < len(events) else speech_end
        refs.append(PhoneRef(i, symbols[i], times[k], end, k not in seen, events[k].phone,
                             symbols[i] == theirs[j][1], events[k].late))
        seen.add(k)
    return refs


# --- corpus items ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _speakers(corpus_dir: str) -> dict:
    return json.loads((Path(corpus_dir) / "speakers.json").read_text(encoding="utf-8"))


def reference_alignment(cut, corpus_dir, frontend, verify: bool = True, min_coverage: float = 0.9) -> Reference:
    """The reference phone onsets of one espeak-ng TinyVoices cut.

    Args:
        cut: a lhotse cut of the corpus in ``corpus_dir`` (whose ``speakers.json`` is read).
        frontend: a :class:`text_frontend.Frontend`: the reference is given for its
            symbols of the cut's text.
        verify: re-make the corpus file from the re-synthesized audio and require it
            to be identical to the stored one (about 20 ms more per item).
        min_coverage: least fraction of phone symbols that must get a time.

    Raises:
        ReferenceAlignmentError: the reason there is no reference (not an espeak-ng
            item, re-made audio differs, the mapping covers too little...).
    """
    import soundfile as sf

    sup = cut.supervisions[0]
    spk = _speakers(str(corpus_dir)).get(sup.speaker)
    if spk is None or spk["engine"] != "espeak":
        raise ReferenceAlignmentError(f"speaker {sup.speaker!r} is not an espeak-ng voice")
    text = " ".join((s.text or "").strip() for s in cut.supervisions).strip()
    wav, rate, events = espeak_events(text, spk["voice"], spk["pitch"], int(spk["rate"]))
    pcm = np.round(wav * 32768.0).astype(np.int16)
    source = cut.recording.sources[0].source
    if verify:
        stored, remade = sf.read(source, dtype="int16")[0], remake_audio(pcm, rate)
        if len(remade) != len(stored) or not np.array_equal(remade, stored):
            raise ReferenceAlignmentError(f"re-made audio differs from {source} ({len(remade)} vs {len(stored)} "
                                          "samples): made by another espeak-ng or sox?")
    duration = sf.info(source).frames / SAMPLE_RATE
    pad = int(PAD_SECONDS * rate + 0.5) / rate  # sox rounds the pad to whole input samples
    start = trim_start(pcm, rate)
    speech = (pad, duration - pad)
    # Phones cut by the trim (or after the speech) start where the speech starts (ends).
    times = [min(max(pad + (e.sample - start) / rate, speech[0]), speech[1]) for e in events]
    try:
        symbols = frontend.encode(text).symbols
    except ValueError as err:  # the front-end's errors are ValueErrors
        raise ReferenceAlignmentError(f"the front-end cannot phonemize the text: {err}") from err
    phones = map_events(symbols, events, times, speech[1])
    coverage = sum(p.start is not None for p in phones) / max(1, len(phones))
    agreement = sum(p.exact for p in phones) / max(1, len(phones))
    if coverage < min_coverage:
        ours = "".join(s for s in symbols if is_phone_char(s) or s == " ")
        theirs = "".join(e.phone or " " for e in events)
        raise ReferenceAlignmentError(f"only {coverage:.0%} of the phones map onto espeak's events "
                                      f"(ours {ours!r}, espeak's {theirs!r})")
    return Reference(cut.id, symbols, tuple(phones), coverage, agreement, speech)


def split_references(corpus_dir, split: str, frontend=None, verify: bool = True,
                     min_coverage: float = 0.9) -> tuple[list[Reference], list[tuple[str, str]]]:
    """``(references, skipped)`` of every espeak-ng cut of ``corpus_dir``'s ``split``;
    ``skipped`` holds ``(cut id, reason)``; cuts of other engines are in neither.
    The front-end defaults to ``Frontend("en-us")``, TTSDataset's for "English" cuts."""
    frontend = frontend or Frontend("en-us")
    speakers = _speakers(str(corpus_dir))
    refs, skipped = [], []
    for cut in load_cuts(corpus_dir, split):
        if speakers.get(cut.supervisions[0].speaker, {}).get("engine") != "espeak":
            continue
        try:
            refs.append(reference_alignment(cut, corpus_dir, frontend, verify, min_coverage))
        except ReferenceAlignmentError as err:
            skipped.append((cut.id, str(err)))
    return refs, skipped

