"""`tts models`: list shipped and local models, or show one model's card."""

from __future__ import annotations

import argparse

from ..catalog import describe, find_models
from . import console


def register(sub) -> None:
    m = sub.add_parser("models", help="list shipped and local models, or show a model card")
    m.add_argument("name", nargs="?", help="show this model's card (shipped name or folder)")
    m.add_argument("--dir", action="append", default=[], help="also list checkpoint folders under this folder")
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.markdown import Markdown
    from rich.table import Table

    from ..checkpoint import resolve

    con = console()
    if args.name:
        path = resolve(args.name)
        own = describe(path)["options"]
        if own:
            con.print(f"default options of {path.name}: {own} (model.yaml; flags given to a run override them)")
        card = path / "README.md"
        con.print(Markdown(card.read_text(encoding="utf-8")) if card.is_file() else f"{path}: no model card")
        return 0
    rows = find_models(args.dir)
    if not rows:
        con.print("No models are shipped in this checkout yet, and no --dir was given.")
        return 0
    table = Table(title="Models")
    for col in ("name", "family", "size", "steps", "default options", "origin", "path"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["family"], r["size"], r["steps"], r["options"], r["origin"], r["path"])
    con.print(table)
    return 0
