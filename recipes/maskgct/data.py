"""``MaskGCTDataModule``: :class:`recipes.data.TTSDataModule` over stored codec codes.

MaskGCT trains on whole utterances: the model itself cuts each one into a prompt
(a random prefix) and a target, so the batches are exactly those of
:class:`tts.data.dataset.TTSDataset` with ``features="codes"`` (``phonemes``,
``phoneme_lens``, ``codes [B, Q, N]`` padded with -1, ``code_lens``). This module
only points at the manifests ``tts prepare features --kind codes`` writes and says
how to make them when they are missing.
"""

from __future__ import annotations

from pathlib import Path

from ..common import RecipeError
from ..data import TTSDataModule


class MaskGCTDataModule(TTSDataModule):
    """Code batches for MaskGCT.

    Args (those of ``TTSDataModule``; ``features`` is always ``"codes"``):
        train_cuts, val_cuts: code manifests, by default where
            ``tts prepare features --kind codes --out DATA/codes`` writes them.
    """

    def __init__(self, data_dir: str, train_cuts: str = "codes/cuts_train_codes.jsonl.gz",
                 val_cuts: str = "codes/cuts_dev_codes.jsonl.gz", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0) -> None:
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, features="codes", language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed)

    def _cuts(self, name: str):
        path = Path(name) if Path(name).is_absolute() else self.data_dir / name
        if not path.is_file():
            raise RecipeError(
                f"Code manifest '{path}' does not exist. Make it with `tts prepare features --cuts "
                f"{self.data_dir}/cuts_<split>.jsonl.gz --kind codes --codec CODEC --out {path.parent}` "
                "(or point data.train_cuts / data.val_cuts at yours).")
        cuts = super()._cuts(name)
        first = next(iter(cuts), None)
        if first is None:
            hp = self.hparams
            raise RecipeError(f"No cuts left in '{path}' between {hp.min_duration} and "
                              f"{hp.max_utterance_duration} s: widen data.min_duration / data.max_utterance_duration.")
        if not first.has_custom("codes"):
            raise RecipeError(f"'{path}' holds no codec codes: give the manifest written by "
                              "`tts prepare features --kind codes` (its name ends in _codes.jsonl.gz).")
        return cuts
