"""Self-describing checkpoint folders: save, resolve, verify, load.

A checkpoint is a folder (``docs/architecture.md``, "Contracts")::

    model.yaml          format, family, config (the model's dataclass as a dict),
                        dependencies (other checkpoint folders by relative path),
                        sha256 of every weight file, and optionally options (the
                        model's own defaults for its synthesis options)
    model.safetensors   the weights (safetensors: no pickle, memory-mapped)
    vocab.json          the PhonemeVocab, for models that read text
    README.md           the model card: data, recipe command, steps, metrics

Loading never unpickles: weights come from safetensors, and configs from YAML
(``yaml.safe_load``). Each weight file's checksum is verified, so a truncated or
corrupted download is a clear error, not a cryptic shape mismatch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .errors import TTSError
from .files import dir_mode, file_mode
from .languages import DEFAULT_LANGUAGES
from .options import OptionError, check_options

FORMAT = 1
MODEL_FILE = "model.yaml"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.json"
CARD_FILE = "README.md"
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


class CheckpointError(TTSError, ValueError):
    """A checkpoint folder is missing, incomplete, corrupt or of the wrong kind."""


@dataclass
class CheckpointInfo:
    """What ``model.yaml`` says about a checkpoint folder.

    Attributes:
        path: the folder.
        family: model family (``melrvq``, ``valle``, ``maskgct``, ``flow``...).
        config: keyword arguments of the family's config dataclass.
        dependencies: role (``vocoder``, ``codec``) -> resolved folder.
        options: the model's own defaults for its synthesis options (``model.yaml``
            ``options``, checked against :mod:`tts.options`): what a run uses where
            the user gives no value, in place of the family's default.
        languages: the espeak-ng codes of the speech it was trained on (``model.yaml``
            ``languages``; English when the list is missing, see :mod:`tts.languages`).
        meta: everything else in ``model.yaml`` (toolkit version, training info).
    """

    path: Path
    family: str
    config: dict[str, Any]
    dependencies: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    languages: tuple[str, ...] = DEFAULT_LANGUAGES

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def vocab_path(self) -> Path | None:
        p = self.path / VOCAB_FILE
        return p if p.is_file() else None


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def shipped_models() -> dict[str, Path]:
    """Name -> folder of every checkpoint in the repository's ``checkpoints/``."""
    root = Path(os.environ.get("TTS_CHECKPOINTS", SHIPPED_DIR))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / MODEL_FILE).is_file() or (p / "config.yaml").is_file()}


def resolve(name_or_dir: str | os.PathLike) -> Path:
    """A shipped model name or a folder path -> the checkpoint folder.

    Raises:
        CheckpointError: neither a shipped name nor an existing folder; the message
            lists the shipped names.
    """
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    shipped = shipped_models()
    if str(name_or_dir) in shipped:
        return shipped[str(name_or_dir)]
    known = ", ".join(shipped) or "none are shipped in this checkout"
    raise CheckpointError(
        f"No model {str(name_or_dir)!r}: it is neither a shipped model ({known}) nor a checkpoint folder."
    )


def _config_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    raise TypeError(f"config must be a dataclass instance or a dict, got {type(config).__name__}")


def save_checkpoint(
    directory: str | os.PathLike,
    family: str,
    config: Any,
    state_dict: dict[str, Any],
    *,
    vocab: Any = None,
    dependencies: dict[str, str | os.PathLike] | None = None,
    card: str | None = None,
    meta: dict[str, Any] | None = None,
    overwrite: bool = False,
    dtype: str | None = None,
) -> Path:
    """Write a checkpoint folder atomically (a temporary folder renamed into place).

    Args:
        directory: destination folder.
        family: model family name, checked again at load time.
        config: the model's config dataclass (or a dict of its fields).
        state_dict: tensors to save (made contiguous; shared storage is copied).
        vocab: a ``PhonemeVocab`` for models that read text.
        dependencies: role -> folder of another checkpoint; stored relative to
            ``directory`` so that the pair can be moved together.
        card: Markdown model card for ``README.md``.
        meta: extra YAML-serializable facts (training steps, data...).
        overwrite: replace an existing folder; otherwise an existing non-empty
            folder is an error and is left untouched.
        dtype: ``"float16"`` or ``"bfloat16"`` stores the floating-point tensors at
            half size (``weights_dtype`` in ``model.yaml``); :func:`load_state_dict`
            returns them as float32 again. ``None`` or ``"float32"`` keeps them as they are.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise CheckpointError(f"Checkpoint folder '{directory}' exists and is not empty: pass overwrite=True "
                              "(--overwrite) or choose another folder.")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    os.chmod(tmp, dir_mode())  # mkdtemp makes it private
    try:
        tensors = _cast({k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}, dtype)
        save_file(tensors, str(tmp / WEIGHTS_FILE))
        deps = {}
        for role, dep in (dependencies or {}).items():
            dep = Path(dep)
            if not dep.is_dir():
                raise CheckpointError(f"Dependency {role!r} of checkpoint '{directory}' is not a folder: '{dep}'.")
            deps[role] = os.path.relpath(dep.resolve(), directory.resolve())
        doc = {
            "format": FORMAT,
            "family": family,
            "config": _config_dict(config),
            "dependencies": deps,
            "sha256": {WEIGHTS_FILE: sha256(tmp / WEIGHTS_FILE)},
            "toolkit_version": __version__,
            **({"weights_dtype": dtype} if dtype not in (None, "float32") else {}),
            **(meta or {}),
        }
        (tmp / MODEL_FILE).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        if vocab is not None:
            vocab.save(tmp / VOCAB_FILE)
        if card is not None:
            (tmp / CARD_FILE).write_text(card, encoding="utf-8")
        for written in tmp.iterdir():  # safetensors writes its file private (0600), whatever the umask
            os.chmod(written, file_mode())
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return directory


STORAGE_DTYPES = ("float32", "float16", "bfloat16")


def _cast(tensors: dict[str, Any], dtype: str | None) -> dict[str, Any]:
    """Floating-point tensors cast to ``dtype`` for storage (others unchanged)."""
    import torch

    if dtype in (None, "float32"):
        return tensors
    if dtype not in STORAGE_DTYPES:
        raise CheckpointError(f"Unknown storage dtype {dtype!r}: use one of {', '.join(STORAGE_DTYPES)}.")
    target = getattr(torch, dtype)
    limit = torch.finfo(target).max
    out = {}
    for name, t in tensors.items():
        if t.is_floating_point():
            if t.numel() and float(t.abs().max()) > limit:
                raise CheckpointError(f"Tensor '{name}' holds values beyond the range of {dtype} "
                                      f"(largest |x| = {float(t.abs().max()):.3g}): store this model as float32.")
            t = t.to(target)
        out[name] = t
    return out


def read_checkpoint(directory: str | os.PathLike, family: str | tuple[str, ...] | None = None,
                    verify: bool = True) -> CheckpointInfo:
    """Read and check ``model.yaml`` of a checkpoint folder (or shipped name).

    Args:
        directory: folder or shipped model name.
        family: expected family (or families); another one is an error.
        verify: check the weight file's sha256.

    Raises:
        CheckpointError: missing folder or files, unreadable YAML, unknown format,
            wrong family, checksum mismatch, or a missing dependency.
    """
    path = resolve(directory)
    manifest = path / MODEL_FILE
    if not manifest.is_file():
        hint = " (it looks like a Vocos folder: load it with tts.vocoder.Vocoder)" if (path / "config.yaml").is_file() else ""
        raise CheckpointError(f"'{path}' is not a checkpoint folder: it has no {MODEL_FILE}{hint}.")
    try:
        doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CheckpointError(f"'{manifest}' is not valid YAML ({err}): the checkpoint is corrupt.") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "family" not in doc:
        raise CheckpointError(f"'{manifest}' is not a checkpoint description of format {FORMAT}.")
    wanted = (family,) if isinstance(family, str) else family
    if wanted and doc["family"] not in wanted:
        raise CheckpointError(
            f"'{path}' holds a {doc['family']!r} model, but a {' or '.join(map(repr, wanted))} model is needed here."
        )
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(f"'{path}' has no {WEIGHTS_FILE}: the checkpoint is incomplete.")
    expected = (doc.get("sha256") or {}).get(WEIGHTS_FILE)
    if verify and expected and sha256(weights) != expected:
        raise CheckpointError(
            f"'{weights}' does not match its checksum in {MODEL_FILE}: the file is corrupt or was replaced. "
            "Copy the checkpoint again."
        )
    deps = {}
    for role, rel in (doc.get("dependencies") or {}).items():
        dep = (path / rel).resolve()
        if not dep.is_dir():
            raise CheckpointError(f"Checkpoint '{path}' needs its {role} at '{dep}', which does not exist.")
        deps[role] = dep
    meta = {k: v for k, v in doc.items()
            if k not in ("format", "family", "config", "dependencies", "sha256", "options", "languages")}
    options = _option_defaults(doc["family"], doc.get("options"), manifest)
    return CheckpointInfo(path=path, family=doc["family"], config=doc.get("config") or {}, dependencies=deps,
                          meta=meta, options=options, languages=checked_languages(doc.get("languages"), manifest))


def checked_languages(languages: Any, manifest: Path) -> tuple[str, ...]:
    """``model.yaml``'s ``languages`` (optional: a folder without it speaks English)."""
    if languages is None:
        return DEFAULT_LANGUAGES
    if (not isinstance(languages, list) or not languages
            or not all(isinstance(x, str) and x.strip() for x in languages)):
        raise CheckpointError(f"'{manifest}': 'languages' must list the espeak-ng codes of the model's training "
                              "speech (e.g. languages: [en]); fix or remove it.")
    return tuple(x.strip() for x in languages)


def _option_defaults(family: str, options: Any, manifest: Path) -> dict[str, Any]:
    """``model.yaml``'s ``options``, checked as the flags are (a bad value is the folder's fault)."""
    if options is None:
        return {}
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise CheckpointError(f"'{manifest}': 'options' must map option names to values (e.g. steps: 10); "
                              "fix or remove it.")
    try:
        return check_options(family, options)
    except OptionError as err:
        raise CheckpointError(f"'{manifest}' sets a default option the model cannot use: {err} "
                              "Fix or remove it under 'options'.") from None


def load_state_dict(info: CheckpointInfo, device: str = "cpu") -> dict:
    """The tensors of ``model.safetensors``; half-precision storage comes back as float32.

    Raises:
        CheckpointError: the file is not a readable safetensors file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(info.weights), device=device)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"'{info.weights}' cannot be read as safetensors ({err}): the checkpoint is corrupt.") from err
    if info.meta.get("weights_dtype") in ("float16", "bfloat16"):
        # Stored small, computed in float32: the models' code and tests assume float32 weights.
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    return tensors


def build_config(cls: type, info: CheckpointInfo) -> Any:
    """Instantiate a config dataclass from ``info.config``, with a clear error on unknown keys."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(info.config) - names)
    if unknown:
        raise CheckpointError(
            f"'{info.path}' has config keys {unknown} that {cls.__name__} does not know: it was saved by a "
            "different version of the toolkit."
        )
    return cls(**info.config)


def checked_config(info: CheckpointInfo, config_cls: type, label: str) -> Any:
    """:func:`build_config`, with a config the dataclass rejects as the folder's one-line error.

    Raises:
        CheckpointError: unknown keys, or values the dataclass refuses.
    """
    try:
        return build_config(config_cls, info)
    except (TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"'{info.path}' has an invalid {label} config: {err}") from err


def build_model(info: CheckpointInfo, model_cls: type, config_cls: type, label: str, loader: str = "load_state_dict"):
    """``model_cls(config)`` holding the folder's weights, the config built from ``model.yaml``.

    Args:
        info: a checked folder (:func:`read_checkpoint`).
        model_cls, config_cls: the model package's module and config dataclass.
        label: the model's name in messages (``"VALL-E"``...).
        loader: the model's method that takes the state dict (a model may store a compact one).

    Raises:
        CheckpointError: a config the dataclass rejects, or weights that do not fit it.
    """
    model = model_cls(checked_config(info, config_cls, label))
    try:
        getattr(model, loader)(load_state_dict(info))
    except RuntimeError as err:
        raise CheckpointError(f"The weights in '{info.path}' do not fit its config: {str(err)[:300]}") from err
    return model
