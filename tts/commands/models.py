"""`tts models`: list shipped and local models, or show one model's card."""

from __future__ import annotations

import argparse
import os

from ..catalog import describe, find_models
from . import console


def register(sub) -> None:
    m = sub.add_parser("models", help="list shipped and local models, or show a model card")
    m.add_argument("name", nargs="?", help="show this model's card (shipped name or folder)")
    m.add_argument("--dir", action="append", default=[], help="also list checkpoint folders under this folder")
    m.set_defaults(func=run)


def _short(path: str) -> str:
    """``path`` relative to the working folder when it lies under it (shorter to read and type)."""
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
        own = describe(path)["options"]
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
