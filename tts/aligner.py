"""The phone aligner as users call it: load an aligner folder, align a synthesis prompt.

An aligner (``aligner.PhoneAligner``) is a checkpoint folder of family ``aligner`` with
its ``vocab.json``. Aligned models (flow ``text_conditioning: aligned``, VALL-E R,
aligned MaskGCT), semantic tokenizers, ``tts prepare align`` and ``tts eval aligner``
load it here::

    model, vocab, folder = load_aligner("tiny-aligner")
    ids, durations = align_prompt(model, vocab, mel, prompt_ids)    # [l], [l]: frames per symbol
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from aligner import AlignerConfig, PhoneAligner, fold_stress, with_boundaries
from text_frontend import PhonemeVocab

from .checkpoint import CheckpointError, build_config, load_state_dict, read_checkpoint
from .errors import TTSError


def load_aligner(name_or_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """``(PhoneAligner in eval mode, PhonemeVocab, checkpoint folder)`` of an aligner checkpoint.

    Raises:
        CheckpointError: no such folder, or not an ``aligner`` checkpoint.
    """
    info = read_checkpoint(name_or_dir, family="aligner")
    if info.vocab_path is None:
        raise CheckpointError(f"Aligner checkpoint '{info.path}' has no vocab.json.")
    model = PhoneAligner(build_config(AlignerConfig, info))
    model.load_state_dict(load_state_dict(info))
    return model.eval().to(device), PhonemeVocab.load(info.vocab_path), info.path


def align_prompt(aligner, vocab, mel: torch.Tensor, prompt_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A synthesis prompt's boundary-wrapped ids and their durations ``[l]`` (summing to ``mel``'s frames).

    What aligned models (flow, VALL-E R) read from their prompt: the phone aligner
    (``load_aligner``) aligns the prompt's transcript ``prompt_ids`` to its Vocos log-mel
    ``mel [C, N]``, and stress marks keep a single frame, as in the manifests.

    Raises:
        TTSError: a transcript with more symbols than the prompt has frames.
    """
    ids = with_boundaries(list(prompt_ids), vocab.space_id)
    if len(ids) > mel.shape[-1]:
        raise TTSError("The prompt is too short for its transcript: give the words it says (--prompt-text).")
    device = next(aligner.parameters()).device
    durations, _ = aligner.align(mel[None].to(device), torch.tensor([mel.shape[-1]], device=device),
                                 torch.tensor([ids], device=device), torch.tensor([len(ids)], device=device))
    folded = fold_stress([vocab.symbols[i] for i in ids], durations[0].tolist())
    return torch.tensor(ids), torch.tensor(folded)
