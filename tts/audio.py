"""Audio I/O and clean-up: load, resample, trim silence, normalize loudness, save.

Waveforms are ``float32`` tensors ``[T]`` (mono) in ``[-1, 1]``. Files are read and
written with ``soundfile`` (libsndfile: wav, flac, ogg/vorbis, mp3), resampling is
``torchaudio.functional.resample`` (windowed sinc), loudness is ITU-R BS.1770
(``torchaudio.functional.loudness``). Every failure is an :class:`AudioError` that
names the file and what to do about it.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .errors import (
    AudioError,
    AudioFileNotFoundError,
    NotAudioError,
    OutputPathError,
    PromptTooShortError,
    SilentAudioError,
)
from .files import file_mode
from .validation import check_writable_folder

READABLE = ("wav", "flac", "ogg", "mp3", "aiff", "aif", "au", "caf", "w64", "rf64")
WRITABLE = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3"}
SILENCE_DBFS = -60.0  # a file whose peak is below this is treated as silent
PROMPT_MIN_SECONDS = 1.0
PROMPT_MAX_SECONDS = 15.0
TARGET_LUFS = -20.0


@dataclass
class Audio:
    """A mono waveform and its sample rate.

    Attributes:
        wav: ``float32`` tensor ``[T]``.
        sample_rate: samples per second.
    """

    wav: torch.Tensor
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.wav.shape[-1] / self.sample_rate

    def numpy(self) -> np.ndarray:
        return self.wav.detach().cpu().float().numpy()

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write to ``path`` (format from the suffix); see :func:`save`."""
        return save(path, self.wav, self.sample_rate, overwrite=overwrite)


class Prompt(Audio):
    """An :class:`Audio` prepared as a voice prompt (:func:`prepare_prompt`: mono, silence
    trimmed, at the loudness target): the Synthesizer uses it as it is, not prepared again."""


def _describe(path: Path) -> str:
    return f"'{path}'"


def load(path: str | os.PathLike, sample_rate: int | None = None) -> Audio:
    """Read an audio file as mono ``float32``, resampled to ``sample_rate`` if given.

    Multi-channel audio is averaged to mono.

    Raises:
        AudioFileNotFoundError: the path does not exist (or is a folder).
        AudioError: the file cannot be read (no permission).
        NotAudioError: the file cannot be decoded as audio.
        SilentAudioError: the file holds no samples.
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileNotFoundError(f"Audio file {_describe(path)} does not exist: check the path.")
    if path.is_dir():
        raise AudioFileNotFoundError(f"{_describe(path)} is a folder, not an audio file: give the path of a file.")
    if not os.access(path, os.R_OK):  # libsndfile would call it "not audio"
        raise AudioError(f"Audio file {_describe(path)} cannot be read: you have no permission to read it. "
                         "Make it readable (chmod u+r) or copy it somewhere you can read.")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise NotAudioError(
            f"{_describe(path)} is not audio this toolkit can read ({err}). Supported: "
            f"{', '.join(READABLE)}; convert other formats first, e.g. `ffmpeg -i in.m4a out.wav`."
        ) from err
    if data.shape[0] == 0:
        raise SilentAudioError(f"{_describe(path)} holds no audio samples (it is empty): record or pick another file.")
    wav = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
    if not torch.isfinite(wav).all():
        raise NotAudioError(f"{_describe(path)} contains NaN or infinite samples: the file is corrupt.")
    audio = Audio(wav, int(sr))
    if sample_rate is not None and sample_rate != sr:
        audio = Audio(resample(wav, int(sr), sample_rate), sample_rate)
    return audio


def resample(wav: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling of ``wav`` ``[..., T]`` from ``orig_sr`` to ``new_sr``."""
    if orig_sr <= 0 or new_sr <= 0:
        raise AudioError(f"Sample rates must be positive, got {orig_sr} -> {new_sr}.")
    if orig_sr == new_sr:
        return wav
    import torchaudio.functional as AF

    return AF.resample(wav, orig_sr, new_sr)


def peak_dbfs(wav: torch.Tensor) -> float:
    """Peak level in dB relative to full scale (``-inf`` for digital silence)."""
    peak = wav.abs().max().item() if wav.numel() else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def is_silent(wav: torch.Tensor, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    return peak_dbfs(wav) < threshold_dbfs


def _frame_db(wav: torch.Tensor, frame: int, hop: int) -> torch.Tensor:
    if wav.numel() < frame:
        wav = torch.nn.functional.pad(wav, (0, frame - wav.numel()))
    frames = wav.unfold(-1, frame, hop)
    rms = frames.pow(2).mean(-1).clamp_min(1e-12).sqrt()
    return 20 * torch.log10(rms)


def trim_silence(
    wav: torch.Tensor, sample_rate: int, top_db: float = 40.0, pad_seconds: float = 0.05
) -> torch.Tensor:
    """Cut leading and trailing silence.

    A 25 ms frame is silent when its RMS is more than ``top_db`` below the loudest
    frame (or below -60 dBFS). ``pad_seconds`` of context is kept on each side so
    that soft onsets and releases survive.

    Args:
        wav: ``[T]`` waveform.

    Returns:
        The trimmed ``[T']`` waveform (empty if everything is silent).
    """
    frame = max(1, int(0.025 * sample_rate))
    hop = max(1, int(0.010 * sample_rate))
    db = _frame_db(wav, frame, hop)
    threshold = max(db.max().item() - top_db, SILENCE_DBFS)
    loud = torch.nonzero(db > threshold).flatten()
    if loud.numel() == 0:
        return wav[:0]
    pad = int(pad_seconds * sample_rate)
    start = max(0, loud[0].item() * hop - pad)
    end = min(wav.numel(), loud[-1].item() * hop + frame + pad)
    return wav[start:end]


def loudness(wav: torch.Tensor, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770); RMS-based for clips under 0.4 s."""
    if wav.numel() >= int(0.4 * sample_rate):
        import torchaudio.functional as AF

        value = AF.loudness(wav.reshape(1, -1), sample_rate).item()
        if math.isfinite(value):
            return value
    rms = wav.pow(2).mean().sqrt().item() if wav.numel() else 0.0
    # -0.691 dB is BS.1770's offset; without K-weighting this is an estimate.
    return 20 * math.log10(rms) - 0.691 if rms > 0 else -math.inf


def normalize_loudness(
    wav: torch.Tensor, sample_rate: int, target_lufs: float = TARGET_LUFS, peak_limit: float = 0.99
) -> torch.Tensor:
    """Scale ``wav`` to ``target_lufs``, then down again if its peak would exceed ``peak_limit``."""
    current = loudness(wav, sample_rate)
    if not math.isfinite(current):
        return wav
    out = wav * (10 ** ((target_lufs - current) / 20))
    peak = out.abs().max().item()
    if peak > peak_limit:
        out = out * (peak_limit / peak)
    return out


def _quiet_cut(wav: torch.Tensor, sample_rate: int, max_samples: int, search_seconds: float = 2.0) -> int:
    """Index at or before ``max_samples`` where the signal is quietest (a pause, not a word)."""
    lo = max(0, max_samples - int(search_seconds * sample_rate))
    frame = max(1, int(0.02 * sample_rate))
    window = wav[lo:max_samples]
    if window.numel() < frame:
        return max_samples
    db = _frame_db(window, frame, frame)
    return lo + int(torch.argmin(db).item()) * frame + frame // 2


def load_prompt(
    path: str | os.PathLike,
    sample_rate: int,
    min_seconds: float = PROMPT_MIN_SECONDS,
    max_seconds: float = PROMPT_MAX_SECONDS,
    target_lufs: float | None = TARGET_LUFS,
) -> Prompt:
    """Load a voice prompt from a file and prepare it (see :func:`prepare_prompt`).

    Raises:
        AudioFileNotFoundError, NotAudioError: see :func:`load`.
        SilentAudioError, PromptTooShortError: see :func:`prepare_prompt`.
    """
    return prepare_prompt(load(path, sample_rate), sample_rate, min_seconds, max_seconds, target_lufs,
                          name=f"'{path}'")


def prepare_prompt(
    audio: Audio,
    sample_rate: int,
    min_seconds: float = PROMPT_MIN_SECONDS,
    max_seconds: float = PROMPT_MAX_SECONDS,
    target_lufs: float | None = TARGET_LUFS,
    name: str = "The prompt",
) -> Prompt:
    """Make a voice prompt: mono at ``sample_rate``, silence trimmed, loudness normalized.

    A prompt longer than ``max_seconds`` (after trimming) is cut at the quietest
    point of its last two seconds before the limit, with a warning: a transcript
    given for the whole file no longer matches the kept part.

    Raises:
        SilentAudioError: the recording is silent.
        PromptTooShortError: less than ``min_seconds`` of sound remains.
    """
    wav = audio.wav.reshape(-1).float()
    if audio.sample_rate != sample_rate:
        wav = resample(wav, audio.sample_rate, sample_rate)
    label = name if name == "The prompt" else f"Prompt {name}"
    if is_silent(wav):
        raise SilentAudioError(
            f"{label} is silent (peak below {SILENCE_DBFS:.0f} dBFS): record the voice again or pick another file."
        )
    wav = trim_silence(wav, sample_rate)
    seconds = wav.numel() / sample_rate
    if seconds < min_seconds:
        raise PromptTooShortError(
            f"{label} has only {seconds:.2f} s of sound after trimming silence; at least "
            f"{min_seconds:g} s is needed (3-10 s of clean speech works best)."
        )
    if seconds > max_seconds:
        cut = _quiet_cut(wav, sample_rate, int(max_seconds * sample_rate))
        warnings.warn(
            f"{label} is {seconds:.1f} s long; only its first {cut / sample_rate:.1f} s are used "
            f"(limit {max_seconds:g} s). If you pass its transcript, give the words of that part only.",
            stacklevel=3,
        )
        wav = wav[:cut]
    if target_lufs is not None:
        wav = normalize_loudness(wav, sample_rate, target_lufs)
    return Prompt(wav.contiguous(), sample_rate)


def check_output_path(path: str | os.PathLike, overwrite: bool = False, flag: str = "overwrite=True") -> Path:
    """Validate a path to write audio to, before any expensive work is done.

    ``flag`` is how the caller's user allows overwriting (the CLI: ``--overwrite``),
    named in the message about an existing file.

    Raises:
        OutputPathError: unsupported suffix, a missing or read-only folder, or an
            existing file without ``overwrite``.
    """
    path = Path(path)
    if path.suffix.lower() not in WRITABLE:
        raise OutputPathError(
            f"Cannot write audio to '{path}': unknown format {path.suffix or '(no suffix)'!r}. "
            f"Use one of {', '.join(WRITABLE)}."
        )
    if path.is_dir():
        raise OutputPathError(f"'{path}' is a folder: give a file name such as '{path / 'out.wav'}'.")
    check_writable_folder(path.parent, f"'{path}'")
    if path.exists() and not overwrite:
        raise OutputPathError(f"'{path}' already exists: choose another name or pass {flag}.")
    return path


def save(path: str | os.PathLike, wav: torch.Tensor, sample_rate: int, overwrite: bool = False) -> Path:
    """Write a ``[T]`` waveform (16-bit PCM for wav/flac), atomically.

    The file is written next to its destination and renamed into place, so a crash
    never leaves a half-written file and an existing file is only replaced when
    ``overwrite`` is set.
    """
    path = check_output_path(path, overwrite)
    data = wav.detach().cpu().float().reshape(-1).numpy()
    if data.size == 0:
        raise AudioError(f"Refusing to write '{path}': the waveform is empty.")
    data = np.clip(data, -1.0, 1.0)
    fmt = WRITABLE[path.suffix.lower()]
    subtype = "PCM_16" if fmt in ("WAV", "FLAC") else None
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, data, sample_rate, format=fmt, subtype=subtype)
        os.chmod(tmp, file_mode())  # mkstemp made it 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _fade(n: int, device=None) -> torch.Tensor:
    """Equal-power fade-in curve of ``n`` samples (its flip is the matching fade-out)."""
    return torch.sin(torch.linspace(0, math.pi / 2, n, device=device)) ** 2 if n > 0 else torch.zeros(0)


def join(wavs: list[torch.Tensor], sample_rate: int, crossfade: float = 0.04) -> torch.Tensor:
    """Concatenate ``[T_i]`` waveforms, overlapping each seam by a ``crossfade``-second fade."""
    if not wavs:
        raise AudioError("Nothing to join: no waveforms were given.")
    out = wavs[0]
    for w in wavs[1:]:
        n = min(int(crossfade * sample_rate), out.numel(), w.numel())
        fade_in = _fade(n, out.device)
        mixed = out[out.numel() - n:] * (1 - fade_in) + w[:n] * fade_in
        out = torch.cat([out[: out.numel() - n], mixed, w[n:]])
    return out


def splice(original: torch.Tensor, generated: torch.Tensor, start: int, end: int, gen_start: int, gen_end: int,
           sample_rate: int, crossfade: float = 0.02) -> torch.Tensor:
    """Replace ``original[start:end]`` by ``generated[gen_start:gen_end]``.

    ``generated`` is time-aligned with ``original`` before the span (``generated[:gen_start]``
    re-creates ``original[:start]``) and after it (``generated[gen_end:]`` re-creates
    ``original[end:]``), as a vocoder's output of an infilled mel is. The seams get
    ``crossfade``-second equal-power fades; every other sample of ``original`` is kept
    exactly.
    """
    f = int(crossfade * sample_rate)
    f1 = min(f, start, gen_start)
    f2 = min(f, original.numel() - end, generated.numel() - gen_end)
    fade = _fade(f1, original.device)
    head = original[: start - f1]
    seam1 = original[start - f1: start] * (1 - fade) + generated[gen_start - f1: gen_start] * fade
    fade = _fade(f2, original.device)
    seam2 = generated[gen_end: gen_end + f2] * (1 - fade) + original[end: end + f2] * fade
    return torch.cat([head, seam1, generated[gen_start:gen_end], seam2, original[end + f2:]])
