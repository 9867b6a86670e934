"""File layout of a prepared corpus and reading/writing its lhotse manifests.

A corpus folder ``DIR`` holds, for each split (``train``, ``dev``, ``test_seen``,
``test_unseen``, or the corpus' own part names)::

    DIR/recordings_<split>.jsonl.gz     lhotse RecordingSet
    DIR/supervisions_<split>.jsonl.gz   lhotse SupervisionSet (text, speaker)
    DIR/cuts_<split>.jsonl.gz           lhotse CutSet, what training and eval read

Manifests are written to a temporary name and renamed, so an interrupted run never
leaves a half-written manifest that looks complete.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TTSError

if TYPE_CHECKING:
    from lhotse import CutSet, RecordingSet, SupervisionSet

SPLITS = ("train", "dev", "test_seen", "test_unseen")
# The key of a supervision's phone alignment (``supervision.alignment[ALIGNMENT_KEY]``, `tts prepare align`).
ALIGNMENT_KEY = "phone"


class DataError(TTSError, ValueError):
    """A corpus, manifest or data folder cannot be used."""


def speaker_of(cut, missing: str | None = None) -> str | None:
    """The speaker of a cut's first supervision; ``missing`` for a cut without one."""
    return cut.supervisions[0].speaker if cut.supervisions else missing


def cuts_path(corpus_dir: str | os.PathLike, split: str) -> Path:
    return Path(corpus_dir) / f"cuts_{split}.jsonl.gz"


def _atomic_to_file(manifest, path: Path) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    manifest.to_file(tmp)
    os.replace(tmp, path)


def write_split(
    corpus_dir: str | os.PathLike, split: str, recordings: "RecordingSet", supervisions: "SupervisionSet",
    sample_rate: int | None = None,
) -> "CutSet":
    """Write the recordings, supervisions and cuts of one split; return the cuts.

    Args:
        sample_rate: resample the cuts to this rate (lazily: lhotse stores the
            transform in the manifest and applies it when audio is loaded).

    Raises:
        DataError: the split is empty (a corpus must never get a silent empty manifest).
    """
    from lhotse import CutSet

    if len(recordings) == 0 or len(supervisions) == 0:
        raise DataError(f"Split {split!r} of '{corpus_dir}' has no utterances: nothing was written for it.")
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions).sort_by_recording_id()
    if sample_rate is not None:
        cuts = cuts.resample(sample_rate)
    _atomic_to_file(recordings, corpus_dir / f"recordings_{split}.jsonl.gz")
    _atomic_to_file(supervisions, corpus_dir / f"supervisions_{split}.jsonl.gz")
    _atomic_to_file(cuts, cuts_path(corpus_dir, split))
    return cuts


def write_splits(corpus_dir: str | os.PathLike, recordings, supervisions, split_of: dict[str, str],
                 sample_rate: int | None, found: int) -> dict:
    """Write one manifest triple per split named in ``split_of`` (supervision id -> split).

    Args:
        found: utterances seen in the source, to report how many were skipped.

    Returns:
        ``{"splits": {split: {"utterances", "hours", "speakers"}}, "found", "kept", "skipped"}``.
    """
    from collections import defaultdict

    from lhotse import RecordingSet, SupervisionSet

    groups: dict[str, list] = defaultdict(list)
    for sup in supervisions:
        groups[split_of[sup.id]].append(sup)
    kept = sum(len(g) for g in groups.values())
    summary: dict = {"splits": {}, "found": found, "kept": kept, "skipped": found - kept}
    by_id = {r.id: r for r in recordings}
    for split, sups in sorted(groups.items()):
        recs = RecordingSet.from_recordings(by_id[rid] for rid in dict.fromkeys(s.recording_id for s in sups))
        cuts = write_split(corpus_dir, split, recs, SupervisionSet.from_segments(sups), sample_rate=sample_rate)
        summary["splits"][split] = {
            "utterances": len(cuts),
            "hours": round(sum(c.duration for c in cuts) / 3600, 3),
            "speakers": len({s.speaker for s in sups}),
        }
    return summary


def load_cuts(path_or_dir: str | os.PathLike, split: str | None = None) -> "CutSet":
    """Open a CutSet from a manifest file, or from ``DIR/cuts_<split>.jsonl.gz``.

    Raises:
        DataError: the file does not exist or is not a lhotse manifest; the message
            lists the splits that do exist in the folder.
    """
    from lhotse import CutSet

    path = Path(path_or_dir)
    if path.is_dir():
        if split is None:
            raise DataError(f"'{path}' is a corpus folder: say which split to read (e.g. train, dev).")
        path = cuts_path(path, split)
    if not path.is_file():
        folder = path.parent
        have = sorted(p.name[len("cuts_"):-len(".jsonl.gz")] for p in folder.glob("cuts_*.jsonl.gz")) if folder.is_dir() else []
        hint = f" Splits in '{folder}': {', '.join(have)}." if have else " Prepare the corpus first (`tts prepare ...`)."
        raise DataError(f"No cut manifest at '{path}'.{hint}")
    try:
        cuts = CutSet.from_file(path)
    except Exception as err:  # lhotse raises many kinds on a bad file
        raise DataError(f"'{path}' is not a readable lhotse CutSet manifest ({type(err).__name__}: {err}).") from err
    return CutSet.from_cuts([]) if cuts is None else cuts  # lhotse reads an empty manifest as None


def alignment_items(symbols: Sequence[str], durations: Sequence[int], frame_rate: float) -> list:
    """lhotse ``AlignmentItem`` s (seconds) of consecutive symbols with frame ``durations``."""
    from lhotse.supervision import AlignmentItem

    items, start = [], 0
    for sym, d in zip(symbols, durations):
        items.append(AlignmentItem(symbol=sym, start=round(start / frame_rate, 6), duration=round(d / frame_rate, 6)))
        start += int(d)
    return items


def frame_durations(items: Sequence, frame_rate: float, n_frames: int) -> list[int]:
    """Frame counts of stored alignment items, summing to exactly ``n_frames``.

    Frames come from the rounded *start* times (not the durations), so rounding in
    the manifest never accumulates; the last symbol ends at ``n_frames``.

    Raises:
        DataError: the alignment does not fit ``n_frames`` (features of another frame rate).
    """
    starts = [round(it.start * frame_rate) for it in items] + [n_frames]
    durations = [b - a for a, b in zip(starts[:-1], starts[1:])]
    if any(d < 1 for d in durations):
        raise DataError(f"The stored alignment ({len(items)} symbols ending at frame {starts[-2]}) does not fit "
                        f"{n_frames} frames at {frame_rate:g} frames/s: align with the features' frame rate.")
    return durations


def duration_batches(cuts: list, batch_duration: float):
    """Cuts sorted by duration, in batches of at most ``batch_duration`` seconds (a longer cut alone):
    little padding when each batch is padded to its longest cut."""
    batch, total = [], 0.0
    for cut in sorted(cuts, key=lambda c: c.duration):
        if batch and total + cut.duration > batch_duration:
            yield batch
            batch, total = [], 0.0
        batch.append(cut)
        total += cut.duration
    if batch:
        yield batch
