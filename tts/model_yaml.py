"""Edit a checkpoint folder's ``model.yaml`` in place: the model's own option defaults and the
languages of its training speech (``tts export`` writes both after saving the folder).

    set_option_defaults("my-flow", {"cfg_audio": 0.5})
    set_languages("my-flow", ["en", "fr"])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .checkpoint import MODEL_FILE, CheckpointError, checked_languages, read_checkpoint
from .files import file_mode
from .options import FAMILY_OPTIONS, check_options


def set_option_defaults(directory: str | os.PathLike, options: dict[str, Any]) -> dict[str, Any]:
    """Write ``options`` as the model's own option defaults (``model.yaml`` ``options``; an
    empty dict removes them), checked first; the rest of ``model.yaml`` is kept as it is.

    Returns the checked options as stored.

    Raises:
        CheckpointError: not a checkpoint folder, or a family without synthesis options.
        OptionError: an option the family does not take, or a value out of range.
    """
    info = read_checkpoint(directory, verify=False)
    if info.family not in FAMILY_OPTIONS:
        raise CheckpointError(f"'{info.path}' is a {info.family!r} model, which has no synthesis options to set.")
    checked = check_options(info.family, options, model=info.path.name)
    # YAML has lists, not tuples (s2a_steps: [8, 2, 1])
    _set_entry(info.path, "options", {k: list(v) if isinstance(v, tuple) else v for k, v in checked.items()} or None)
    return checked


def set_languages(directory: str | os.PathLike, languages: list[str]) -> None:
    """Write ``languages`` (espeak-ng codes of the training speech, e.g. ``["en", "fr"]``) as
    ``model.yaml`` ``languages``; the rest of ``model.yaml`` is kept as it is.

    Raises:
        CheckpointError: not a checkpoint folder, or an empty or malformed list.
    """
    info = read_checkpoint(directory, verify=False)
    _set_entry(info.path, "languages", list(checked_languages(list(languages), info.path / MODEL_FILE)))


def _set_entry(folder: Path, key: str, value: Any) -> None:
    """Set (``None``: remove) one top-level entry of ``folder``'s ``model.yaml``."""
    manifest = folder / MODEL_FILE
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc.pop(key, None)
    if value is not None:
        doc[key] = value
    tmp = manifest.with_name(f".{MODEL_FILE}.tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    os.chmod(tmp, file_mode())
    os.replace(tmp, manifest)  # atomic: a reader sees the old or the new file, never half of one
