"""``TTSDataModule``: lhotse ``DynamicBucketingSampler`` batches of a prepared corpus.

Batches are filled up to ``max_duration`` seconds of speech from buckets of similar
length (little padding), and the ``DataLoader`` runs with ``batch_size=None`` since
the sampler yields whole batches (see :class:`tts.data.dataset.TTSDataset` for the
keys and shapes). Under DDP the lhotse sampler shards by rank itself, so the Trainer
must run with ``use_distributed_sampler: false`` (the recipe YAMLs set it).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from tts.data.dataset import TTSDataset
from tts.data.manifests import load_cuts


class TTSDataModule(L.LightningDataModule):
    """Train/validation loaders over ``DIR/<train_cuts>`` and ``DIR/<val_cuts>``.

    Args:
        data_dir: the prepared corpus folder.
        train_cuts: manifest file name (or path) for training.
        val_cuts: manifest file name (or path) for validation.
        features: ``"audio"``, ``"mel"`` or ``"codes"`` (see ``TTSDataset``).
        language: espeak-ng code for supervisions without one.
        max_duration: seconds of speech per batch (padded: cuts x the longest one; lhotse
            closes a batch with the cut that reaches the limit, so it may pass it by one cut).
        num_buckets: length buckets of the sampler.
        min_duration, max_utterance_duration: cuts outside this range are dropped.
        num_workers: loader worker processes (each phonemizes with its own espeak).
        seed: sampler shuffling seed.
    """

    def __init__(self, data_dir: str, train_cuts: str = "cuts_train.jsonl.gz", val_cuts: str = "cuts_dev.jsonl.gz",
                 features: str = "audio", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.data_dir = Path(data_dir)
        self.dataset = TTSDataset(features=features, language=language, sample_rate=sample_rate,
                                  with_stress=with_stress)

    def _cuts(self, name: str):
        path = Path(name) if Path(name).is_absolute() else self.data_dir / name
        lo, hi = self.hparams.min_duration, self.hparams.max_utterance_duration
        return load_cuts(path).filter(lambda c: lo <= c.duration <= hi).to_eager()

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        from lhotse.dataset import DynamicBucketingSampler

        cuts = self._cuts(name)
        sampler = DynamicBucketingSampler(
            # lhotse needs at least one cut per bucket: small dev sets get fewer buckets
            cuts, max_duration=self.hparams.max_duration, num_buckets=max(1, min(self.hparams.num_buckets, len(cuts))),
            shuffle=shuffle, drop_last=shuffle, seed=self.hparams.seed,
        )
        workers = self.hparams.num_workers
        return DataLoader(self.dataset, sampler=sampler, batch_size=None, num_workers=workers,
                          persistent_workers=workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.train_cuts, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.val_cuts, shuffle=False)
