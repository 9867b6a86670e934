"""Batches for the flow recipe: :class:`recipes.data.TTSDataModule` plus speaker prompts.

With ``data.speaker_prompt_prob: P`` each training item, with probability P, also brings
another utterance of its speaker (3-5 s preferred, as evaluation's prompts): the module
then trains on that utterance followed by the item, predicting all of the item
(``recipes.flow.pairs``), which is exactly what synthesis asks of the model. The other
items keep the random infilling spans. Validation batches get no prompts, so the
validation curve stays comparable with models trained without them.
"""

from __future__ import annotations

import random

import torch
from torch.utils.data import Dataset

from tts.data.dataset import TTSDataset

from ..common import RecipeError
from ..data import TTSDataModule, cuts_by_speaker, speaker_partner


class SpeakerPromptDataset(Dataset):
    """Wraps :class:`TTSDataset` and adds speaker prompts to a share of the items.

    Keys added to the inner batch: ``prompt_index`` (LongTensor ``[B]``: the row of each
    item's prompt in ``prompt_batch``, -1 for none) and, when some item has one,
    ``prompt_batch`` (the inner dataset's batch of the prompt cuts).
    """

    def __init__(self, inner: TTSDataset, cuts, prob: float, prompt_seconds: tuple[float, float] = (3.0, 5.0),
                 max_prompt_seconds: float = 10.0, seed: int = 0) -> None:
        self.inner, self.prob = inner, prob
        self.prompt_seconds, self.max_prompt_seconds, self.seed = prompt_seconds, max_prompt_seconds, seed
        self.by_speaker = cuts_by_speaker(cuts)
        self._rng: random.Random | None = None

    def __getitem__(self, cuts) -> dict:
        cuts = list(cuts)
        if self._rng is None:  # made in the loader worker that uses it: workers draw differently
            self._rng = random.Random(f"{self.seed}:{torch.initial_seed()}")
        rng = self._rng
        batch = self.inner[cuts]
        partners = [speaker_partner(self.by_speaker, c, rng, self.prompt_seconds, self.max_prompt_seconds)
                    if rng.random() < self.prob else None for c in cuts]
        chosen = [p for p in partners if p is not None]
        index, k = [], 0
        for p in partners:
            index.append(-1 if p is None else k)
            k += p is not None
        batch["prompt_index"] = torch.tensor(index, dtype=torch.long)
        if chosen:
            batch["prompt_batch"] = self.inner[chosen]
        return batch


class FlowDataModule(TTSDataModule):
    """:class:`recipes.data.TTSDataModule` with speaker prompts (see the module docstring).

    Args (besides those of ``TTSDataModule``):
        speaker_prompt_prob: share of training items that get another utterance of their
            speaker as a prompt (aligned models; 0 = off).
        prompt_seconds: (min, max) seconds of the preferred prompts.
        max_prompt_seconds: longest prompt taken when none lasts ``prompt_seconds``.
    """

    def __init__(self, data_dir: str, train_cuts: str = "cuts_train.jsonl.gz", val_cuts: str = "cuts_dev.jsonl.gz",
                 features: str = "audio", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0, durations: bool = False, loudness: float | None = None,
                 speaker_prompt_prob: float = 0.0, prompt_seconds: tuple[float, float] = (3.0, 5.0),
                 max_prompt_seconds: float = 10.0) -> None:
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, features=features, language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed, durations=durations,
                         loudness=loudness)
        lo, hi = prompt_seconds
        if not 0.0 <= speaker_prompt_prob <= 1.0 or not 0 < lo <= hi or max_prompt_seconds <= 0:
            raise RecipeError("data.speaker_prompt_prob must be in [0, 1], data.prompt_seconds (min, max) with "
                              f"0 < min <= max, data.max_prompt_seconds > 0; got {speaker_prompt_prob}, "
                              f"{prompt_seconds}, {max_prompt_seconds}.")
        if speaker_prompt_prob > 0 and not durations:
            raise RecipeError("data.speaker_prompt_prob needs the phone alignments: set data.durations: true and "
                              "train an aligned model on the *_aligned manifests.")
        self.speaker_prompt_prob = speaker_prompt_prob
        self.prompt_seconds, self.max_prompt_seconds = (float(lo), float(hi)), max_prompt_seconds

    def _dataset(self, cuts, shuffle: bool) -> Dataset:
        if not shuffle or self.speaker_prompt_prob == 0:
            return self.dataset
        return SpeakerPromptDataset(self.dataset, cuts, self.speaker_prompt_prob, self.prompt_seconds,
                                    self.max_prompt_seconds, seed=self.hparams.seed)
