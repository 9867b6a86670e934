"""``prepare_folder``: any folder of recordings with transcripts -> manifests.

Three ways to give the transcripts, checked in this order:

1. ``manifest=FILE.jsonl``: one JSON object per line, ``{"audio": PATH, "text": ...,
   "speaker": ..., "id": ...}`` (``speaker`` and ``id`` optional; relative paths are
   relative to the manifest's folder);
2. ``metadata.csv`` in the folder (or ``metadata=FILE``), LJSpeech style:
   ``id|text`` or ``id|text|normalized text`` (the normalized one is used), audio at
   ``wavs/<id>.wav``, ``<id>.wav`` or the relative path given as id;
3. otherwise every audio file with a ``.txt`` or ``.lab`` file of the same name.

The speaker is the ``speaker`` field, else the first sub-folder of the audio file,
else ``speaker=`` (default: the folder's name). Utterances without a transcript or
with unreadable audio are skipped and counted (listed in ``OUT/skipped.tsv``); a
folder with no usable utterance is an error, never an empty manifest.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .manifests import DataError, write_splits
from .splits import assign_splits

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def _entry(audio: Path, text: str | None, speaker: str | None, utt_id: str) -> dict:
    return {"audio": audio, "text": text, "speaker": speaker, "id": utt_id}


def _rel_id(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return str(rel.with_suffix("")).replace(os.sep, "_").replace(" ", "_")


def _from_jsonl(manifest: Path) -> list[dict]:
    if not manifest.is_file():
        raise DataError(f"Manifest '{manifest}' does not exist.")
    base = manifest.parent
    entries = []
    for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{manifest}, line {n}: not valid JSON ({err}).") from err
        if not isinstance(row, dict) or "audio" not in row:
            raise DataError(f'{manifest}, line {n}: each line needs at least {{"audio": ..., "text": ...}}.')
        audio = Path(row["audio"])
        audio = audio if audio.is_absolute() else base / audio
        entries.append(_entry(audio, row.get("text"), row.get("speaker"), row.get("id") or _rel_id(audio, base)))
    return entries


def _find_audio(root: Path, name: str) -> Path | None:
    for cand in (root / "wavs" / f"{name}.wav", root / f"{name}.wav", root / name):
        if cand.is_file():
            return cand
    for ext in AUDIO_EXTENSIONS[1:]:
        if (root / f"{name}{ext}").is_file():
            return root / f"{name}{ext}"
    return None


def _from_metadata(root: Path, metadata: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    entries, skipped = [], []
    for n, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("|")
        if len(cols) < 2:
            raise DataError(f"{metadata}, line {n}: expected 'id|text' or 'id|text|normalized text'.")
        name, text = cols[0].strip(), (cols[2] if len(cols) > 2 and cols[2].strip() else cols[1]).strip()
        audio = _find_audio(root, name)
        if audio is None:
            skipped.append((name, "audio file not found"))
            continue
        entries.append(_entry(audio, text, None, _rel_id(audio, root)))
    return entries, skipped


def _from_walk(root: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    entries, skipped = [], []
    audio_files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    for audio in audio_files:
        text_file = next((audio.with_suffix(ext) for ext in (".txt", ".lab") if audio.with_suffix(ext).is_file()), None)
        if text_file is None:
            skipped.append((str(audio), "no .txt or .lab transcript"))
            continue
        rel = audio.relative_to(root)
        spk = rel.parts[0] if len(rel.parts) > 1 else None
        entries.append(_entry(audio, text_file.read_text(encoding="utf-8").strip(), spk, _rel_id(audio, root)))
    return entries, skipped


def prepare_folder(
    root: str | os.PathLike, out: str | os.PathLike, *, manifest: str | os.PathLike | None = None,
    metadata: str | os.PathLike | None = None, speaker: str | None = None, language: str = "en-us",
    dev: float = 0.02, test_seen: float = 0.0, unseen_speakers: float = 0.0, sample_rate: int = 24000,
    seed: int = 0, num_jobs: int = 2,
) -> dict:
    """Build manifests for a folder of recordings; see the module docstring for the forms.

    Returns:
        Summary with per-split counts and ``skipped`` reasons.

    Raises:
        DataError: missing folder, no audio at all, or no usable utterance.
    """
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    root = Path(root)
    if manifest is None and not root.is_dir():
        raise DataError(f"Folder '{root}' does not exist.")
    skipped: list[tuple[str, str]] = []
    if manifest is not None:
        entries = _from_jsonl(Path(manifest))
    elif metadata is not None or (root / "metadata.csv").is_file():
        meta = Path(metadata) if metadata is not None else root / "metadata.csv"
        if not meta.is_file():
            raise DataError(f"Metadata file '{meta}' does not exist.")
        entries, skipped = _from_metadata(root, meta)
    else:
        entries, skipped = _from_walk(root)
    if not entries and not skipped:
        raise DataError(f"'{root}' holds no audio files ({', '.join(AUDIO_EXTENSIONS)}): nothing to prepare.")
    default_speaker = speaker or (root.name if manifest is None else Path(manifest).stem)

    def read(entry: dict):
        try:
            return entry, Recording.from_file(entry["audio"], recording_id=entry["id"])
        except Exception as err:  # any decoder error means: cannot use this file
            return entry, f"unreadable audio ({type(err).__name__})"

    recordings, supervisions = [], []
    with ThreadPoolExecutor(max_workers=max(1, num_jobs)) as pool:
        for entry, rec in pool.map(read, entries):
            if isinstance(rec, str):
                skipped.append((str(entry["audio"]), rec))
            elif not (entry["text"] or "").strip():
                skipped.append((str(entry["audio"]), "empty transcript"))
            elif rec.duration <= 0:
                skipped.append((str(entry["audio"]), "no samples"))
            else:
                recordings.append(rec)
                supervisions.append(SupervisionSegment(
                    id=entry["id"], recording_id=entry["id"], start=0.0, duration=rec.duration, channel=0,
                    text=entry["text"].strip(), speaker=entry["speaker"] or default_speaker, language=language))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if skipped:
        (out / "skipped.tsv").write_text("".join(f"{p}\t{why}\n" for p, why in skipped), encoding="utf-8")
    if not supervisions:
        reasons = sorted({why for _, why in skipped})
        raise DataError(f"No usable utterance in '{root}': all {len(skipped)} were skipped ({'; '.join(reasons)}). "
                        f"See '{out / 'skipped.tsv'}'.")
    ids = [s.id for s in supervisions]
    if len(set(ids)) != len(ids):
        raise DataError(f"Two utterances in '{root}' share an id; give each an unique 'id' (or file name).")
    split_of = assign_splits(((s.id, s.speaker) for s in supervisions), dev=dev, test_seen=test_seen,
                             unseen_speakers=unseen_speakers, seed=seed)
    summary = write_splits(out, RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions),
                           split_of, sample_rate, found=len(supervisions) + len(skipped))
    summary["skipped_reasons"] = {why: sum(1 for _, w in skipped if w == why) for why in sorted({w for _, w in skipped})}
    return summary
