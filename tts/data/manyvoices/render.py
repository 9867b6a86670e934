"""Rendering one ManyVoices job into its 24 kHz FLAC, in a one-thread worker process.

Each worker keeps its own engines (an ONNX session is not shared across processes) and
builds them on first use; the finishing chain is TinyVoices' (:func:`..tinyvoices.engines.finish`):
trim, pad, -3 dBFS peak, 24 kHz mono 16-bit, renamed into place when complete.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

from ..tinyvoices.engines import change_voice, engine_wav, finish
from ..tinyvoices.voices import BaseVoice, Speaker
from . import neural, real
from .plan import Job
from .sources import ESPEAK_ACCENTS, ESPEAK_OTHER, REAL_PACKS

_ENGINES: dict = {}
_CLIPS: dict = {}


def init_worker() -> None:
    """One thread per worker: the build runs several workers instead."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _engine(name: str):
    if name not in _ENGINES:
        _ENGINES[name] = {"kokoro": neural.Kokoro, "hibari": neural.Hibari, "piper": neural.Piper}[name]()
    return _ENGINES[name]


def espeak_voice(name: str, language: str) -> str:
    """espeak-ng's ``-v`` argument for ``<accent or language>+<variant>``: the voice file with the
    variant (``gmw/en+m3``), since ``en-gb+m3`` would be plain ``en-gb``."""
    base, variant = name.split("+", 1)
    return f"{ESPEAK_ACCENTS.get(base) or ESPEAK_OTHER[base]}+{variant}"


def _clip_paths(pack_name: str) -> dict[str, Path]:
    if pack_name not in _CLIPS:
        _CLIPS[pack_name] = real.clip_files(next(p for p in REAL_PACKS if p.name == pack_name))
    return _CLIPS[pack_name]


def render(job: Job, out: Path) -> None:
    """Synthesize (or join the recordings of) ``job`` into ``out``.

    Raises:
        EngineError: an engine, Praat or sox failed.
    """
    v = job.voice
    with tempfile.TemporaryDirectory(prefix="manyvoices-") as tmp:
        work = Path(tmp)
        raw = work / "raw.wav"
        if v.engine in ("espeak", "flite", "festival"):
            name = espeak_voice(v.name, v.language) if v.engine == "espeak" else v.name
            engine_wav(Speaker(BaseVoice(v.engine, name), v.pitch, v.rate), job.text, raw, work)
        elif v.engine == "kokoro":
            neural.write_float_wav(raw, _engine("kokoro").render(job.text, v.mix, v.rate), neural.Kokoro.sample_rate)
        elif v.engine == "hibari":
            seed = zlib.crc32(job.id.encode())  # hibari's noise: the same job gives the same bits
            neural.write_float_wav(raw, _engine("hibari").render(job.text, v.rate, seed), neural.Hibari.sample_rate)
        elif v.engine == "piper":
            piper = _engine("piper")
            neural.write_float_wav(raw, piper.render(job.text, v.rate), piper.sample_rate)
        elif v.engine == "real":
            paths = _clip_paths(v.name)
            clips = [real.Clip(k, str(paths[k]), "", 0.0) for k in job.clips]
            real.render(clips, raw)
        else:
            raise neural.EngineError(f"Unknown engine {v.engine!r}.")
        if v.f0:
            changed = work / "changed.wav"
            change_voice(raw, changed, v.f0, v.formant)
            raw = changed
        if v.engine in ("flite", "festival"):
            finish(raw, out, v.pitch, v.rate)
        else:
            finish(raw, out)
