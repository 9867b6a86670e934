"""One LightningCLI launcher for every recipe: ``tts train RECIPE --config X.yaml [LightningCLI args]``.

    tts train vocos --config tiny --data.data_dir corpora/tinyvoices --export_dir checkpoints/tiny-vocos
    tts train vocos --config tiny --data.data_dir corpora/tinyvoices --ckpt_path last     # resume after a kill

``--config`` takes a YAML path or the name of a config shipped in
``recipes/<recipe>/configs/``. Besides the usual ``--trainer.*``, ``--model.*``,
``--data.*`` and ``--seed_everything``, the launcher adds:

- ``--ckpt_path``: a Lightning checkpoint to resume from, or ``last`` for the
  ``last.ckpt`` of this run's checkpoint folder (nothing to resume: start fresh).
- ``--export_dir``: after training, export the model there with ``recipes.export`` (the
  official Vocos layout for ``vocos``, a ``tts.checkpoint`` folder for the others);
  ``--overwrite`` replaces an existing export.

Checkpoints go to ``<trainer.default_root_dir>/checkpoints`` unless a ``ModelCheckpoint``
in the YAML names a ``dirpath``, so that ``--ckpt_path last`` finds them again.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tts.errors import TTSError

from .common import RecipeError
from .export import export
from .registry import RECIPES, load_spec

RECIPES_DIR = Path(__file__).resolve().parent


def shipped_configs(recipe: str) -> dict[str, Path]:
    """Config name -> YAML path of the configs in ``recipes/<recipe>/configs``."""
    folder = RECIPES_DIR / recipe / "configs"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def resolve_config(recipe: str, value: str) -> Path:
    """A YAML path, or a shipped config name (``tiny``) -> the YAML path."""
    path = Path(value)
    if path.is_file():
        return path
    shipped = shipped_configs(recipe)
    if value in shipped:
        return shipped[value]
    names = ", ".join(shipped) or "none"
    raise RecipeError(f"Config {value!r} is neither a YAML file nor a shipped {recipe} config ({names}).")


def _resolve_configs(recipe: str, argv: list[str]) -> list[str]:
    out, i, found = [], 0, False
    while i < len(argv):
        arg = argv[i]
        if arg == "--config":
            if i + 1 >= len(argv):
                raise RecipeError("--config needs a value: a YAML path or a shipped config name.")
            out += ["--config", str(resolve_config(recipe, argv[i + 1]))]
            i, found = i + 2, True
            continue
        if arg.startswith("--config="):
            out.append("--config=" + str(resolve_config(recipe, arg.split("=", 1)[1])))
            found = True
        else:
            out.append(arg)
        i += 1
    if not found and not {"-h", "--help", "--print_config"} & {a.split("=")[0] for a in argv}:
        raise RecipeError(f"Give a config: `tts train {recipe} --config NAME_OR_YAML` "
                          f"(shipped: {', '.join(shipped_configs(recipe)) or 'none'}).")
    return out


def _cli_class():
    import os

    # Lightning 2.6 calls jsonargparse APIs that jsonargparse 4.49+ deprecates: noise for users.
    os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")
    from lightning.pytorch.cli import LightningCLI

    class RecipeCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            parser.add_argument("--ckpt_path", type=Optional[str], default=None,
                                help="resume from this Lightning checkpoint, or 'last' (this run's last.ckpt)")
            parser.add_argument("--export_dir", type=Optional[str], default=None,
                                help="export the trained model to this folder after training")
            parser.add_argument("--overwrite", type=bool, default=False, help="replace an existing --export_dir")

    return RecipeCLI


def _check_export_dir(path: str | None, overwrite: bool) -> None:
    # Fail before hours of training, not after.
    if path and Path(path).exists() and any(Path(path).iterdir()) and not overwrite:
        raise RecipeError(f"--export_dir '{path}' exists and is not empty: pass --overwrite true or another folder.")


def _fix_checkpoint_dirs(trainer) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    for cb in trainer.callbacks:
        if isinstance(cb, ModelCheckpoint) and cb.dirpath is None:
            cb.dirpath = str(Path(trainer.default_root_dir) / "checkpoints")


def train(recipe: str, argv: Sequence[str] | None = None) -> dict:
    """Run ``fit`` for ``recipe`` with LightningCLI arguments ``argv``; export if asked.

    Returns:
        ``{"checkpoint_dir", "last", "export_dir", "global_step"}``.

    Raises:
        RecipeError: unknown recipe, missing config, export folder in the way.
    """
    if recipe not in RECIPES:
        raise RecipeError(f"No recipe {recipe!r}; available: {', '.join(RECIPES)}.")
    spec = RECIPES[recipe]
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _resolve_configs(recipe, argv)
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    saved_argv, sys.argv = sys.argv, sys.argv[:1]  # LightningCLI warns when args and sys.argv both hold options
    try:
        cli = _cli_class()(
            load_spec(spec.module), load_spec(spec.data), run=False, args=args,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"prog": f"tts train {recipe}", "description": f"Train the {recipe} recipe (LightningCLI)."},
        )
    except (MisconfigurationException, ValueError) as err:
        if isinstance(err, TTSError):  # our own messages already say what to do
            raise
        # Lightning's Trainer rejects settings this machine cannot run (fsdp or GPUs without a GPU...).
        raise RecipeError(f"The trainer settings cannot run here: {err}") from err
    finally:
        sys.argv = saved_argv
    cfg = cli.config
    _check_export_dir(cfg.export_dir, cfg.overwrite)
    _fix_checkpoint_dirs(cli.trainer)
    ckpt_path = cfg.ckpt_path
    if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry") and not Path(ckpt_path).is_file():
        raise RecipeError(f"--ckpt_path '{ckpt_path}' does not exist: give a .ckpt file or 'last'.")
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt_path)
    ckpt_dir = next((cb.dirpath for cb in cli.trainer.checkpoint_callbacks if cb.dirpath), None)
    result = {"checkpoint_dir": ckpt_dir, "last": None, "export_dir": None, "global_step": cli.trainer.global_step}
    if ckpt_dir and (Path(ckpt_dir) / "last.ckpt").is_file():
        result["last"] = str(Path(ckpt_dir) / "last.ckpt")
    if cfg.export_dir and cli.trainer.is_global_zero:
        command = shlex.join(["tts", "train", recipe, *argv])
        data_dir = getattr(cli.datamodule.hparams, "data_dir", None) if cli.datamodule is not None else None
        export(cli.model, cfg.export_dir, overwrite=True, data_dir=data_dir, command=command)
        result["export_dir"] = cfg.export_dir
    return result


if __name__ == "__main__":  # python -m recipes.cli RECIPE ...
    if len(sys.argv) < 2:
        sys.exit(f"usage: python -m recipes.cli {{{','.join(RECIPES)}}} --config NAME_OR_YAML [LightningCLI args]")
    print(train(sys.argv[1], sys.argv[2:]))
