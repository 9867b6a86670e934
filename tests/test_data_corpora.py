"""Real-corpus recipes on tiny fake trees laid out like LibriTTS, LJSpeech, VCTK and folders."""

import json
import subprocess

import pytest

from tts.cli import main
from tts.data.corpora import prepare_libritts, prepare_ljspeech, prepare_vctk
from tts.data.folder import prepare_folder
from tts.data.manifests import DataError, load_cuts, speaker_of


def speak(path, text, sr=24000):
    """A short real utterance: espeak-ng, converted by sox to ``sr`` Hz mono."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_name(path.stem + ".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", str(sr), "-c", "1", str(path)], check=True)
    raw.unlink()
    return path


LIBRI = {
    "dev-clean": {"84": ["Hello from the dev set.", "A second dev sentence."]},
    "test-clean": {"1089": ["Testing one two.", "Another test sentence here."]},
    "train-clean-100": {"19": ["The first training line.", "It was a bright cold day."],
                        "26": ["Speaker twenty six talks.", "The clocks were striking."]},
}


@pytest.fixture(scope="module")
def libritts(tmp_path_factory):
    root = tmp_path_factory.mktemp("LibriTTS")
    for part, speakers in LIBRI.items():
        for spk, texts in speakers.items():
            chapter = root / part / spk / "1000"
            rows, book = [], []
            for i, text in enumerate(texts):
                utt = f"{spk}_1000_{i:06d}_000000"
                speak(chapter / f"{utt}.wav", text)
                (chapter / f"{utt}.normalized.txt").write_text(text)
                rows.append(f"{utt}\t{text}\t{text}")
                book.append(f"{utt} x y 25.5")
            (chapter / f"{spk}_1000.trans.tsv").write_text("\n".join(rows) + "\n")
            (chapter / f"{spk}_1000.book.tsv").write_text("\n".join(book) + "\n")
    # an extra wav without a transcript row: must be reported as skipped
    speak(root / "train-clean-100" / "19" / "1000" / "19_1000_000099_000000.wav", "No transcript for me.")
    return root


def test_libritts(libritts, tmp_path):
    summary = prepare_libritts(libritts, tmp_path)
    assert set(summary["splits"]) == {"train", "dev", "test_unseen"}
    assert summary["splits"]["train"] == {"utterances": 4, "hours": pytest.approx(summary["splits"]["train"]["hours"]),
                                          "speakers": 2}
    assert summary["skipped"] == 1 and summary["kept"] == 8
    cuts = list(load_cuts(tmp_path, "dev"))
    assert {c.supervisions[0].text for c in cuts} == set(LIBRI["dev-clean"]["84"])
    assert all(c.supervisions[0].speaker == "84" and c.sampling_rate == 24000 for c in cuts)
    assert cuts[0].load_audio().shape[0] == 1


def test_libritts_parts_and_errors(libritts, tmp_path):
    summary = prepare_libritts(libritts, tmp_path, parts=["dev-clean"])
    assert set(summary["splits"]) == {"dev"}
    with pytest.raises(DataError, match="not in"):
        prepare_libritts(libritts, tmp_path, parts=["train-clean-360"])
    with pytest.raises(DataError, match="Unknown LibriTTS part"):
        prepare_libritts(libritts, tmp_path, parts=["train-noisy"])
    with pytest.raises(DataError, match="holds no LibriTTS part"):
        prepare_libritts(tmp_path, tmp_path / "o")
    with pytest.raises(DataError, match="does not exist"):
        prepare_libritts(tmp_path / "nope", tmp_path / "o")


def test_cli_prepare_libritts(libritts, tmp_path, capsys):
    assert main(["prepare", "libritts", "--root", str(libritts), "--out", str(tmp_path)]) == 0
    assert "test_unseen" in capsys.readouterr().out
    assert main(["prepare", "libritts", "--root", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2


def test_speaker_of_a_cut(libritts, tmp_path):
    prepare_libritts(libritts, tmp_path)
    cut = next(iter(load_cuts(tmp_path, "dev")))
    assert speaker_of(cut) == "84"
    bare = cut.with_id("bare")
    bare.supervisions = []
    assert speaker_of(bare) is None and speaker_of(bare, "") == ""


def test_ljspeech_is_resampled_to_24k(tmp_path):
    root = tmp_path / "LJSpeech-1.1"
    lines = []
    for i in range(5):
        speak(root / "wavs" / f"LJ001-{i:04d}.wav", f"Sentence number {i} is here.", sr=22050)
        lines.append(f"LJ001-{i:04d}|Sentence {i} is here.|Sentence number {i} is here.")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    summary = prepare_ljspeech(root, tmp_path / "out")
    assert summary["kept"] == 5
    cut = next(c for split in summary["splits"] for c in load_cuts(tmp_path / "out", split))
    assert cut.sampling_rate == 24000
    assert abs(cut.load_audio().shape[1] - round(cut.duration * 24000)) <= 1
    with pytest.raises(DataError, match="metadata.csv"):
        prepare_ljspeech(root / "wavs", tmp_path / "o2")


def test_vctk(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    info = ["ID  AGE  GENDER  ACCENTS  REGION"]
    for spk in ("225", "226", "227"):
        info.append(f"{spk}  23  F    English    Southern  England")
        for i in range(1, 4):
            speak(root / "wav48" / f"p{spk}" / f"p{spk}_{i:03d}.wav", f"Please call Stella {i}.", sr=48000)
            (root / "txt" / f"p{spk}").mkdir(parents=True, exist_ok=True)
            (root / "txt" / f"p{spk}" / f"p{spk}_{i:03d}.txt").write_text(f"Please call Stella {i}.")
    (root / "speaker-info.txt").write_text("\n".join(info) + "\n")
    summary = prepare_vctk(root, tmp_path / "out")
    assert summary["kept"] == 9
    assert summary["splits"]["test_unseen"]["speakers"] == 1  # whole speakers are held out
    with pytest.raises(DataError, match="speaker-info.txt"):
        prepare_vctk(root / "txt", tmp_path / "o2")


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "my_voices"
    for spk in ("alice", "bob"):
        for i in range(3):
            wav = speak(root / spk / f"{spk}{i}.wav", f"This is {spk} speaking, take {i}.", sr=16000)
            ext = ".txt" if i % 2 else ".lab"
            wav.with_suffix(ext).write_text(f"This is {spk} speaking, take {i}.")
    speak(root / "bob" / "untranscribed.wav", "Nobody wrote this down.")
    (root / "bob" / "broken.wav").write_bytes(b"RIFF not really audio")
    (root / "bob" / "broken.txt").write_text("Broken audio.")
    return root


def test_folder_with_transcript_files(folder, tmp_path):
    summary = prepare_folder(folder, tmp_path / "out", dev=0.0)
    assert summary["kept"] == 6 and summary["skipped"] == 2
    assert summary["skipped_reasons"] == {"no .txt or .lab transcript": 1, "unreadable audio (AudioLoadingError)": 1}
    skipped = (tmp_path / "out" / "skipped.tsv").read_text()
    assert "untranscribed.wav" in skipped and "broken.wav" in skipped
    cuts = list(load_cuts(tmp_path / "out", "train"))
    assert {c.supervisions[0].speaker for c in cuts} == {"alice", "bob"}
    assert all(c.sampling_rate == 24000 for c in cuts)


def test_folder_with_metadata_csv(tmp_path):
    root = tmp_path / "single"
    for i in range(3):
        speak(root / "wavs" / f"u{i}.wav", f"Line {i}.")
    (root / "metadata.csv").write_text("u0|Line 0.\nu1|Line 1.|Line one.\nmissing|Gone.\n")
    summary = prepare_folder(root, tmp_path / "out", speaker="narrator", dev=0.0)
    assert summary["kept"] == 2 and summary["skipped"] == 1
    texts = {c.supervisions[0].text for c in load_cuts(tmp_path / "out", "train")}
    assert texts == {"Line 0.", "Line one."}  # the normalized column wins


def test_folder_with_jsonl_manifest(tmp_path):
    speak(tmp_path / "a.wav", "From a manifest.")
    manifest = tmp_path / "list.jsonl"
    manifest.write_text(json.dumps({"audio": "a.wav", "text": "From a manifest.", "speaker": "zed"}) + "\n")
    summary = prepare_folder(tmp_path, tmp_path / "out", manifest=manifest, dev=0.0)
    assert summary["kept"] == 1
    assert next(iter(load_cuts(tmp_path / "out", "train"))).supervisions[0].speaker == "zed"
    manifest.write_text('{"text": "no audio key"}\n')
    with pytest.raises(DataError, match="line 1"):
        prepare_folder(tmp_path, tmp_path / "o2", manifest=manifest)


def test_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no audio"):
        prepare_folder(tmp_path / "empty", tmp_path / "o")
    speak(tmp_path / "notext" / "x.wav", "No text.")
    with pytest.raises(DataError, match="No usable utterance"):
        prepare_folder(tmp_path / "notext", tmp_path / "o")
    with pytest.raises(DataError, match="does not exist"):
        prepare_folder(tmp_path / "nope", tmp_path / "o")


def test_cli_prepare_folder(folder, tmp_path, capsys):
    assert main(["prepare", "folder", "--root", str(folder), "--out", str(tmp_path / "o"), "--dev", "0.3"]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["prepare", "folder", "--out", str(tmp_path / "o")]) == 2


def test_an_empty_manifest_reads_as_an_empty_cut_set(tmp_path):
    from lhotse import CutSet

    CutSet.from_cuts([]).to_file(tmp_path / "cuts_dev.jsonl.gz")
    cuts = load_cuts(tmp_path, "dev")  # lhotse's own reader gives None here
    assert isinstance(cuts, CutSet) and len(cuts) == 0
