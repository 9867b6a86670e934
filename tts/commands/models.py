"""`tts models`: list shipped and local models, or show one model's card."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from . import console


def register(sub) -> None:
    m = sub.add_parser("models", help="list shipped and local models, or show a model card")
    m.add_argument("name", nargs="?", help="show this model's card (shipped name or folder)")
    m.add_argument("--dir", action="append", default=[], help="also list checkpoint folders under this folder")
    m.set_defaults(func=run)


def _card_steps(path: Path) -> str:
    """The step count in a model card's facts table (``| steps | 7200 (6000 + 1200 ...) |``), or ""."""
    card = path / "README.md"
    if not card.is_file():
        return ""
    found = re.search(r"^\| (?:batches|steps) \| (\d+)\b", card.read_text(encoding="utf-8"), re.M)
    return found.group(1) if found else ""


def _describe(path: Path) -> dict:
    import yaml

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
            from ..options import as_flags

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
    from ..checkpoint import shipped_models

    rows = [dict(_describe(p), origin="shipped") for p in shipped_models().values()]
    for folder in dirs:
        for p in sorted(Path(folder).glob("*")):
            if (p / "model.yaml").is_file() or (p / "config.yaml").is_file():
                rows.append(dict(_describe(p), origin="local"))
    return rows


def _short(path: str) -> str:
    """``path`` relative to the working folder when it lies under it (shorter to read and type)."""
    import os

    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def run(args: argparse.Namespace) -> int:
    from rich import box
    from rich.markdown import Markdown
    from rich.table import Table

    from ..checkpoint import resolve
    from ..validation import check_model_dirs

    con = console()
    if args.name:
        path = resolve(args.name)
        own = _describe(path)["options"]
        if own:
            con.print(f"default options of {path.name}: {own} (model.yaml; flags given to a run override them)")
        card = path / "README.md"
        con.print(Markdown(card.read_text(encoding="utf-8")) if card.is_file() else f"{path}: no model card")
        return 0
    check_model_dirs(args.dir, "--dir")
    rows = find_models(args.dir)
    if not rows:
        con.print("No models are shipped in this checkout yet, and no --dir was given.")
        return 0
    table = Table(title="Models", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    # Names, families, sizes and steps whole on any terminal (a name is what a user types
    # next); the options and the path wrap instead.
    for col in ("name", "family", "size", "steps"):
        table.add_column(col, no_wrap=True, min_width=max(len(r[col]) for r in rows))
    for col in ("default options", "origin", "path"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["family"], r["size"], r["steps"], r["options"], r["origin"], _short(r["path"]))
    con.print(table)
    return 0
