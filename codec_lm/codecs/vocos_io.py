"""Read and write ``vocos.Vocos`` models in the official folder layout.

The Vocos releases (``charactr/vocos-mel-24khz``, ``charactr/vocos-encodec-24khz``)
are folders with two files::

    config.yaml         feature_extractor / backbone / head, each {class_path, init_args}
    pytorch_model.bin   the state dict (torch.save of plain tensors)

We build the model from ``config.yaml`` the way ``Vocos.from_hparams`` does, but
without its network access and with three safety checks it lacks: the YAML is read
with ``yaml.safe_load``, weights with ``torch.load(weights_only=True)``, and a
``class_path`` must name a class of the ``vocos`` package of the expected kind (a
config file must not be able to run arbitrary code).

The EnCodec variant's feature extractor builds an ``EncodecModel`` whose weights the
official ``pytorch_model.bin`` does not hold (``Vocos.from_pretrained`` downloads
them). Here it is built untrained and, where the caller passes EnCodec weights,
loaded from them; ``decode`` from codes only needs the codebook table that *is* in
``pytorch_model.bin``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import torch
import yaml

from .base import CodecError

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "pytorch_model.bin"
SECTIONS = ("feature_extractor", "backbone", "head")
ENCODEC_PREFIX = "feature_extractor.encodec."
_BUILD_LOCK = threading.Lock()

# The official vocos-mel-24khz / vocos-encodec-24khz architectures (their config.yaml): the
# benchmarks build them with random weights, the tests narrow their backbones.
_MEL_FEATURES = {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                 "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100, "padding": "center"}}
OFFICIAL_VOCOS_MEL = {
    "feature_extractor": _MEL_FEATURES,
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 100, "dim": 512, "intermediate_dim": 1536, "num_layers": 8}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 512, "n_fft": 1024, "hop_length": 256, "padding": "center"}},
}
OFFICIAL_VOCOS_ENCODEC = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.EncodecFeatures",
                          "init_args": {"encodec_model": "encodec_24khz", "bandwidths": [1.5, 3.0, 6.0, 12.0],
                                        "train_codebooks": False}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 128, "dim": 384, "intermediate_dim": 1152, "num_layers": 8,
                               "adanorm_num_embeddings": 4}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 384, "n_fft": 1280, "hop_length": 320, "padding": "same"}},
}


class VocosLoadError(CodecError):
    """A Vocos folder is missing, incomplete, corrupt or of the wrong kind."""


def read_vocos_config(folder: str | os.PathLike) -> dict[str, Any]:
    """Parse and check ``config.yaml`` of a Vocos folder.

    Raises:
        VocosLoadError: no folder, no ``config.yaml`` (with a hint when it is a toolkit
            checkpoint), invalid YAML, or missing sections.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VocosLoadError(f"Vocos folder '{folder}' does not exist: give the folder holding config.yaml and "
                             f"{WEIGHTS_FILE}.")
    path = folder / CONFIG_FILE
    if not path.is_file():
        hint = ""
        if (folder / "model.yaml").is_file():
            hint = (" It holds model.yaml, so it is a toolkit checkpoint (codec or acoustic model), not a vocoder: "
                    "pass the vocoder folder it names, or load it with tts.codecs.load_codec.")
        raise VocosLoadError(f"'{folder}' is not a Vocos folder: it has no {CONFIG_FILE}.{hint}")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise VocosLoadError(f"'{path}' is not valid YAML ({err}): the Vocos folder is corrupt; copy it again.") from err
    if not isinstance(config, dict):
        raise VocosLoadError(f"'{path}' does not describe a Vocos model: expected the sections {', '.join(SECTIONS)}.")
    for section in SECTIONS:
        entry = config.get(section)
        if not isinstance(entry, dict) or not isinstance(entry.get("class_path"), str):
            raise VocosLoadError(
                f"'{path}' has no valid '{section}' section (a class_path and init_args): it is not a Vocos config."
            )
        if not isinstance(entry.get("init_args", {}), dict):
            raise VocosLoadError(f"'{path}': '{section}.init_args' must be a mapping.")
    return config


def vocos_kind(config: dict[str, Any]) -> str:
    """``"mel"`` or ``"encodec"``: what the model's feature extractor reads."""
    cls = _resolve_class(config["feature_extractor"]["class_path"], "feature_extractor")
    from vocos.feature_extractors import EncodecFeatures, MelSpectrogramFeatures

    if issubclass(cls, EncodecFeatures):
        return "encodec"
    if issubclass(cls, MelSpectrogramFeatures):
        return "mel"
    return cls.__name__


def _base_class(section: str) -> type:
    from vocos.feature_extractors import FeatureExtractor
    from vocos.heads import FourierHead
    from vocos.models import Backbone

    return {"feature_extractor": FeatureExtractor, "backbone": Backbone, "head": FourierHead}[section]


def _resolve_class(class_path: str, section: str) -> type:
    # Only classes of the vocos package: a YAML file must not be able to import and
    # call anything else (Vocos.from_hparams would instantiate any class_path).
    module_name, _, name = class_path.rpartition(".")
    if not module_name.startswith("vocos.") and module_name != "vocos":
        raise VocosLoadError(f"'{section}.class_path' is {class_path!r}; only classes of the vocos package are allowed.")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as err:
        raise VocosLoadError(f"'{section}.class_path' {class_path!r} does not exist in the installed vocos "
                             f"package ({err}).") from err
    base = _base_class(section)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise VocosLoadError(f"'{section}.class_path' {class_path!r} is not a {base.__name__}.")
    return cls


@contextlib.contextmanager
def _offline_encodec(encodec_weights: dict[str, torch.Tensor] | None):
    """Make ``EncodecModel.encodec_model_*`` build without downloading while active.

    ``vocos.feature_extractors.EncodecFeatures`` calls ``encodec_model_24khz(pretrained=True)``,
    which fetches the weights from the internet; we swap the factories for ones that
    build the same architecture untrained and load ``encodec_weights`` when given.
    """
    from encodec import EncodecModel

    originals = {name: EncodecModel.__dict__[name] for name in ("encodec_model_24khz", "encodec_model_48khz")}

    def offline(name):
        factory = originals[name].__func__

        def build(pretrained: bool = True, repository=None):
            model = factory(pretrained=False)
            if encodec_weights is not None:
                model.load_state_dict(encodec_weights)
            return model.eval()

        return staticmethod(build)

    with _BUILD_LOCK, warnings.catch_warnings():
        # encodec builds with torch.nn.utils.weight_norm, deprecated in torch 2.x: not the user's concern.
        warnings.simplefilter("ignore", FutureWarning)
        for name in originals:
            setattr(EncodecModel, name, offline(name))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(EncodecModel, name, original)


def encodec_codebooks(vocos) -> dict[int, int]:
    """Codebooks -> bandwidth index of a Vocos EnCodec variant (EnCodec spends 10 bits per code).

    ``{2: 0, 4: 1, 8: 2, 16: 3}`` for the official ``vocos-encodec-24khz`` (1.5, 3, 6, 12 kbps).
    """
    fe = vocos.feature_extractor
    frame_rate = float(fe.encodec.frame_rate)
    return {round(float(b) * 1000 / (frame_rate * 10)): i for i, b in enumerate(fe.bandwidths)}


def decode_encodec_codes(vocos, codes: torch.Tensor) -> torch.Tensor:
    """EnCodec codes ``[B, Q, N]`` -> waveform ``[B, N * hop]`` with a Vocos EnCodec variant.

    ``Q`` picks the bandwidth and must be one of :func:`encodec_codebooks` (the callers
    check it with their own messages).
    """
    bandwidth_id = torch.tensor([encodec_codebooks(vocos)[codes.shape[1]]], device=codes.device)
    features = vocos.codes_to_features(codes.transpose(0, 1))  # Vocos wants [Q, B, N]
    return vocos.decode(features, bandwidth_id=bandwidth_id)


def build_vocos(config: dict[str, Any], encodec_weights: dict[str, torch.Tensor] | None = None):
    """Instantiate an (untrained) ``vocos.Vocos`` from a config dict.

    Args:
        config: ``{feature_extractor, backbone, head}``, each ``{class_path, init_args}``.
        encodec_weights: state dict of the EnCodec model inside the EnCodec variant's
            feature extractor (ignored for the mel variant).

    Raises:
        VocosLoadError: an unknown or disallowed class, or init_args it does not accept.
    """
    from vocos import Vocos

    parts = {}
    with _offline_encodec(encodec_weights):
        for section in SECTIONS:
            entry = config[section]
            cls = _resolve_class(entry["class_path"], section)
            try:
                parts[section] = cls(**(entry.get("init_args") or {}))
            except (TypeError, ValueError, RuntimeError) as err:
                raise VocosLoadError(f"Cannot build '{section}' ({entry['class_path']}) from its init_args: {err}") from err
    return Vocos(**parts)


def load_vocos(folder: str | os.PathLike, device: str | torch.device = "cpu",
               encodec_weights: dict[str, torch.Tensor] | None = None):
    """Load a ``vocos.Vocos`` from a folder in the official layout, in eval mode.

    Args:
        folder: holds ``config.yaml`` and ``pytorch_model.bin``.
        device: where to put the model.
        encodec_weights: EnCodec 24 kHz state dict for the EnCodec variant's encoder
            (only needed to run it on audio; decoding codes does not need it).

    Returns:
        ``(model, config)``.

    Raises:
        VocosLoadError: missing/corrupt files, wrong kind of folder, or weights that do
            not fit the config.
    """
    folder = Path(folder)
    config = read_vocos_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise VocosLoadError(f"'{folder}' has {CONFIG_FILE} but no {WEIGHTS_FILE}: the Vocos folder is incomplete.")
    model = build_vocos(config, encodec_weights)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError... on a bad file
        raise VocosLoadError(f"'{weights}' cannot be read ({type(err).__name__}: {err}): the file is corrupt or "
                             "truncated; copy it again.") from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VocosLoadError(f"'{weights}' is not a state dict of tensors.")
    # The official EnCodec variant ships without EnCodec's own weights; keep the ones
    # the model was built with (as Vocos.from_pretrained does).
    own = model.state_dict()
    for key, value in own.items():
        if key.startswith(ENCODEC_PREFIX) and key not in state:
            state[key] = value
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise VocosLoadError(
            f"'{weights}' does not fit '{folder / CONFIG_FILE}': missing {missing[:5]}, unexpected {unexpected[:5]}. "
            "The two files come from different models."
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise VocosLoadError(f"'{weights}' does not fit '{folder / CONFIG_FILE}' (shape mismatch): {err}") from err
    return model.eval().to(device), config


def save_vocos(model, config: dict[str, Any], folder: str | os.PathLike, overwrite: bool = False,
               card: str | None = None) -> Path:
    """Write ``model`` in the official layout (atomically: a temporary folder renamed into place).

    EnCodec's own weights inside the EnCodec variant are left out, as in the official
    release; ``load_vocos`` fills them in.

    Args:
        model: a ``vocos.Vocos`` built from ``config``.
        config: the ``{feature_extractor, backbone, head}`` dict it was built from.
        folder: destination.
        overwrite: replace an existing non-empty folder.
        card: optional ``README.md`` model card.
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise VocosLoadError(f"'{folder}' exists and is not empty: choose another folder or pass overwrite=True.")
    config = {section: {"class_path": config[section]["class_path"],
                        "init_args": dict(config[section].get("init_args") or {})} for section in SECTIONS}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if not k.startswith(ENCODEC_PREFIX)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; an exported model is meant to be shared
    try:
        (tmp / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        torch.save(state, tmp / WEIGHTS_FILE)
        if card is not None:
            (tmp / "README.md").write_text(card, encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder
