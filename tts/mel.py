"""Vocos log-mel features, the mel frames every mel model and the phone aligner read.

``MelFeatures()`` computes exactly the features of ``charactr/vocos-mel-24khz`` (24 kHz,
hop 256, 100 bins): ``wav [B, T] -> mel [B, n_mels, N]``, ``N = T // hop + 1``. Given a
Vocos folder it takes that folder's feature settings instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from codec_lm.codecs.vocos_io import OFFICIAL_VOCOS_MEL, VocosLoadError, read_vocos_config

from .data.manifests import DataError

VOCOS_MEL_24K = OFFICIAL_VOCOS_MEL["feature_extractor"]["init_args"]  # the features of vocos-mel-24khz


class MelFeatures:
    """Vocos log-mel extractor: ``wav [B, T] -> mel [B, n_mels, N]``.

    Args:
        vocoder_dir: a Vocos folder in the official layout whose ``config.yaml``
            gives the feature settings; default: the official mel-24kHz settings.
    """

    name = "mel"

    def __init__(self, vocoder_dir: str | os.PathLike | None = None) -> None:
        from vocos.feature_extractors import MelSpectrogramFeatures

        settings = dict(VOCOS_MEL_24K)
        if vocoder_dir is not None:
            settings = _vocos_feature_settings(Path(vocoder_dir))
        self.extractor = MelSpectrogramFeatures(**settings)
        self.sample_rate = settings["sample_rate"]
        self.hop = settings["hop_length"]
        self.center = settings.get("padding", "center") == "center"

    @property
    def frame_shift(self) -> float:
        return self.hop / self.sample_rate

    def num_frames(self, num_samples: int) -> int:
        # "center": T // hop + 1 frames; Vocos' "same" padding: T // hop.
        return num_samples // self.hop + (1 if self.center else 0)

    @torch.inference_mode()
    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        return self.extractor(wav)


def _vocos_feature_settings(folder: Path) -> dict:
    try:
        cfg = read_vocos_config(folder)
    except VocosLoadError as err:
        raise DataError(str(err)) from err
    fe = cfg["feature_extractor"]
    if not fe["class_path"].endswith("MelSpectrogramFeatures"):
        raise DataError(f"Vocos in '{folder}' does not use mel features ({fe['class_path']}): "
                        "mel extraction needs a mel Vocos.")
    return {**VOCOS_MEL_24K, **(fe.get("init_args") or {})}
