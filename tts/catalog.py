"""The models a user can pick: the shipped ones and the checkpoint folders under given folders.

`tts models` prints them; `tts web` offers them.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .checkpoint import shipped_models
from .options import as_flags


def _card_steps(path: Path) -> str:
    """The step count in a model card's facts table (``| steps | 7200 (6000 + 1200 ...) |``), or ""."""
    card = path / "README.md"
    if not card.is_file():
        return ""
    found = re.search(r"^\| (?:batches|steps) \| (\d+)\b", card.read_text(encoding="utf-8"), re.M)
    return found.group(1) if found else ""


def describe(path: Path) -> dict:
    """One model folder as `tts models` lists it: ``name``, ``path``, ``size``, ``family`` (``?``
    when unknown; ``vocos`` for the official Vocos layout), ``steps`` and ``options`` (its own
    option defaults, as flags)."""
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    row = {"name": path.name, "path": str(path), "size": f"{size:.1f} MiB", "family": "?", "steps": "",
           "options": ""}
    if (path / "model.yaml").is_file():
        doc = yaml.safe_load((path / "model.yaml").read_text(encoding="utf-8")) or {}
        row["family"] = doc.get("family", "?")
        training = doc.get("training") or {}
        row["steps"] = str(training.get("steps", ""))
        if training.get("init_from"):
            # A fine-tuning's model.yaml counts its own run's steps; the card counts the whole lineage.
            row["steps"] = _card_steps(path) or row["steps"]
        own = doc.get("options")
        if isinstance(own, dict):  # the model's own option defaults, as flags
            row["options"] = as_flags({str(k): v for k, v in own.items()})
    elif (path / "config.yaml").is_file():
        row["family"] = "vocos"
        # The official Vocos layout has no place for training facts; our export puts
        # them in the card's facts table ("| batches | 3000 |").
        row["steps"] = _card_steps(path)
    return row


def find_models(dirs: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """One row per shipped model, then per checkpoint folder under each of ``dirs``:
    ``name``, ``path``, ``family`` (``?`` when unknown), ``size``, ``steps``, ``options``
    (the model's own option defaults, as flags), ``origin`` (``shipped`` or ``local``).
    `tts models` prints them; `tts web` offers them."""
    rows = [dict(describe(p), origin="shipped") for p in shipped_models().values()]
    for folder in dirs:
        for p in sorted(Path(folder).glob("*")):
            if (p / "model.yaml").is_file() or (p / "config.yaml").is_file():
                rows.append(dict(describe(p), origin="local"))
    return rows
