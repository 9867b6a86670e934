"""The user-facing layer: ``Synthesizer``, audio I/O, the ``tts`` command, evaluation.

Nothing heavy is imported here: ``import tts`` is instant, and names are loaded on
first use (``tts.Synthesizer``, ``tts.Audio``, ``tts.load_audio``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Synthesizer": ("tts.synthesizer", "Synthesizer"),
    "Audio": ("tts.audio", "Audio"),
    "load_audio": ("tts.audio", "load"),
    "load_prompt": ("tts.audio", "load_prompt"),
    "save_audio": ("tts.audio", "save"),
    "TTSError": ("tts.errors", "TTSError"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'tts' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
