"""One exporter for every recipe: a trained module -> a model folder with its model card.

Each recipe's LightningModule says what it is (:class:`Exportable`: a card and how its
weights are written); the exporter does the rest the same way for all of them: the
step count, the card's facts (data, the training command), the ``training`` entry of
``model.yaml``, and the checks on the storage precision.

    export(module, "checkpoints/tiny-flow", data_dir=..., command=...)        # after `tts train`
    export_from_checkpoint("flow", "runs/flow-tiny/checkpoints/last.ckpt", "my-flow")   # `tts export`
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import ClassVar

from tts.checkpoint import save_checkpoint
from tts.model_yaml import set_languages, set_option_defaults
from tts.options import FAMILY_OPTIONS, as_flags, check_options

from .cards import Card, model_card
from .common import RecipeError, module_from_checkpoint
from .registry import RECIPES, load_spec


class Exportable:
    """Mixin of the recipes' LightningModules: what :func:`export` needs from them.

    The default writes ``self.model`` as a toolkit checkpoint folder (``tts.checkpoint``) of
    family :attr:`family` with ``self.config``, ``self.vocab`` and the folder this model
    depends on (``self.<dependency>_dir`` as dependency :attr:`dependency`); the vocoder
    and the codec recipes override :meth:`write_export` for their own formats.
    """

    family: ClassVar[str]
    dependency: ClassVar[str | None] = None  # "vocoder" or "codec"
    half_storage: ClassVar[bool] = True  # may be stored in float16/bfloat16 (--dtype)

    def trained_steps(self, steps: int | None) -> int:
        """Steps to report; ``steps`` is the checkpoint's global step when exporting from one."""
        return int(self.global_step if steps is None else steps)

    def export_card(self, directory: Path, steps: int) -> Card:
        """Title, summary, usage and model facts of the card (data and command are added by :func:`export`)."""
        raise NotImplementedError

    def export_dependencies(self) -> dict[str, Path] | None:
        """Role -> folder of the models this one needs at inference (``model.yaml`` dependencies)."""
        return {self.dependency: getattr(self, f"{self.dependency}_dir")} if self.dependency else None

    def write_export(self, directory: Path, *, card: str, training: dict, overwrite: bool,
                     dtype: str | None) -> Path:
        deps = self.export_dependencies()
        return save_checkpoint(directory, self.family, self.config, self.model.state_dict(),
                               vocab=getattr(self, "vocab", None), dependencies=deps, card=card, overwrite=overwrite,
                               dtype=dtype, meta={"training": training})


# Less speech than this in a language teaches a model its phones, not to speak it: listed, the
# language would silence the warning of a run that asks for it (the 8-hour ManyVoices build's
# real people give 3-16 minutes each of Spanish, French, Italian and Russian).
MIN_LANGUAGE_HOURS = 0.5


def training_languages(data_dir: str | os.PathLike | None, min_hours: float = MIN_LANGUAGE_HOURS
                       ) -> list[str] | None:
    """The bare languages (``en``, ``fr``: espeak-ng codes without the variety) with at least
    ``min_hours`` of speech in ``data_dir``'s training manifests (``cuts_train*.jsonl.gz``, there
    or one folder down; the largest count of a language over the manifests), the one with the
    most speech where none has that much, or None where there are no manifests or they name no
    language."""
    if not data_dir or not Path(data_dir).is_dir():
        return None
    root = Path(data_dir)
    hours: dict[str, float] = {}
    for manifest in sorted([*root.glob("cuts_train*.jsonl.gz"), *root.glob("*/cuts_train*.jsonl.gz")]):
        seen: dict[str, float] = {}
        with gzip.open(manifest, "rt", encoding="utf-8") as f:
            for line in f:
                for sup in json.loads(line).get("supervisions", []):
                    if sup.get("language"):
                        lang = str(sup["language"]).split("-")[0].lower()
                        seen[lang] = seen.get(lang, 0.0) + float(sup.get("duration", 0.0)) / 3600
        for lang, h in seen.items():  # the aligned manifest repeats the plain one: not twice the speech
            hours[lang] = max(hours.get(lang, 0.0), h)
    if not hours:
        return None
    # A small corpus speaks its main language even below min_hours.
    return sorted(lang for lang, h in hours.items() if h >= min_hours) or [max(hours, key=hours.get)]


def _check_dtype(recipe: str, module_cls: type, dtype: str | None) -> None:
    if dtype not in (None, "float32") and not module_cls.half_storage:
        raise RecipeError(f"--dtype {dtype} does not apply to {recipe}: a {recipe} folder is stored in float32 "
                          "(codebooks and the official Vocos layout need full precision).")


def _check_options(recipe: str, family: str, options: dict | None) -> dict:
    """``options`` (name -> value, as text or numbers) checked for ``family``, before anything is loaded."""
    if not options:
        return {}
    if family not in FAMILY_OPTIONS:
        raise RecipeError(f"--option does not apply to {recipe}: only text-to-speech models "
                          f"({', '.join(FAMILY_OPTIONS)}) have synthesis options.")
    return check_options(family, {k.replace("-", "_"): v for k, v in options.items()})


def export(module: Exportable, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
           command: str | None = None, steps: int | None = None, dtype: str | None = None,
           options: dict | None = None) -> Path:
    """Write a trained module (its weights as held: the EMA average after training) to ``directory``.

    Args:
        module: a recipe's LightningModule.
        directory: the model folder to write.
        overwrite: replace an existing folder.
        data_dir: the training data, for the card and ``model.yaml``.
        command: the training command, likewise.
        steps: the step count to report (default: the module's own).
        dtype: storage precision of the weights (``float16``/``bfloat16`` halve the folder).
        options: the model's own synthesis-option defaults (``model.yaml`` ``options``;
            e.g. ``{"steps": 10}``): runs use them where no value is given.

    Raises:
        RecipeError: a storage precision this model cannot use, or options for a model without any.
        OptionError: an option the model does not take, or a value out of range.
        CheckpointError: the folder exists (without ``overwrite``) or a dependency is missing.
    """
    recipe = type(module).__module__.split(".")[1]
    _check_dtype(recipe, type(module), dtype)
    options = _check_options(recipe, module.family, options)
    directory = Path(directory)
    steps = module.trained_steps(steps)
    card = module.export_card(directory, steps)
    card.facts.update({"data": data_dir or "unknown", "recipe command": f"`{command}`" if command else "unknown"})
    training = {"steps": steps, "data": data_dir, "command": command}
    init_from = getattr(module, "hparams", {}).get("init_from")
    if init_from:  # a fine-tuning: its steps count from these weights, not from random ones
        card.facts["initialized from"] = f"`{init_from}` (model.init_from; steps counted from there)"
        training["init_from"] = str(init_from)
    if options:
        card.facts["default options"] = f"`{as_flags(options)}` (model.yaml `options`; a run's own flags override them)"
    out = module.write_export(directory, card=model_card(card), training=training, overwrite=overwrite, dtype=dtype)
    if options:
        set_option_defaults(out, options)
    languages = training_languages(data_dir) if module.family in FAMILY_OPTIONS else None
    if languages:  # what `--language` checks; a folder without the list speaks English
        set_languages(out, languages)
    return out


def export_from_checkpoint(recipe: str, ckpt_path: str | os.PathLike, directory: str | os.PathLike, *,
                           overwrite: bool = False, dtype: str | None = None, options: dict | None = None,
                           **card_facts) -> Path:
    """Rebuild ``recipe``'s module from a Lightning checkpoint (``last.ckpt``, also of a stopped run) and export it.

    Raises:
        RecipeError: an unknown recipe, a precision it cannot store, or a checkpoint of another recipe.
    """
    if recipe not in RECIPES:
        raise RecipeError(f"No recipe {recipe!r}; available: {', '.join(RECIPES)}.")
    module_cls = load_spec(RECIPES[recipe].module)
    _check_dtype(recipe, module_cls, dtype)  # before loading: the message is about the flag, not the file
    _check_options(recipe, module_cls.family, options)
    module, step = module_from_checkpoint(module_cls, ckpt_path)
    return export(module, directory, overwrite=overwrite, steps=step, dtype=dtype, options=options, **card_facts)
