"""Data modules of the TTS recipes: lhotse ``DynamicBucketingSampler`` batches of a prepared corpus.

- :class:`TTSDataModule` (aligner; flow adds speaker prompts in ``recipes/flow/data.py``): batches of :class:`tts.data.dataset.TTSDataset`
  (phonemes plus audio, stored mels or codes) from ``cuts_<split>.jsonl.gz``.
- :class:`CodesDataModule` (maskgct; valle adds prompts in ``recipes/valle/data.py``):
  the same over the code manifests ``tts prepare features --kind codes`` writes, saying
  how to make them when they are missing; with ``semantic``, over the manifests
  ``tts prepare features --kind semantic`` writes from those (codes and semantic tokens).

Batches are filled up to ``max_duration`` seconds of speech from buckets of similar
length (little padding), and the ``DataLoader`` runs with ``batch_size=None`` since
the sampler yields whole batches (see :class:`tts.data.dataset.TTSDataset` for the
keys and shapes). Under DDP the lhotse sampler shards by rank itself, so the Trainer
must run with ``use_distributed_sampler: false`` (the recipe YAMLs set it).
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from tts.data.dataset import TTSDataset
from tts.data.manifests import load_cuts, speaker_of

from .common import RecipeError


def cuts_by_speaker(cuts) -> dict[str, list]:
    """The cuts of each speaker (cuts without a speaker are left out)."""
    out: dict[str, list] = defaultdict(list)
    for cut in cuts:
        speaker = speaker_of(cut)
        if speaker is not None:
            out[speaker].append(cut)
    return out


def speaker_partner(by_speaker: dict[str, list], cut, rng: random.Random, prompt_seconds: tuple[float, float],
                    max_prompt_seconds: float):
    """Another cut of ``cut``'s speaker to serve as its prompt, or None when there is none.

    Cuts of ``prompt_seconds`` (min, max) are preferred (evaluation prompts are 3-5 s), then
    those up to ``max_prompt_seconds``, then the shortest.
    """
    speaker = speaker_of(cut)
    others = [c for c in by_speaker.get(speaker, ()) if c.id != cut.id]
    if not others:
        return None
    lo, hi = prompt_seconds
    fitting = [c for c in others if lo <= c.duration <= hi]
    short = fitting or [c for c in others if c.duration <= max_prompt_seconds]
    return rng.choice(short) if short else min(others, key=lambda c: c.duration)


class SpeakerPromptDataset(Dataset):
    """Wraps :class:`TTSDataset` and adds speaker prompts to a share of the items.

    Keys added to the inner batch: ``prompt_index`` (LongTensor ``[B]``: the row of each
    item's prompt in ``prompt_batch``, -1 for none) and, when some item has one,
    ``prompt_batch`` (the inner dataset's batch of the prompt cuts). The flow and MaskGCT
    recipes join each prompt before its item (``recipes.flow.pairs``,
    ``recipes.maskgct.pairs``), as synthesis puts a prompt before its text.
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


def check_prompt_options(speaker_prompt_prob: float, prompt_seconds, max_prompt_seconds: float,
                         durations: bool) -> tuple[float, float]:
    """The checked ``(min, max)`` prompt seconds of the data modules' speaker-prompt options."""
    lo, hi = prompt_seconds
    if not 0.0 <= speaker_prompt_prob <= 1.0 or not 0 < lo <= hi or max_prompt_seconds <= 0:
        raise RecipeError("data.speaker_prompt_prob must be in [0, 1], data.prompt_seconds (min, max) with "
                          f"0 < min <= max, data.max_prompt_seconds > 0; got {speaker_prompt_prob}, "
                          f"{prompt_seconds}, {max_prompt_seconds}.")
    if speaker_prompt_prob > 0 and not durations:
        raise RecipeError("data.speaker_prompt_prob needs the phone alignments: set data.durations: true and "
                          "train an aligned model on the *_aligned manifests.")
    return float(lo), float(hi)


def check_joined_durations(durations: torch.Tensor, frames: int, kind: str, row: int, features: str) -> None:
    """A speaker-prompt join's check: an item's or a prompt's phone durations sum to its frames."""
    if int(durations.sum()) != frames:
        raise RecipeError(f"The durations of {kind} {row} sum to {int(durations.sum())} frames, its {features} "
                          f"{'have' if features == 'codes' else 'has'} {frames}: train on the *_aligned manifests "
                          "with data.durations: true.")


class SpeakerPrompts:
    """Mixin of a :class:`TTSDataModule`: its training items get speaker prompts
    (:class:`SpeakerPromptDataset`) with probability ``speaker_prompt_prob``; validation
    items get none, so validation curves stay comparable with runs without them."""

    speaker_prompt_prob = 0.0

    def _init_prompts(self, speaker_prompt_prob: float, prompt_seconds, max_prompt_seconds: float,
                      durations: bool) -> None:
        self.prompt_seconds = check_prompt_options(speaker_prompt_prob, prompt_seconds, max_prompt_seconds, durations)
        self.speaker_prompt_prob, self.max_prompt_seconds = speaker_prompt_prob, max_prompt_seconds

    def _dataset(self, cuts, shuffle: bool) -> Dataset:
        if not shuffle or self.speaker_prompt_prob == 0:
            return self.dataset
        return SpeakerPromptDataset(self.dataset, cuts, self.speaker_prompt_prob, self.prompt_seconds,
                                    self.max_prompt_seconds, seed=self.hparams.seed)


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
        durations: batches carry the manifests' phone alignments (``tts prepare align``;
            train on the ``*_aligned`` manifests).
        loudness: scale audio to this loudness in LUFS (synthesis normalizes prompts to -20).
    """

    def __init__(self, data_dir: str, train_cuts: str = "cuts_train.jsonl.gz", val_cuts: str = "cuts_dev.jsonl.gz",
                 features: str = "audio", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0, durations: bool = False, loudness: float | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.data_dir = Path(data_dir)
        self.dataset = TTSDataset(features=features, language=language, sample_rate=sample_rate,
                                  with_stress=with_stress, durations=durations, loudness=loudness)

    def _path(self, name: str) -> Path:
        return Path(name) if Path(name).is_absolute() else self.data_dir / name

    def _cuts(self, name: str):
        """The manifest's cuts within the duration limits, in memory (the sampler needs their number)."""
        lo, hi = self.hparams.min_duration, self.hparams.max_utterance_duration
        cuts = load_cuts(self._path(name)).filter(lambda c: lo <= c.duration <= hi).to_eager()
        if len(cuts) == 0:
            raise RecipeError(f"No cuts left in '{self._path(name)}' between {lo} and {hi} s: widen "
                              "data.min_duration / data.max_utterance_duration.")
        return cuts

    def _dataset(self, cuts, shuffle: bool) -> Dataset:
        """The map-style dataset that turns a sampled ``CutSet`` into a batch."""
        return self.dataset

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        from lhotse.dataset import DynamicBucketingSampler

        hp = self.hparams
        cuts = self._cuts(name)
        sampler = DynamicBucketingSampler(
            # lhotse needs at least one cut per bucket: small dev sets get fewer buckets
            cuts, max_duration=hp.max_duration, num_buckets=max(1, min(hp.num_buckets, len(cuts))),
            shuffle=shuffle, drop_last=shuffle, seed=hp.seed,
        )
        return DataLoader(self._dataset(cuts, shuffle), sampler=sampler, batch_size=None,
                          num_workers=hp.num_workers, persistent_workers=hp.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.train_cuts, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.val_cuts, shuffle=False)


class CodesDataModule(SpeakerPrompts, TTSDataModule):
    """Code batches (``features`` is always ``"codes"``): ``phonemes``, ``phoneme_lens``,
    ``codes [B, Q, N]`` padded with -1, ``code_lens``; with ``semantic``, also
    ``semantic [B, S]`` padded with -1 and ``semantic_lens``.

    Args (those of :class:`TTSDataModule` but ``features`` and ``loudness``):
        train_cuts, val_cuts: code manifests, by default where
            ``tts prepare features --kind codes --out DATA/codes`` writes them (of the
            ``*_aligned`` manifests for ``durations``); with ``semantic``, the manifests
            ``tts prepare features --kind semantic`` wrote from them.
        semantic: batches carry the stored semantic tokens (MaskGCT with a semantic tokenizer).
        speaker_prompt_prob: share of training items that also bring another utterance of
            their speaker as a prompt (:class:`SpeakerPromptDataset`; aligned MaskGCT joins
            it before the item, as synthesis does; 0 = off). Validation batches get none.
        prompt_seconds: (min, max) seconds of the preferred prompts (evaluation's: 3-5 s).
        max_prompt_seconds: longest prompt taken when none lasts ``prompt_seconds``.
    """

    def __init__(self, data_dir: str, train_cuts: str = "codes/cuts_train_codes.jsonl.gz",
                 val_cuts: str = "codes/cuts_dev_codes.jsonl.gz", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0, durations: bool = False, semantic: bool = False, speaker_prompt_prob: float = 0.0,
                 prompt_seconds: tuple[float, float] = (3.0, 5.0), max_prompt_seconds: float = 10.0) -> None:
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, features="codes", language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed, durations=durations)
        self.semantic = self.dataset.semantic = semantic  # an attribute: subclasses save their own hparams
        self._init_prompts(speaker_prompt_prob, prompt_seconds, max_prompt_seconds, durations)

    def _cuts(self, name: str):
        path = self._path(name)
        if not path.is_file() and self.semantic:
            raise RecipeError(
                f"Semantic manifest '{path}' does not exist. Make it from a code manifest with `tts prepare features "
                f"--cuts {self.data_dir}/codes/cuts_<split>_codes.jsonl.gz --kind semantic --tokenizer TOKENIZER --out "
                f"{path.parent}` (or point data.train_cuts / data.val_cuts at yours).")
        if not path.is_file():
            raise RecipeError(
                f"Code manifest '{path}' does not exist. Make it with `tts prepare features --cuts "
                f"{self.data_dir}/cuts_<split>.jsonl.gz --kind codes --codec CODEC --out {path.parent}` "
                "(or point data.train_cuts / data.val_cuts at yours).")
        cuts = super()._cuts(name)
        if not next(iter(cuts)).has_custom("codes"):
            raise RecipeError(f"'{path}' holds no codec codes: give the manifest written by "
                              "`tts prepare features --kind codes` (its name ends in _codes.jsonl.gz).")
        if self.semantic and not next(iter(cuts)).has_custom("semantic"):
            raise RecipeError(f"'{path}' holds no semantic tokens (data.semantic: true): make them with `tts prepare "
                              f"features --cuts {path} --kind semantic --tokenizer TOKENIZER --out "
                              f"{self.data_dir}/semantic` and train on the manifest it writes.")
        return cuts
