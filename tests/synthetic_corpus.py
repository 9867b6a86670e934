"""A tiny synthetic corpus in the prepared-corpus layout, for the codec and vocoder tests.

Speech-like test signals without any model: a gliding harmonic tone (a "voice" with a
pitch contour and a few formant-like harmonics), syllable-rate amplitude envelopes
and a little noise, at 24 kHz mono, plus the lhotse manifests the recipes read
(``cuts_train.jsonl.gz``, ``cuts_dev.jsonl.gz``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 24000


def voice_like(seconds: float, seed: int, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A deterministic speech-like signal ``[T]`` float32, peak 0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = rng.uniform(90, 220) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(rng.uniform(0.2, 1.0) / k * np.sin(k * phase) for k in range(1, 9))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * rng.uniform(3, 5) * t))  # ~4 syllables/s
    x = x * syllables + 0.01 * rng.standard_normal(t.size)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def make_corpus(root: str | Path, n_train: int = 6, n_dev: int = 2, seconds: float = 1.5) -> Path:
    """Write wavs and ``cuts_{train,dev}.jsonl.gz`` under ``root``; return ``root``."""
    from lhotse import CutSet, Recording, RecordingSet

    root = Path(root)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    for split, n, offset in (("train", n_train, 0), ("dev", n_dev, 1000)):
        recordings = []
        for i in range(n):
            path = root / "wav" / f"{split}_{i:03d}.wav"
            sf.write(path, voice_like(seconds + 0.25 * (i % 3), seed=offset + i), SAMPLE_RATE)
            recordings.append(Recording.from_file(path, recording_id=f"{split}_{i:03d}"))
        CutSet.from_manifests(recordings=RecordingSet.from_recordings(recordings)).to_file(
            root / f"cuts_{split}.jsonl.gz")
    return root
