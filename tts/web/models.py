"""The models the page offers, and the cache that loads each of them once.

The list is `tts models`' (shipped models, then checkpoint folders under ``--model-dir``),
keeping the text-to-speech families a backend can run. The page only ever loads a model
from this list: a name a client sends that is not on it is refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import BACKENDS, backend_class
from ..catalog import find_models
from ..checkpoint import CheckpointError, read_checkpoint
from ..errors import TTSError
from ..synthesizer import Synthesizer


@dataclass(frozen=True)
class WebModel:
    """One model of the page's dropdowns.

    Attributes:
        ref: what :meth:`tts.Synthesizer.from_pretrained` takes: a shipped name or a folder.
        name: the folder's name, shown in the page.
        family: ``flow``, ``valle`` or ``maskgct`` (its options are in :mod:`tts.options`).
        can_edit: whether it does speech editing.
        path: its checkpoint folder.
        options: its own option defaults (model.yaml ``options``), which its widgets show.
    """

    ref: str
    name: str
    family: str
    can_edit: bool
    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)

    def named(self, ref: str | None) -> bool:
        """Whether ``ref`` names this model: its ref, its name or its folder."""
        if not isinstance(ref, str) or not ref:
            return False
        if ref in (self.ref, self.name):
            return True
        try:
            return Path(ref).resolve() == self.path.resolve()
        except (OSError, ValueError):  # a name no file system takes (a NUL byte...)
            return False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.family})"


def web_models(dirs: list[str] | tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> list[WebModel]:
    """The text-to-speech models of `tts models` (``dirs`` as its ``--dir``), then those of
    ``extra`` (shipped names or folders, e.g. the page's ``--model``) not listed yet.

    Raises:
        CheckpointError: a model of ``extra`` that does not exist (the message lists the shipped ones).
    """
    models: list[WebModel] = []
    for row in find_models(dirs):
        if row["family"] in BACKENDS:
            ref = row["name"] if row["origin"] == "shipped" else row["path"]
            models.append(WebModel(ref, row["name"], row["family"], backend_class(row["family"]).can_edit,
                                   Path(row["path"]), _own_options(row["path"])))
    for ref in extra:
        if any(m.named(ref) for m in models):
            continue
        info = read_checkpoint(ref, verify=False)
        models.append(WebModel(str(ref), info.path.name, info.family, backend_class(info.family).can_edit, info.path,
                               info.options))
    return models


def _own_options(path: str) -> dict[str, Any]:
    """A listed folder's own option defaults; none if its model.yaml cannot be read: the
    page still lists it, and loading it shows the folder's error."""
    try:
        return read_checkpoint(path, verify=False).options
    except CheckpointError:
        return {}


class ModelCache:
    """Loads each model once and keeps it; one synthesis at a time per model.

    Args:
        device: ``cpu``, ``cuda`` or None (CUDA when available), as ``--device``.
    """

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self._loading = threading.Lock()
        self._models: dict[str, tuple[object, threading.Lock, float]] = {}

    def get(self, ref: str):
        """``(synthesizer, lock, load seconds)``: the loaded model, the lock to hold while
        it synthesizes, and how long it took to load (0.0 once cached)."""
        with self._loading:
            if ref in self._models:
                synth, lock, _ = self._models[ref]
                return synth, lock, 0.0
            t0 = time.perf_counter()
            synth = Synthesizer.from_pretrained(ref, device=self.device)
            seconds = time.perf_counter() - t0
            self._models[ref] = (synth, threading.Lock(), seconds)
            return synth, self._models[ref][1], seconds

    def loaded(self) -> list[str]:
        """The refs of the models loaded so far."""
        with self._loading:
            return list(self._models)


def pick(models: list[WebModel], ref: str | None, editing: bool = False) -> WebModel:
    """The model of the list that ``ref`` names.

    Raises:
        TTSError: not on the list (or, for editing, a model that cannot edit).
    """
    for model in models:
        if model.named(ref) and (model.can_edit or not editing):
            return model
    offered = ", ".join(m.name for m in models if m.can_edit or not editing) or "none"
    raise TTSError(f"Pick a model from the list ({offered}); the page loads no other.")
