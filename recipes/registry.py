"""The recipes by name: which LightningModule and LightningDataModule each one trains.

The launcher (:mod:`recipes.cli`) and the exporter (:mod:`recipes.export`) both look
recipes up here; a recipe's modules are imported by name only when it runs, so that
``tts --help`` and the other recipes stay light.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .common import RecipeError


@dataclass(frozen=True)
class Recipe:
    module: str  # "package.module:Class" of the LightningModule (a recipes.export.Exportable)
    data: str  # ... of the LightningDataModule


RECIPES = {
    "vocos": Recipe("recipes.vocos.module:VocosModule", "recipes.crops:AudioCropDataModule"),
    "melrvq": Recipe("recipes.melrvq.module:MelRVQModule", "recipes.crops:AudioCropDataModule"),
    "flow": Recipe("recipes.flow.module:FlowModule", "recipes.flow.data:FlowDataModule"),
    "valle": Recipe("recipes.valle.module:VallEModule", "recipes.valle.data:VallEDataModule"),
    "maskgct": Recipe("recipes.maskgct.module:MaskGCTModule", "recipes.data:CodesDataModule"),
    "aligner": Recipe("recipes.aligner.module:AlignerModule", "recipes.data:TTSDataModule"),
}


def load_spec(spec: str):
    """``"package.module:Name"`` -> the object.

    Raises:
        RecipeError: Lightning (the ``[train]`` extra) is not installed.
    """
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as err:
        if err.name not in ("lightning", "lhotse", "jsonargparse"):
            raise
        raise RecipeError(f"Training needs the [train] extra ({err.name} is missing): pip install -e '.[train]'.") from err
