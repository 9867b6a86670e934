"""Reference phone onsets of TinyVoices espeak-ng items (tts.data.tinyvoices.reference):
libespeak-ng reproduces the espeak-ng command, the re-made corpus audio matches the
stored files, and the onsets are ordered and plausible."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from aligner.mapping import is_phone_char
from tts.data.manifests import load_cuts
from tts.data.tinyvoices import reference as ref

pytestmark = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                reason="needs espeak-ng and sox")


@pytest.fixture(scope="module")
def frontend():
    from text_frontend import Frontend

    return Frontend("en-us")


@pytest.fixture(scope="module")
def references(tinyvoices, frontend):
    """References of the dev and test_seen splits (about a dozen espeak items)."""
    found, skipped = [], []
    for split in ("dev", "test_seen"):
        refs, skips = ref.split_references(tinyvoices, split, frontend)
        found += refs
        skipped += skips
    return found, skipped


def test_libespeak_matches_cli(tmp_path):
    # Two voices in a row: the second call must not inherit the first one's synthesis state.
    for voice, pitch, rate, text, first in [("en-us+m3", 40, 160, "Hello there, Dr. Smith paid 42 dollars.", "həl"),
                                            ("en-gb-x-rp+f2", 70, 185, "Whenever anyone says, they mean it.", "wɛn")]:
        wav, sr, events = ref.espeak_events(text, voice, pitch, rate)
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(rate), "-w", str(tmp_path / "c.wav"),
                        text], check=True)
        cli, cli_sr = sf.read(tmp_path / "c.wav", dtype="int16")
        assert sr == cli_sr == 22050
        assert wav.dtype == np.float32
        np.testing.assert_array_equal(np.round(wav * 32768).astype(np.int16), cli)
        samples = [e.sample for e in events]
        assert samples == sorted(samples) and 0 <= samples[0] and samples[-1] <= len(wav)
        phones = "".join(e.phone for e in events)
        assert len(phones) > 15 and phones.startswith(first)


def test_in_process_phonemizer_is_unaffected(frontend):
    before = frontend.encode("Hello there, world.").symbols
    ref.espeak_events("Something else entirely.", "en-us", 50, 175)
    assert frontend.encode("Hello there, world.").symbols == before


def test_vowels_after_liquids_and_nasals_are_flagged_late():
    for word, late in [("lad", True), ("mad", True), ("bad", False)]:
        events = ref.espeak_events(f"the {word} dog.", "en-us", 50, 160)[2]
        assert [e.late for e in events if e.phone == "æ"] == [late]


def test_trim_start_finds_the_first_sound():
    pcm = np.zeros(22050, np.int16)
    pcm[5000:] = (8000 * np.sin(np.arange(17050) * 0.1)).astype(np.int16)
    start = ref.trim_start(pcm, 22050)
    assert 4990 <= start <= 5010  # sox keeps from about where the sound starts


def test_map_events_onsets_and_inside_symbols():
    # 'Hello there,' in en-us symbols vs an RP-like event string.
    symbols = tuple("həlˈoʊ ðˈɛɹ,")
    events = [ref.PhoneEvent(p, s, 1, late) for p, s, late in
              [("h", 0, False), ("ə", 100, False), ("l", 200, False), ("əʊ", 300, True), ("ð", 500, False),
               ("eə", 600, False), ("", 800, False)]]
    times = [e.sample / 1000 for e in events]
    phones = ref.map_events(symbols, events, times, speech_end=0.9)
    got = [(p.symbol, p.start, p.end, p.onset, p.event, p.exact, p.late) for p in phones]
    assert got == [
        ("h", 0.0, 0.1, True, "h", True, False), ("ə", 0.1, 0.2, True, "ə", True, False),
        ("l", 0.2, 0.3, True, "l", True, False),
        ("o", 0.3, 0.5, True, "əʊ", False, True), ("ʊ", 0.3, 0.5, False, "əʊ", True, True),  # inside əʊ
        ("ð", 0.5, 0.6, True, "ð", True, False),
        ("ɛ", 0.6, 0.8, True, "eə", False, False),
        ("ɹ", None, None, False, "", False, False),  # RP has no r here: no time, never guessed
    ]
    assert [p.index for p in phones] == [0, 1, 2, 4, 5, 7, 9, 10]


def test_corpus_references(tinyvoices, references):
    found, skipped = references
    espeak = sum(c.supervisions[0].custom["engine"] == "espeak"
                 for split in ("dev", "test_seen") for c in load_cuts(tinyvoices, split))
    assert len(found) + len(skipped) == espeak
    assert len(found) >= 0.75 * espeak
    assert all(reason for _, reason in skipped)
    gaps = []
    for r in found:
        assert r.coverage >= 0.9
        onsets = r.onsets(strict=False)
        times = [t for _, t in onsets]
        assert times == sorted(times)
        assert r.speech[0] <= times[0] and times[-1] < r.speech[1]
        assert abs(r.speech[0] - ref.PAD_SECONDS) < 1e-3
        assert abs(times[0] - ref.PAD_SECONDS) < 0.02  # the first phone starts at the pad
        assert [i for i, _ in onsets] == sorted(i for i, _ in onsets)
        for i, _ in onsets:
            assert is_phone_char(r.symbols[i])
        strict = [t for _, t in r.onsets()]
        gaps += list(np.diff(strict))
    gaps = np.array(gaps)
    assert np.median(gaps) > 0.04 and ((gaps >= 0.03) & (gaps <= 0.3)).mean() > 0.8


def test_remade_audio_matches_the_stored_file(tinyvoices):
    cut = next(c for c in load_cuts(tinyvoices, "test_seen") if c.supervisions[0].custom["engine"] == "espeak")
    speaker = ref._speakers(str(tinyvoices))[cut.supervisions[0].speaker]
    wav, sr, _ = ref.espeak_events(cut.supervisions[0].text, speaker["voice"], speaker["pitch"], int(speaker["rate"]))
    remade = ref.remake_audio(np.round(wav * 32768).astype(np.int16), sr)
    np.testing.assert_array_equal(remade, sf.read(cut.recording.sources[0].source, dtype="int16")[0])


def test_items_that_cannot_be_referenced_say_why(tinyvoices, frontend):
    other = next(c for split in ("train", "dev") for c in load_cuts(tinyvoices, split)
                 if c.supervisions[0].custom["engine"] != "espeak")
    with pytest.raises(ref.ReferenceAlignmentError, match="not an espeak-ng voice"):
        ref.reference_alignment(other, tinyvoices, frontend)
    cut = next(c for c in load_cuts(tinyvoices, "dev") if c.supervisions[0].custom["engine"] == "espeak")
    with pytest.raises(ref.ReferenceAlignmentError, match="of the phones map onto espeak's events"):
        ref.reference_alignment(cut, tinyvoices, frontend, min_coverage=1.01)
