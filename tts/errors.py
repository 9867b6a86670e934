"""User-facing errors of the ``tts`` package.

Every error a user can cause (a bad path, a silent prompt, an unknown model) is a
:class:`TTSError` whose message names the problem *and* the fix. The CLI prints
the message and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class TTSError(Exception):
    """Base class of user-facing errors."""


class AudioError(TTSError, ValueError):
    """An audio file or waveform cannot be used."""


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The audio path does not exist."""


class NotAudioError(AudioError):
    """The file exists but is not audio that can be decoded."""


class SilentAudioError(AudioError):
    """The audio is empty or silent throughout."""


class PromptTooShortError(AudioError):
    """A voice prompt is shorter than the minimum (after trimming silence)."""


class OutputPathError(TTSError, ValueError):
    """An output path points into a missing folder, or at a file that exists."""
