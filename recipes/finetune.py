"""Start a training run from trained weights (``model.init_from``): fine-tuning.

The weights come from an exported checkpoint folder (or a shipped name such as
``tiny-flow``) or from a Lightning ``.ckpt`` of the same recipe (its ``state_dict``: the
EMA average when the WarmupEMA callback ran). Only the weights are taken: the optimizer,
the learning-rate schedule and the step count start afresh, so ``trainer.max_steps`` is
the length of the fine-tuning. ``--ckpt_path last`` still resumes an interrupted
fine-tuning run (the restored state replaces these weights).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tts.checkpoint import load_state_dict, read_checkpoint
from tts.errors import TTSError

from .common import RecipeError


def initial_weights(source: str | os.PathLike, family: str) -> dict[str, torch.Tensor]:
    """The model's state dict (float32) from a checkpoint folder or a Lightning ``.ckpt``.

    Raises:
        RecipeError: a missing or unreadable source, or a model of another family.
    """
    path = Path(source)
    if path.suffix == ".ckpt" or path.is_file():
        if not path.is_file():
            raise RecipeError(f"model.init_from: '{path}' does not exist: give a run's .ckpt file or a checkpoint "
                              "folder.")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # not a torch file, truncated...
            raise RecipeError(f"model.init_from: '{path}' is not a readable Lightning checkpoint "
                              f"({type(err).__name__}).") from err
        state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise RecipeError(f"model.init_from: '{path}' holds no state_dict: it was not written by `tts train`.")
        prefix = "model."
        weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not weights:
            raise RecipeError(f"model.init_from: '{path}' holds no model weights (no 'model.' entries).")
    else:
        try:
            info = read_checkpoint(source, family=family)
            weights = load_state_dict(info)
        except TTSError as err:
            raise RecipeError(f"model.init_from: {err}") from err
    return {k: v.float() if v.is_floating_point() else v for k, v in weights.items()}


def init_from_setting(module, stage: str) -> None:
    """A recipe module's ``setup`` hook: load ``model.init_from`` into ``module.model`` when
    fitting. Lightning calls ``setup`` before it restores a ``--ckpt_path``, so a resumed
    fine-tuning continues from its own state, not from these weights."""
    if stage == "fit" and module.hparams.get("init_from"):
        load_initial_weights(module.model, module.hparams.init_from, module.family, module.family)


def load_initial_weights(model: torch.nn.Module, source: str | os.PathLike, family: str, section: str) -> None:
    """Copy the weights of ``source`` into ``model``; every tensor must be there, in its shape.

    Raises:
        RecipeError: as :func:`initial_weights`, or weights that do not fit ``model``'s
            config (the message names the first differences and the YAML section to match).
    """
    weights = initial_weights(source, family)
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    extra = sorted(set(weights) - set(own))
    shapes = sorted(k for k in set(own) & set(weights) if own[k].shape != weights[k].shape)
    if missing or extra or shapes:
        parts = []
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} of another shape (e.g. {k}: {tuple(weights[k].shape)} there, "
                         f"{tuple(own[k].shape)} here)")
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if extra:
            parts.append(f"{len(extra)} unknown (e.g. {extra[0]})")
        raise RecipeError(f"model.init_from: the weights of '{source}' do not fit this model: "
                          f"{'; '.join(parts)}. Set model.{section} to the config they were trained with.")
    with torch.no_grad():
        model.load_state_dict(weights)
