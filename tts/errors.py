"""User-facing errors of the ``tts`` package.

Every error a user can cause (a bad path, a silent prompt, an unknown model) is a
:class:`TTSError` whose message names the problem *and* the fix. The CLI prints
the message and exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations

import sys


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


class InputError(TTSError, ValueError):
    """An argument a caller gave cannot be used: a seed, a batch size, a device, a text
    file, a prompt transcript, or a pair of transcripts to edit."""


class WebInputError(TTSError, ValueError):
    """An input of the web page (`tts web`) it does not take: no upload, a file that was
    not uploaded through the page, an upload or a text over the page's limits."""


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` is a mistake a user can fix (its message says how), not a bug: a
    :class:`TTSError` or the text front-end's ``FrontendError``. The CLI prints it as one
    line (exit status 2); the web page shows it as one line."""
    if isinstance(err, TTSError):
        return True
    frontend_errors = sys.modules.get("text_frontend.errors")  # only loaded if the front-end ran
    return frontend_errors is not None and isinstance(err, frontend_errors.FrontendError)
