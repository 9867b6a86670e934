"""Codecs as toolkit checkpoints: load by name or folder, save from a recipe.

A MelRVQ codec is a checkpoint folder (``tts.checkpoint``) of family ``melrvq``
whose ``model.yaml`` names its Vocos mel vocoder as the dependency ``vocoder``::

    codec = load_codec("checkpoints/tiny-melrvq")     # MelRVQCodec, on its Vocos
    codes = codec.encode(wav)                          # [B, Q, N]
    wav = codec.decode(codes)                          # [B, T]

EnCodec is not trained here: :func:`load_encodec` wraps
``codec_lm.codecs.EncodecCodec.from_pretrained`` with the toolkit's errors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from codec_lm.codecs import CodecError, EncodecCodec, MelRVQ, MelRVQCodec, MelRVQConfig

from .checkpoint import CheckpointError, build_model, read_checkpoint, save_checkpoint
from .vocoder import Vocoder

FAMILY = "melrvq"


def load_codec(name_or_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """Load a MelRVQ codec checkpoint (and the vocoder it names) for inference.

    Raises:
        CheckpointError: missing, corrupt or wrong-kind folder, or a vocoder that does
            not fit the codec.
    """
    info = read_checkpoint(name_or_dir, family=FAMILY)
    model = build_model(info, MelRVQ, MelRVQConfig, "MelRVQ", loader="load_inference_state_dict")
    if "vocoder" not in info.dependencies:
        raise CheckpointError(f"'{info.path}' names no vocoder in model.yaml (dependencies: vocoder): it cannot decode.")
    vocoder = Vocoder.from_pretrained(info.dependencies["vocoder"], kind="mel")
    try:
        codec = MelRVQCodec(model, vocoder.model)
    except CodecError as err:
        raise CheckpointError(f"'{info.path}': {err}") from err
    codec.path = info.path
    return codec.to(device)


def save_melrvq(directory: str | os.PathLike, model, vocoder_dir: str | os.PathLike, *, card: str | None = None,
                meta: dict[str, Any] | None = None, overwrite: bool = False, dtype: str | None = None) -> Path:
    """Write a trained :class:`codec_lm.codecs.MelRVQ` as a checkpoint naming its vocoder.

    Args:
        directory: destination folder.
        model: the quantizer (its ``config`` is stored in ``model.yaml``).
        vocoder_dir: the Vocos mel folder it was trained on (stored as a relative path).
        card: ``README.md`` model card.
        meta: extra facts for ``model.yaml`` (steps, data...).
        overwrite: replace an existing folder.
        dtype: storage precision (``"float16"`` halves the folder; loading computes in float32).
    """
    vocoder = Vocoder.from_pretrained(vocoder_dir, kind="mel")  # fail now, not when someone loads the codec
    cfg = model.config
    if (vocoder.sample_rate, vocoder.hop_length, vocoder.n_mels) != (cfg.sample_rate, cfg.hop_length, cfg.n_mels):
        raise CheckpointError(f"Vocoder '{vocoder_dir}' does not produce the mels the codec was built for.")
    state = model.inference_state_dict()  # without the EMA sums: half the size; load_codec rebuilds them
    return save_checkpoint(directory, FAMILY, cfg, state, dependencies={"vocoder": vocoder.path},
                           card=card, meta=meta, overwrite=overwrite, dtype=dtype)


def load_encodec(weights: str | os.PathLike | None = None, bandwidth: float = 6.0,
                 vocos_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """:meth:`codec_lm.codecs.EncodecCodec.from_pretrained` with toolkit errors.

    Raises:
        CheckpointError: missing weights, checksum mismatch, unreadable file, or a
            vocoder folder of the wrong kind.
    """
    try:
        return EncodecCodec.from_pretrained(weights, bandwidth=bandwidth, vocos_dir=vocos_dir, device=device)
    except CodecError as err:
        raise CheckpointError(str(err)) from err
