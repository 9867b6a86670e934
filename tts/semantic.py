"""Semantic tokenizers as toolkit checkpoints: load by name or folder, save, tokenize audio.

A tokenizer (``aligner.semantic.SemanticTokenizer``) is a checkpoint folder of family
``semantic`` holding only its k-means centroids and feature statistics; its
``model.yaml`` names the phone aligner whose speech encoder it quantizes as the
dependency ``aligner``::

    tok = load_semantic_tokenizer("checkpoints/tiny-semantic")   # and its tiny-aligner
    tokens = tokenize_audio(tok, [wav])                           # [[S]] at 23.4375 tokens/s

Made by ``tts prepare semantic-tokenizer`` (:mod:`tts.data.semantic`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from aligner.semantic import SemanticConfig, SemanticTokenizer

from .aligner import load_aligner
from .checkpoint import CheckpointError, build_config, load_state_dict, read_checkpoint, save_checkpoint
from .errors import TTSError
from .mel import MelFeatures

FAMILY = "semantic"


def load_semantic_tokenizer(name_or_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """A :class:`aligner.semantic.SemanticTokenizer` on the aligner its folder names, in eval mode.

    Its ``path`` attribute is the folder.

    Raises:
        CheckpointError: a missing, corrupt or wrong-kind folder, no aligner dependency, or
            centroids that do not fit the aligner.
    """
    info = read_checkpoint(name_or_dir, family=FAMILY)
    if "aligner" not in info.dependencies:
        raise CheckpointError(f"Semantic tokenizer '{info.path}' names no aligner in model.yaml (dependencies: "
                              "aligner): its tokens are clusters of that aligner's features.")
    aligner, _, _ = load_aligner(info.dependencies["aligner"], device)
    try:
        tokenizer = SemanticTokenizer(build_config(SemanticConfig, info), aligner)
        tokenizer.load_codebook(load_state_dict(info))
    except (TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"Semantic tokenizer '{info.path}' does not fit its aligner "
                              f"'{info.dependencies['aligner']}': {err}. Fit it again with `tts prepare "
                              "semantic-tokenizer`.") from err
    tokenizer.path = info.path
    return tokenizer.to(device).eval()


def save_semantic_tokenizer(directory: str | os.PathLike, tokenizer, aligner_dir: str | os.PathLike, *,
                            card: str | None = None, meta: dict[str, Any] | None = None, overwrite: bool = False,
                            dtype: str | None = "float16") -> Path:
    """Write a fitted tokenizer's centroids and statistics as a folder naming its aligner.

    Args:
        directory: destination folder.
        tokenizer: a fitted :class:`aligner.semantic.SemanticTokenizer`.
        aligner_dir: the aligner checkpoint folder (stored as a relative path).
        card: ``README.md`` model card.
        meta: extra facts for ``model.yaml`` (``training``: iterations, data, command).
        dtype: storage precision (float16 by default: 512 x 192 centroids take 0.2 MiB).
    """
    return save_checkpoint(directory, FAMILY, tokenizer.config, tokenizer.codebook_state(),
                           dependencies={"aligner": aligner_dir}, card=card, meta=meta, overwrite=overwrite,
                           dtype=dtype)


def mel_batch(wavs: Sequence[torch.Tensor], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Vocos log-mels (24 kHz, hop 256) of each waveform ``[T_i]``, zero-padded: ``([B, C, N], lens [B])``.

    Each mel is computed alone, so an item's tokens never depend on the other items of a batch.
    """
    features = MelFeatures()
    mels = [features(w.float().reshape(1, -1).cpu())[0] for w in wavs]
    lens = torch.tensor([m.shape[-1] for m in mels])
    out = torch.zeros(len(mels), mels[0].shape[0], int(lens.max()))
    for i, m in enumerate(mels):
        out[i, :, : m.shape[-1]] = m
    return out.to(device), lens.to(device)


@torch.no_grad()
def tokenize_audio(tokenizer, wavs: Sequence[torch.Tensor], sample_rate: int = 24000) -> list[torch.Tensor]:
    """Semantic tokens of each waveform ``[T_i]``: one LongTensor ``[S_i]`` each, on the CPU.

    ``S_i = ceil(mel frames / pool)``: with 24 kHz audio, ``ceil((T_i // 256 + 1) / 4)``.

    Raises:
        TTSError: audio at another rate than the aligner's, or no waveform.
    """
    expected = tokenizer.aligner.config.sample_rate
    if sample_rate != expected:
        raise TTSError(f"The semantic tokenizer reads {expected} Hz audio, got {sample_rate} Hz: resample it first "
                       "(tts.audio.load(path, sample_rate)).")
    if not wavs:
        raise TTSError("tokenize_audio needs at least one waveform.")
    device = tokenizer.centroids.device
    mel, lens = mel_batch(wavs, device)
    tokens, token_lens = tokenizer(mel, lens)
    return [t[:n].cpu() for t, n in zip(tokens, token_lens.tolist())]
