"""Real corpora from a local folder, through lhotse's own recipes.

``prepare_libritts`` (also LibriTTS-R, same layout), ``prepare_ljspeech`` and
``prepare_vctk`` check the folder layout first (a wrong ``--root`` is one clear
message naming what was expected, not an assertion deep inside lhotse), run the
lhotse recipe, and write our standard manifests (:mod:`tts.data.manifests`) with
cuts resampled (lazily, in the manifest) to the toolkit's 24 kHz.

Splits: LibriTTS keeps its own (``train-*`` -> ``train``, ``dev-*`` -> ``dev``,
``test-*`` -> ``test_unseen``, since LibriSpeech test speakers never appear in
train); LJSpeech and VCTK get deterministic hash-based splits (:mod:`tts.data.splits`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .manifests import DataError, write_splits
from .splits import assign_splits

SAMPLE_RATE = 24000
LIBRITTS_PARTS = ("dev-clean", "dev-other", "test-clean", "test-other",
                  "train-clean-100", "train-clean-360", "train-other-500")


def _check_root(root: str | os.PathLike, corpus: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{corpus} folder '{root}' does not exist: pass the folder you extracted the corpus into.")
    return root


def _libritts_split(part: str) -> str:
    return {"train": "train", "dev": "dev", "test": "test_unseen"}[part.split("-")[0]]


def prepare_libritts(root: str | os.PathLike, out: str | os.PathLike, parts: list[str] | None = None,
                     sample_rate: int = SAMPLE_RATE, num_jobs: int = 1) -> dict:
    """LibriTTS or LibriTTS-R: ``root`` holds ``dev-clean/``, ``train-clean-100/``, ...

    Args:
        parts: which parts to read (default: every part present).

    Raises:
        DataError: no known part folder under ``root``, or a requested part is missing.
    """
    from lhotse.recipes import prepare_libritts as lhotse_prepare

    root = _check_root(root, "LibriTTS")
    present = [p for p in LIBRITTS_PARTS if (root / p).is_dir()]
    if parts:
        unknown = [p for p in parts if p not in LIBRITTS_PARTS]
        if unknown:
            raise DataError(f"Unknown LibriTTS part(s) {unknown}: choose from {', '.join(LIBRITTS_PARTS)}.")
        missing = [p for p in parts if p not in present]
        if missing:
            raise DataError(f"LibriTTS part(s) {missing} are not in '{root}' (present: {', '.join(present) or 'none'}).")
        present = list(parts)
    if not present:
        raise DataError(f"'{root}' holds no LibriTTS part folders (expected some of {', '.join(LIBRITTS_PARTS)}). "
                        "Pass the LibriTTS (or LibriTTS_R) folder itself as --root.")
    manifests = lhotse_prepare(root, dataset_parts=present, output_dir=None, num_jobs=num_jobs)
    recordings, supervisions, split_of, found = [], [], {}, 0
    for part, m in manifests.items():
        found += len(list((root / part).rglob("*.wav")))
        recordings += list(m["recordings"])
        for sup in m["supervisions"]:
            split_of[sup.id] = _libritts_split(part)
            supervisions.append(sup)
    if not supervisions:
        raise DataError(f"No utterance with both audio and a transcript (*.trans.tsv) was found under '{root}'.")
    return write_splits(Path(out), recordings, supervisions, split_of, sample_rate, found)


def prepare_ljspeech(root: str | os.PathLike, out: str | os.PathLike, sample_rate: int = SAMPLE_RATE,
                     seed: int = 0) -> dict:
    """LJSpeech: ``root`` holds ``metadata.csv`` and ``wavs/``. Splits: 1 % dev, 1 % test_seen."""
    from lhotse.recipes import prepare_ljspeech as lhotse_prepare

    root = _check_root(root, "LJSpeech")
    missing = [n for n in ("metadata.csv", "wavs") if not (root / n).exists()]
    if missing:
        raise DataError(f"'{root}' is not an LJSpeech folder: {', '.join(missing)} missing.")
    m = lhotse_prepare(root)
    supervisions = []
    for sup in m["supervisions"]:
        sup.speaker = sup.speaker or "LJ"
        supervisions.append(sup)
    if not supervisions:
        raise DataError(f"No LJSpeech utterance in '{root}' has its audio in wavs/.")
    split_of = assign_splits(((s.id, s.speaker) for s in supervisions), dev=0.01, test_seen=0.01, seed=seed)
    found = len(list((root / "wavs").glob("*.wav")))
    return write_splits(Path(out), list(m["recordings"]), supervisions, split_of, sample_rate, found)


def prepare_vctk(root: str | os.PathLike, out: str | os.PathLike, mic: str = "mic2",
                 sample_rate: int = SAMPLE_RATE, seed: int = 0) -> dict:
    """VCTK (0.80 with ``wav48/`` or 0.92 with ``wav48_silence_trimmed/``), plus ``txt/``
    and ``speaker-info.txt``. Splits: 8 % of speakers unseen, 2 % dev, 2 % test_seen."""
    from lhotse.recipes import prepare_vctk as lhotse_prepare

    root = _check_root(root, "VCTK")
    edinburgh = (root / "wav48_silence_trimmed").is_dir()
    needed = ["txt", "speaker-info.txt", "wav48_silence_trimmed" if edinburgh else "wav48"]
    missing = [n for n in needed if not (root / n).exists()]
    if missing:
        raise DataError(f"'{root}' is not a VCTK folder: {', '.join(missing)} missing "
                        "(expected txt/, speaker-info.txt and wav48/ or wav48_silence_trimmed/).")
    try:
        m = lhotse_prepare(root, use_edinburgh_vctk_url=edinburgh, mic_id=mic)
    except KeyError as err:
        raise DataError(f"VCTK transcript {err} has no matching audio in '{root}'.") from err
    supervisions = list(m["supervisions"])
    split_of = assign_splits(((s.id, s.speaker) for s in supervisions), dev=0.02, test_seen=0.02,
                             unseen_speakers=0.08, seed=seed)
    found = len(list((root / "txt").rglob("*.txt")))
    return write_splits(Path(out), list(m["recordings"]), supervisions, split_of, sample_rate, found)
