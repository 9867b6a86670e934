"""Turn what a caller has (a path, an :class:`~tts.audio.Audio`, a tensor or an array)
into the mono ``float32`` numpy waveform at the rate an evaluation model expects.

Every metric model of the suite (Whisper, Resemblyzer, ECAPA, WavLM, DNSMOS) runs
at 16 kHz, so the evaluator loads each file once at that rate and hands the array
to all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import torch

from ..audio import Audio, load, resample
from .errors import EvalError

EVAL_SAMPLE_RATE = 16000

AudioLike = Union[str, os.PathLike, Audio, torch.Tensor, np.ndarray]


def is_path(audio: object) -> bool:
    return isinstance(audio, (str, os.PathLike))


def describe(audio: object) -> str:
    """A short name of an input for error messages: the path, or its type and shape."""
    if is_path(audio):
        return f"'{audio}'"
    if isinstance(audio, Audio):
        return f"Audio({audio.duration:.2f} s at {audio.sample_rate} Hz)"
    shape = tuple(getattr(audio, "shape", ()))
    return f"{type(audio).__name__}{list(shape)}"


def to_mono_numpy(audio: AudioLike, sample_rate: int | None, target_sr: int = EVAL_SAMPLE_RATE) -> np.ndarray:
    """Return ``audio`` as a mono ``float32`` array ``[T]`` at ``target_sr``.

    Args:
        audio: a file path, an ``Audio``, or a waveform ``[T]`` / ``[1, T]``
            (tensor or array).
        sample_rate: the rate of a raw waveform; ignored for paths and ``Audio``
            (they carry their own).
        target_sr: the rate to resample to.

    Returns:
        ``float32`` array ``[T']``.

    Raises:
        EvalError: a raw waveform without ``sample_rate``, a multi-channel or empty
            waveform, or non-finite samples.
        AudioError: a path that cannot be read (see :func:`tts.audio.load`).
    """
    if is_path(audio):
        wav = load(Path(audio), target_sr).wav
    elif isinstance(audio, Audio):
        wav = resample(audio.wav.detach().float().cpu().reshape(-1), audio.sample_rate, target_sr)
    elif isinstance(audio, (torch.Tensor, np.ndarray)):
        if sample_rate is None:
            raise EvalError(
                f"A raw waveform {describe(audio)} was given without its sample rate: pass "
                "sample_rate=..., or give an Audio object or a file path instead."
            )
        wav = torch.as_tensor(audio).detach().cpu().float()
        if wav.dim() == 2 and 1 in wav.shape:
            wav = wav.reshape(-1)
        if wav.dim() != 1:
            raise EvalError(
                f"Expected a mono waveform [T] or [1, T], got shape {list(wav.shape)}: "
                "average the channels first (wav.mean(0))."
            )
        wav = resample(wav, int(sample_rate), target_sr)
    else:
        raise EvalError(
            f"Cannot evaluate {type(audio).__name__}: give a file path, a tts.audio.Audio, "
            "or a waveform tensor/array with its sample_rate."
        )
    if wav.numel() == 0:
        raise EvalError(f"The audio {describe(audio)} is empty: there is nothing to evaluate.")
    if not torch.isfinite(wav).all():
        raise EvalError(f"The audio {describe(audio)} contains NaN or infinite samples: the generator diverged.")
    return np.ascontiguousarray(wav.numpy(), dtype=np.float32)
