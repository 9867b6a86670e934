"""User-facing errors of the evaluation suite.

They extend :class:`tts.errors.TTSError`, so the CLI prints their message (which
names the problem and the fix) and exits with status 2 instead of a traceback.
"""

from __future__ import annotations

from ..errors import TTSError


class EvalError(TTSError, ValueError):
    """An evaluation input (text, audio, option) cannot be used."""


class EvalDependencyError(EvalError, ImportError):
    """A package of the ``[eval]`` extra is not installed."""


class ModelFolderError(EvalError, FileNotFoundError):
    """An evaluation model (Whisper, ECAPA, WavLM) is missing or its folder is invalid."""


class ManifestError(EvalError):
    """A line of an evaluation manifest is malformed or points at a missing file."""


def require(module: str, package: str | None = None):
    """Import ``module`` or raise :class:`EvalDependencyError` with the install command.

    Args:
        module: dotted module name, e.g. ``"faster_whisper"``.
        package: its PyPI name when it differs from the module name.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        name = package or module.split(".")[0]
        raise EvalDependencyError(
            f"The evaluation suite needs the package '{name}', which is not installed ({err}). "
            f"Install the eval extra: pip install 'zeroshot-tts[eval]' (or: pip install {name})."
        ) from err
