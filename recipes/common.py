"""Pieces shared by the recipes: their error type, model settings from YAML, seeded
validation, metric logging, and rebuilding a module from a Lightning checkpoint."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from tts.checkpoint import read_checkpoint
from tts.errors import TTSError


class RecipeError(TTSError, ValueError):
    """A recipe was configured or launched in a way that cannot work; the message says the fix."""


def aligner_dependency(aligner: str | None, needed: bool, setting: str) -> Path | None:
    """The phone aligner folder an aligned model's export depends on (``None`` when not ``needed``).

    Synthesis measures the prompt's phone durations with it, so it is checked when the
    recipe starts, not after training.

    Args:
        aligner: ``model.aligner``: a checkpoint folder or a shipped name.
        needed: whether the model's config is an aligned one.
        setting: the config setting that makes it aligned, for the message.

    Raises:
        RecipeError: ``needed`` and no aligner given.
    """
    if not needed:
        return None
    if not aligner:
        raise RecipeError(f"{setting} needs model.aligner (e.g. tiny-aligner): synthesis measures the prompt's "
                          "phone durations with it.")
    return read_checkpoint(aligner, family="aligner").path


def merged_config(config_cls: type, overrides: Mapping[str, Any] | None, fixed: Mapping[str, Any], *,
                  section: str, label: str, source: str) -> Any:
    """The model's config dataclass from the YAML's ``model.<section>`` plus the settings the data fixes.

    Args:
        config_cls: the model package's config dataclass (``FlowConfig``, ``VallEConfig``...).
        overrides: ``model.<section>`` of the YAML (``None``: all defaults).
        fixed: settings that come from the vocoder, codec or vocabulary; the YAML may not set them.
        section: the YAML key under ``model`` (for messages).
        label: the model's name in messages (``flow``, ``MelRVQ``...).
        source: where ``fixed`` comes from (``"the codec and the vocabulary"``).

    Raises:
        RecipeError: an unknown or fixed key in ``overrides``, or values the config rejects.
    """
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(config_cls)} - set(fixed)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise RecipeError(f"Unknown {label} settings {unknown} in model.{section}; known: {', '.join(sorted(known))}. "
                          f"({', '.join(sorted(fixed))} come from {source}.)")
    try:
        return config_cls(**overrides, **fixed)
    except ValueError as err:
        raise RecipeError(f"Invalid model.{section}: {err}") from err


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Run the block with the global RNGs seeded, and restore them afterwards: validation
    draws the same noise, masks and dropout at every evaluation, and training's random
    stream is left as it was."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def log_metrics(module, prefix: str, out: Mapping[str, torch.Tensor], keys: Iterable[str], batch_size: int,
                prog_bar: Iterable[str] = ()) -> None:
    """Log ``out[key]`` as ``<prefix>/<key>`` for each of ``keys`` present (detached while training;
    averaged over processes for validation)."""
    train = prefix == "train"
    for key in keys:
        if key in out:
            value = out[key].detach() if train else out[key]
            module.log(f"{prefix}/{key}", value, batch_size=batch_size, prog_bar=train and key in prog_bar,
                       sync_dist=not train)


def module_from_checkpoint(module_cls: type, ckpt_path: str | os.PathLike):
    """Rebuild a recipe's LightningModule from a Lightning checkpoint (``last.ckpt``...).

    Returns ``(module, global_step)``; the module holds the checkpoint's weights (the
    EMA average when the WarmupEMA callback ran).

    Raises:
        RecipeError: the file is missing, is not a readable Lightning checkpoint, or was
            written by another recipe.
    """
    recipe = module_cls.__module__.split(".")[1] if module_cls.__module__.startswith("recipes.") else module_cls.__name__
    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise RecipeError(f"Lightning checkpoint '{ckpt_path}' does not exist: look in the run's checkpoints/ folder "
                          "(last.ckpt is the newest).")
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    except Exception as err:  # not a zip/pickle torch file, truncated, ...
        raise RecipeError(f"'{ckpt_path}' is not a readable Lightning checkpoint ({type(err).__name__}): give a "
                          ".ckpt file from the run's checkpoints/ folder.") from err
    hparams = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not isinstance(hparams, dict) or "state_dict" not in ckpt:
        raise RecipeError(f"'{ckpt_path}' holds no hyper-parameters and weights: it was not written by `tts train`.")
    # LightningCLI adds private entries (_instantiator, _class_path) to the saved hyper-parameters.
    settings = {k: v for k, v in hparams.items() if not k.startswith("_")}
    try:
        module = module_cls(**settings)
        module.load_state_dict(ckpt["state_dict"])
    except (TypeError, RuntimeError) as err:  # another recipe's arguments, or weights of another shape
        raise RecipeError(f"'{ckpt_path}' is not a {recipe} checkpoint (its settings are: "
                          f"{', '.join(sorted(settings))}); name the recipe that wrote it.") from err
    return module, int(ckpt.get("global_step", 0))
