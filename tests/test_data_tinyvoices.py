"""TinyVoices: layout, splits, reserved voices, determinism, resume and errors."""

import hashlib
import json
import shutil

import pytest
import soundfile as sf

from text_frontend import normalize_text
from tts.cli import main
from tts.data.manifests import SPLITS, DataError, load_cuts
from tts.data.tinyvoices import RESERVED_VOICES, prepare_tinyvoices
from tts.data.tinyvoices.plan import VOICE_CHANGES_PER_VOICE, extend_train, extend_voice_changes, make_plan
from tts.data.tinyvoices.texts import clean_sentence, sentence_pool
from tts.data.tinyvoices.voices import Speaker, base_voices


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_corpus_splits_and_audio(tinyvoices):
    cuts = {split: list(load_cuts(tinyvoices, split)) for split in SPLITS}
    assert all(cuts[s] for s in SPLITS)
    speakers = {s: {c.supervisions[0].speaker for c in cuts[s]} for s in SPLITS}
    # test_unseen speakers never appear elsewhere; test_seen speakers are train speakers
    assert not speakers["test_unseen"] & (speakers["train"] | speakers["dev"] | speakers["test_seen"])
    assert speakers["test_seen"] <= speakers["train"]
    # every unseen speaker has at least two utterances (one is the other's prompt)
    for spk in speakers["test_unseen"]:
        assert sum(c.supervisions[0].speaker == spk for c in cuts["test_unseen"]) >= 2
    # sentences are new in every split
    texts = {s: {c.supervisions[0].text for c in cuts[s]} for s in SPLITS}
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not texts[a] & texts[b], (a, b)
    for cut in cuts["dev"]:
        assert 3.0 <= cut.duration <= 15.0
        assert cut.sampling_rate == 24000 and cut.num_channels == 1
        text = cut.supervisions[0].text
        assert normalize_text(text) == text  # the transcript is already what is spoken
    info = sf.info(cuts["train"][0].recording.sources[0].source)
    assert info.samplerate == 24000 and info.channels == 1


def test_reserved_voices_are_never_used(tinyvoices):
    speakers = json.loads((tinyvoices / "speakers.json").read_text())
    keys = {f"{s['engine']}:{s['voice']}" for s in speakers.values()}
    assert not keys & RESERVED_VOICES
    assert not any("slt" in k for k in keys)
    assert all(not v.key.endswith(("slt", "slt_arctic_hts")) for v in base_voices())


def test_summary_file(tinyvoices):
    summary = json.loads((tinyvoices / "tinyvoices.json").read_text())
    assert set(summary["splits"]) == set(SPLITS)
    assert 0.15 <= summary["hours"] <= 0.25
    assert summary["speakers"] >= 8


def test_five_hour_plan_has_200_speakers():
    speakers, jobs = make_plan(5.0, 0, base_voices(), sentence_pool())
    assert len({j.speaker.id for j in jobs}) >= 200
    assert {sp.base.engine for sp in speakers} == {"espeak", "flite", "festival"}
    assert len(jobs) > 3000


def test_plan_is_deterministic():
    voices, pool = base_voices(), sentence_pool()
    a = make_plan(0.5, 3, voices, pool)[1]
    b = make_plan(0.5, 3, voices, pool)[1]
    c = make_plan(0.5, 4, voices, pool)[1]
    assert [j.to_dict() for j in a] == [j.to_dict() for j in b]
    assert [j.to_dict() for j in a] != [j.to_dict() for j in c]


def test_extra_training_speech_leaves_the_plan_as_it_was():
    voices, pool = base_voices(), sentence_pool()
    _, jobs = make_plan(0.5, 3, voices, pool)
    extra = extend_train(jobs, 0.3, 3, pool)
    assert [j.to_dict() for j in extend_train(jobs, 0.3, 3, pool)] == [j.to_dict() for j in extra]  # deterministic
    assert extend_train(jobs, 0, 3, pool) == []
    train_speakers = {j.speaker.id for j in jobs if j.split == "train"}
    assert {j.split for j in extra} == {"train"} and {j.speaker.id for j in extra} <= train_speakers
    assert len({j.speaker.id for j in extra}) > len(train_speakers) // 2  # spread over them, not one voice
    assert not {j.text for j in extra} & {j.text for j in jobs} and len({j.text for j in extra}) == len(extra)
    assert [j.id for j in extra] == [f"tv{i:06d}" for i in range(len(jobs), len(jobs) + len(extra))]
    assert 0.2 < len(extra) * 5.0 / 3600 < 0.5  # ~5 s each by the planner's estimate
    with pytest.raises(ValueError, match="must be >= 0"):
        extend_train(jobs, -1, 3, pool)
    with pytest.raises(ValueError, match="unused sentences left for --extra-train-hours 500"):
        extend_train(jobs, 500, 3, pool)


def test_corpus_with_extra_training_speech(tmp_path):
    """The same test and dev utterances as without the extra hours; more training ones; a rerun
    with other extra hours is refused."""
    base = prepare_tinyvoices(tmp_path / "a", hours=0.02, seed=5, num_jobs=2)
    more = prepare_tinyvoices(tmp_path / "b", hours=0.02, seed=5, num_jobs=2, extra_train_hours=0.01)
    for split in ("test_unseen", "test_seen", "dev"):
        a, b = load_cuts(tmp_path / "a" / f"cuts_{split}.jsonl.gz"), load_cuts(tmp_path / "b" / f"cuts_{split}.jsonl.gz")
        assert [(c.id, c.supervisions[0].text) for c in a] == [(c.id, c.supervisions[0].text) for c in b]
    assert more["splits"]["train"]["utterances"] > base["splits"]["train"]["utterances"]
    assert more["extra_train_hours"] == 0.01 and base["extra_train_hours"] == 0.0
    with pytest.raises(DataError, match="--hours 0.02 --seed 5 --extra-train-hours 0.01: rerun"):
        prepare_tinyvoices(tmp_path / "b", hours=0.02, seed=5)


def test_voice_changes_add_new_female_range_training_speakers():
    voices, pool = base_voices(), sentence_pool()
    _, jobs = make_plan(0.5, 3, voices, pool)
    speakers, extra = extend_voice_changes(jobs, 0.2, 3, pool)
    again = extend_voice_changes(jobs, 0.2, 3, pool)
    assert [s.to_dict() for s in again[0]] == [s.to_dict() for s in speakers]  # deterministic
    assert [j.to_dict() for j in again[1]] == [j.to_dict() for j in extra]
    assert extend_voice_changes(jobs, 0, 3, pool) == ([], [])
    unseen = {j.speaker.base.key for j in jobs if j.split == "test_unseen"}
    natural_train = {j.speaker.base.key for j in jobs if j.split == "train" and j.speaker.base.engine != "espeak"}
    assert natural_train and {sp.base.key for sp in speakers} == natural_train  # every trained natural voice...
    assert not {sp.base.key for sp in speakers} & unseen  # ...and no held-out one
    assert len(speakers) == VOICE_CHANGES_PER_VOICE * len(natural_train)
    assert all(150 <= sp.f0 <= 240 and 1.1 <= sp.formant <= 1.22 and sp.pitch == 0 for sp in speakers)
    assert not {sp.id for sp in speakers} & {j.speaker.id for j in jobs}  # new speakers
    assert {j.split for j in extra} == {"train"} and {j.speaker for j in extra} == set(speakers)
    assert not {j.text for j in extra} & {j.text for j in jobs} and len({j.text for j in extra}) == len(extra)
    assert [j.id for j in extra] == [f"tv{i:06d}" for i in range(len(jobs), len(jobs) + len(extra))]
    assert all(Speaker.from_dict(sp.to_dict()) == sp for sp in speakers)  # plan.json round trip
    plain = jobs[0].speaker
    assert "f0" not in plain.to_dict() and Speaker.from_dict(plain.to_dict()) == plain  # old plans read the same
    with pytest.raises(ValueError, match="--voice-change-hours must be >= 0"):
        extend_voice_changes(jobs, -1, 3, pool)
    espeak_only = [j for j in jobs if j.speaker.base.engine == "espeak"]
    with pytest.raises(ValueError, match="needs flite or festival voices in training"):
        extend_voice_changes(espeak_only, 0.2, 3, pool)


def test_corpus_with_voice_changes(tmp_path):
    """Voice-changed speakers are synthesized with their pitch moved up; test and dev splits
    stay those of the plain corpus; a rerun without the option is refused."""
    pytest.importorskip("parselmouth")
    import numpy as np
    import parselmouth

    base = prepare_tinyvoices(tmp_path / "a", hours=0.02, seed=5, num_jobs=2)
    more = prepare_tinyvoices(tmp_path / "b", hours=0.02, seed=5, num_jobs=2, voice_change_hours=0.01)
    for split in ("test_unseen", "test_seen", "dev"):
        a, b = load_cuts(tmp_path / "a" / f"cuts_{split}.jsonl.gz"), load_cuts(tmp_path / "b" / f"cuts_{split}.jsonl.gz")
        assert [(c.id, c.supervisions[0].text) for c in a] == [(c.id, c.supervisions[0].text) for c in b]
    assert more["splits"]["train"]["utterances"] > base["splits"]["train"]["utterances"]
    assert more["voice_change_hours"] == 0.01
    speakers = json.loads((tmp_path / "b" / "speakers.json").read_text())
    changed = {k: v for k, v in speakers.items() if v.get("f0")}
    assert changed and all(v["split"] == "train" and v["engine"] != "espeak" for v in changed.values())

    def median_f0(speaker_id):
        path = next((tmp_path / "b" / "audio" / speaker_id).glob("*.flac"))
        wav, sr = sf.read(path)
        f0 = parselmouth.Sound(wav, sr).to_pitch().selected_array["frequency"]
        return float(np.median(f0[f0 > 0]))

    for sid, sp in list(changed.items())[:2]:
        assert abs(median_f0(sid) - sp["f0"]) < 0.15 * sp["f0"], sid  # Praat moved the pitch where asked
    with pytest.raises(DataError, match="--voice-change-hours 0.01: rerun"):
        prepare_tinyvoices(tmp_path / "b", hours=0.02, seed=5)


def test_resume_recreates_missing_files_identically(tmp_path):
    out = tmp_path / "tv"
    first = prepare_tinyvoices(out, hours=0.02, seed=5, num_jobs=2)
    files = sorted((out / "audio").rglob("*.flac"))
    victims = files[:2]
    sums = {p: _md5(p) for p in victims}
    for p in victims:
        p.unlink()
    calls = []
    second = prepare_tinyvoices(out, hours=0.02, seed=5, num_jobs=2, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (len(files) - 2 + first["rejected"], calls[0][1])  # resumed, not restarted
    assert {p: _md5(p) for p in victims} == sums
    assert second["splits"] == first["splits"]


def test_existing_corpus_with_other_arguments_is_refused(tmp_path, tinyvoices):
    out = tmp_path / "copy"
    shutil.copytree(tinyvoices, out, ignore=shutil.ignore_patterns("audio"))
    with pytest.raises(DataError, match="--hours 0.2 --seed 0"):
        prepare_tinyvoices(out, hours=0.2, seed=1)


def test_foreign_folder_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("user data")
    with pytest.raises(DataError, match="not empty"):
        prepare_tinyvoices(tmp_path, hours=0.01)
    assert (tmp_path / "mine.txt").read_text() == "user data"


def test_bad_hours(tmp_path):
    with pytest.raises(DataError, match="positive"):
        prepare_tinyvoices(tmp_path / "x", hours=0)


@pytest.mark.parametrize(
    "raw,expected",
    [("It costs $5 and 20% more.", "It costs five dollars and twenty percent more."),
     ("The NASA budget was cut by the committee today.", None),  # acronym: engines disagree
     ("See the figure (below) for the details of it.", None),
     ("Too short.", None)],
)
def test_sentence_cleaning(raw, expected):
    assert clean_sentence(raw) == expected


def test_cli_prepare_tinyvoices(tmp_path, capsys):
    assert main(["prepare", "tinyvoices", "--out", str(tmp_path / "tv"), "--hours", "0.01", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "test_unseen" in out
    assert (tmp_path / "tv" / "cuts_train.jsonl.gz").is_file()


def test_cli_refuses_negative_extra_hours(tmp_path, capsys):
    assert main(["prepare", "tinyvoices", "--out", str(tmp_path / "tv"), "--hours", "0.01",
                 "--extra-train-hours", "-1"]) == 2
    assert "--extra-train-hours must be >= 0, got -1.0." in capsys.readouterr().err
    assert not (tmp_path / "tv").exists()


def test_cli_refuses_negative_voice_change_hours(tmp_path, capsys):
    assert main(["prepare", "tinyvoices", "--out", str(tmp_path / "tv"), "--hours", "0.01",
                 "--voice-change-hours", "-1"]) == 2
    assert "--voice-change-hours must be >= 0, got -1.0." in capsys.readouterr().err
    assert not (tmp_path / "tv").exists()
