"""`tts train RECIPE --config X.yaml [LightningCLI args]` and `tts export`: the launcher of the recipes.

This is the one module of ``tts`` that imports ``recipes`` (and so Lightning), and only
when one of its two commands runs; ``tests/test_layout.py`` checks it. The arguments
after the recipe go to the recipe's LightningCLI (``recipes/cli.py``): ``--trainer.*``,
``--model.*``, ``--data.*``, plus ``--ckpt_path`` (resume, ``last``), ``--export_dir``
and ``--overwrite``. ``--config`` takes a YAML path or a shipped config name (``tiny``,
``official_24khz``).
"""

from __future__ import annotations

import argparse

from ..checkpoint import STORAGE_DTYPES
from ..errors import TTSError
from . import console

# The recipes of recipes/registry.py (a test keeps the two equal): listed here so that
# `tts --help` does not import the recipes.
RECIPES = ("vocos", "melrvq", "valle", "maskgct", "flow", "aligner")


def register(sub) -> None:
    t = sub.add_parser(
        "train", help="train a model with a Lightning recipe",
        description="Train with a recipe's LightningCLI. Example: tts train vocos --config tiny "
                    "--data.data_dir corpora/tinyvoices --export_dir checkpoints/tiny-vocos  "
                    "(resume after a kill: add --ckpt_path last). `tts train RECIPE --help` lists every option.",
    )
    t.add_argument("recipe", choices=RECIPES)
    t.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    t.set_defaults(func=run)

    e = sub.add_parser(
        "export", help="export a Lightning checkpoint of a recipe as a model folder",
        description="Turn a training checkpoint (e.g. RUN/checkpoints/last.ckpt, also of a run that was "
                    "stopped) into a model folder that `tts synth`, `tts eval` and the Python API load. "
                    "Example: tts export flow runs/flow-tiny/checkpoints/last.ckpt -o my-flow",
    )
    e.add_argument("recipe", choices=RECIPES)
    e.add_argument("checkpoint", help="a Lightning .ckpt file written by `tts train RECIPE`")
    e.add_argument("-o", "--out", required=True, help="model folder to write")
    e.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    e.add_argument("--data", help="training data folder, for the model card")
    e.add_argument("--command", help="the training command, for the model card")
    e.add_argument("--dtype", choices=STORAGE_DTYPES, default="float32",
                   help="storage precision of the weights (every recipe but vocos): float16 halves the folder; "
                        "they are computed in float32 after loading")
    e.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="a synthesis option's default for this model (e.g. --option steps=10; repeat for more), "
                        "stored in model.yaml: runs use it unless they give the flag")
    e.set_defaults(func=run_export)


def _recipes(module: str):
    """``recipes.<module>``. The recipes live in the source checkout, not in the wheel (pyproject
    ships the model packages and ``tts``), so a checkout that is not on the path is put there."""
    import importlib
    import sys
    from pathlib import Path

    try:
        return importlib.import_module(f"recipes.{module}")
    except ModuleNotFoundError as err:
        if err.name not in ("recipes", f"recipes.{module}"):
            raise
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "recipes" / "cli.py").is_file():
        raise TTSError("The training recipes are not installed: they live in the source checkout "
                       "(recipes/); install the toolkit from a checkout with `pip install -e .[train]`.")
    sys.path.insert(0, str(checkout))
    return importlib.import_module(f"recipes.{module}")


def run(args: argparse.Namespace) -> int:
    train = _recipes("cli").train  # Lightning is imported only now
    result = train(args.recipe, args.rest)
    con = console()
    con.print(f"trained {args.recipe}: global step {result['global_step']}")
    if result["last"]:
        con.print(f"last checkpoint: {result['last']}  (resume with --ckpt_path last)")
    if result["export_dir"]:
        con.print(f"exported to {result['export_dir']}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    facts = {k: v for k, v in (("data_dir", args.data), ("command", args.command)) if v}
    options = {}
    for item in args.option:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise TTSError(f"--option takes NAME=VALUE (e.g. --option steps=10), got {item!r}.")
        options[name.strip().lstrip("-").replace("-", "_")] = value.strip()
    out = _recipes("export").export_from_checkpoint(args.recipe, args.checkpoint, args.out, overwrite=args.overwrite,
                                                    dtype=args.dtype, options=options, **facts)
    console().print(f"exported {args.recipe} checkpoint {args.checkpoint} to {out}")
    return 0
