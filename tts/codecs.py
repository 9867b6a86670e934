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

from .checkpoint import CheckpointError, build_config, load_state_dict, read_checkpoint, save_checkpoint

FAMILY = "melrvq"


def load_codec(name_or_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """Load a MelRVQ codec checkpoint (and the vocoder it names) for inference.

    Raises:
        CheckpointError: missing, corrupt or wrong-kind folder, or a vocoder that does
            not fit the codec.
    """
    from codec_lm.codecs import CodecError, MelRVQ, MelRVQCodec, MelRVQConfig

    from .vocoder import Vocoder

    info = read_checkpoint(name_or_dir, family=FAMILY)
    try:
        config = build_config(MelRVQConfig, info)
    except (TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"'{info.path}' has an invalid MelRVQ config: {err}") from err
    model = MelRVQ(config)
    try:
        model.load_state_dict(_restore_ema_sums(load_state_dict(info)))
    except RuntimeError as err:
        raise CheckpointError(f"The weights in '{info.path}' do not fit its config: {str(err)[:300]}") from err
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
                meta: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Write a trained :class:`codec_lm.codecs.MelRVQ` as a checkpoint naming its vocoder.

    Args:
        directory: destination folder.
        model: the quantizer (its ``config`` is stored in ``model.yaml``).
        vocoder_dir: the Vocos mel folder it was trained on (stored as a relative path).
        card: ``README.md`` model card.
        meta: extra facts for ``model.yaml`` (steps, data...).
        overwrite: replace an existing folder.
    """
    from .vocoder import Vocoder

    vocoder = Vocoder.from_pretrained(vocoder_dir, kind="mel")  # fail now, not when someone loads the codec
    cfg = model.config
    if (vocoder.sample_rate, vocoder.hop_length, vocoder.n_mels) != (cfg.sample_rate, cfg.hop_length, cfg.n_mels):
        raise CheckpointError(f"Vocoder '{vocoder_dir}' does not produce the mels the codec was built for.")
    # The EMA running sums (embed_avg) are as large as the codebooks themselves and only
    # matter to further EMA training; they follow from embed x cluster_size, which
    # load_codec restores. Dropping them halves the folder (20.6 -> 12.6 MiB at 8 x 1024 x 256).
    state = {k: v for k, v in model.state_dict().items() if not k.endswith(EMA_SUMS)}
    return save_checkpoint(directory, FAMILY, cfg, state, dependencies={"vocoder": vocoder.path},
                           card=card, meta=meta, overwrite=overwrite)


EMA_SUMS = "._codebook.embed_avg"


def _restore_ema_sums(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Put back the ``embed_avg`` buffers :func:`save_melrvq` leaves out (``embed`` is
    ``embed_avg / cluster_size`` in vector-quantize-pytorch's EMA codebooks)."""
    for key in [k for k in state if k.endswith("._codebook.embed")]:
        prefix = key[: -len("embed")]
        if prefix + "embed_avg" not in state and prefix + "cluster_size" in state:
            state[prefix + "embed_avg"] = state[key] * state[prefix + "cluster_size"][..., None]
    return state


def load_encodec(weights: str | os.PathLike | None = None, bandwidth: float = 6.0,
                 vocos_dir: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
    """:meth:`codec_lm.codecs.EncodecCodec.from_pretrained` with toolkit errors.

    Raises:
        CheckpointError: missing weights, checksum mismatch, unreadable file, or a
            vocoder folder of the wrong kind.
    """
    from codec_lm.codecs import CodecError, EncodecCodec

    try:
        return EncodecCodec.from_pretrained(weights, bandwidth=bandwidth, vocos_dir=vocos_dir, device=device)
    except CodecError as err:
        raise CheckpointError(str(err)) from err
