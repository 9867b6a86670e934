"""Random fixed-length audio crops from lhotse manifests, for the vocoder and codec recipes.

Reads ``<data_dir>/cuts_<split>.jsonl.gz`` (lhotse ``CutSet``; any sample rate, mixed to
mono and resampled to ``sample_rate``). Training yields random crops with a random
peak level, as the Vocos recipe does; validation yields the first ``val_crop_samples``
of each cut at a fixed level, so validation losses are comparable across runs.
Cuts shorter than a crop are repeated to fill it (Vocos does the same).

With ``phones=True`` (cuts with stored phone alignments, ``tts prepare align``) each crop
also carries the phoneme id of each of its frames (``-100`` where no phoneme is aligned
or the crop repeats a short cut), for codecs trained to make their first codebook phonetic.
"""

from __future__ import annotations

import random
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from text_frontend import PhonemeVocab
from tts.data.manifests import ALIGNMENT_KEY, load_cuts

from .common import RecipeError

IGNORE = -100  # frame label of no phoneme (torch's cross-entropy ignore_index)


def load_cut_list(data_dir: str | Path, split: str) -> list:
    """The cuts of ``<data_dir>/cuts_<split>.jsonl.gz`` as a list (random access for crops)."""
    path = Path(data_dir) / f"cuts_{split}.jsonl.gz"
    cuts = list(load_cuts(path))
    if not cuts:
        raise RecipeError(f"'{path}' holds no cuts.")
    return cuts


class AudioCrops(Dataset):
    """Fixed-length mono crops ``[crop_samples]`` of cuts.

    Args:
        cuts: lhotse cuts.
        sample_rate: output rate (cuts at another rate are resampled).
        crop_samples: crop length.
        train: random crop and random gain in ``gain_db``; otherwise the first crop at ``-3`` dB peak.
        repeats: each cut appears this many times per epoch (short epochs waste time on tiny corpora).
        gain_db: peak level range in dB for training crops.
        phones: also return frame labels ``[crop_samples // hop_length + 1]`` (long): the
            phoneme id (``vocab``) aligned at each frame's centre, :data:`IGNORE` elsewhere.
        hop_length: samples per frame of those labels (the vocoder's mel hop).
        vocab: phoneme vocabulary of the ids (default :meth:`PhonemeVocab.default`).
    """

    def __init__(self, cuts: list, sample_rate: int, crop_samples: int, train: bool, repeats: int = 1,
                 gain_db: tuple[float, float] = (-6.0, -1.0), phones: bool = False, hop_length: int = 256,
                 vocab=None):
        self.cuts = cuts
        self.sample_rate = sample_rate
        self.crop_samples = crop_samples
        self.train = train
        self.repeats = repeats
        self.gain_db = gain_db
        self.phones = phones
        self.hop_length = hop_length
        if phones and vocab is None:
            vocab = PhonemeVocab.default()
        self.vocab = vocab

    def __len__(self) -> int:
        return len(self.cuts) * self.repeats

    def _audio(self, cut) -> torch.Tensor:
        if cut.sampling_rate != self.sample_rate:
            cut = cut.resample(self.sample_rate)
        try:
            audio = torch.from_numpy(cut.load_audio()).float()
        except Exception as err:
            raise RecipeError(f"Cannot read the audio of cut {cut.id!r} ({type(err).__name__}: {err}): is the "
                              "corpus folder complete?") from err
        return audio.mean(0) if audio.dim() == 2 else audio

    def _labels(self, cut, first_frame: int, frames: int) -> torch.Tensor:
        """Phoneme ids ``[crop_samples // hop + 1]`` of the crop's frames, which are the cut's
        frames ``first_frame, first_frame + 1, ...``; only the first ``frames`` are the cut's own."""
        sup = cut.supervisions[0] if len(cut.supervisions) == 1 else None
        items = (sup.alignment or {}).get(ALIGNMENT_KEY) if sup is not None else None
        if not items:
            raise RecipeError(f"Cut {cut.id!r} has no phone alignment: codec phone targets need the aligned "
                              "manifests (`tts prepare align`; --data.train_split train_aligned).")
        rate = self.sample_rate / self.hop_length
        n = self.crop_samples // self.hop_length + 1
        # Frame bounds from rounded times, as tts.data.alignment.frame_durations counts them.
        ends = [round(it.start * rate) for it in items] + [round((items[-1].start + items[-1].duration) * rate)]
        cut_labels = torch.full((max(ends[-1], first_frame + n),), IGNORE, dtype=torch.long)
        for sym_id, a, b in zip(self.vocab.encode(it.symbol for it in items), ends[:-1], ends[1:]):
            cut_labels[a:b] = sym_id
        labels = cut_labels[first_frame:first_frame + n].clone()
        labels[frames:] = IGNORE  # repeated audio of a short cut
        return labels

    def __getitem__(self, index: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        cut = self.cuts[index % len(self.cuts)]
        y = self._audio(cut)
        n, hop = self.crop_samples, self.hop_length
        start, own = 0, n // hop + 1  # own: the crop's frames that show the cut (not a repeat)
        if y.numel() < n:
            own = -(-y.numel() // hop)
            y = y.repeat(n // max(1, y.numel()) + 1)[:n]
        elif self.train:
            # On the frame grid when labelled, so each crop frame is one of the cut's frames.
            start = random.randint(0, (y.numel() - n) // hop) * hop if self.phones else random.randint(0, y.numel() - n)
            y = y[start:start + n]
        else:
            y = y[:n]
        gain = random.uniform(*self.gain_db) if self.train else -3.0
        peak = y.abs().max().clamp_min(1e-4)
        y = y * (10 ** (gain / 20) / peak)
        return (y, self._labels(cut, start // hop, own)) if self.phones else y


class AudioCropDataModule(L.LightningDataModule):
    """Train/validation crops from a prepared corpus folder.

    Args:
        data_dir: folder with ``cuts_<train_split>.jsonl.gz`` and ``cuts_<val_split>.jsonl.gz``.
        sample_rate: rate of the model (24000 for Vocos 24 kHz).
        crop_samples: training crop length (Vocos: 16384).
        val_crop_samples: validation crop length (Vocos: 48384).
        batch_size: training batch size (per device).
        val_batch_size: validation batch size (default: ``batch_size``).
        num_workers: loader processes (0 loads in the training process).
        train_repeats: epochs are this many passes over the training cuts.
        max_val_cuts: use at most this many validation cuts (the first ones).
        train_split, val_split: manifest names.
        phones: batches are ``(audio, frame phoneme ids)`` (see :class:`AudioCrops`); the
            splits must be aligned manifests (e.g. ``train_aligned`` / ``dev_aligned``).
        hop_length: samples per frame of the phoneme labels (the vocoder's hop).
    """

    def __init__(self, data_dir: str, sample_rate: int = 24000, crop_samples: int = 16384,
                 val_crop_samples: int = 48384, batch_size: int = 16, val_batch_size: int | None = None,
                 num_workers: int = 0, train_repeats: int = 1, max_val_cuts: int | None = None,
                 train_split: str = "train", val_split: str = "dev", phones: bool = False, hop_length: int = 256):
        super().__init__()
        if crop_samples <= 0 or val_crop_samples <= 0 or batch_size <= 0 or train_repeats <= 0:
            raise RecipeError("crop_samples, val_crop_samples, batch_size and train_repeats must be positive.")
        self.save_hyperparameters()
        self.train_set: AudioCrops | None = None
        self.val_set: AudioCrops | None = None

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if self.train_set is None:
            labels = {"phones": hp.phones, "hop_length": hp.hop_length}
            self.train_set = AudioCrops(load_cut_list(hp.data_dir, hp.train_split), hp.sample_rate, hp.crop_samples,
                                        train=True, repeats=hp.train_repeats, **labels)
            val_cuts = load_cut_list(hp.data_dir, hp.val_split)
            self.val_set = AudioCrops(val_cuts[:hp.max_val_cuts] if hp.max_val_cuts else val_cuts, hp.sample_rate,
                                      hp.val_crop_samples, train=False, **labels)

    def _loader(self, dataset: AudioCrops, batch_size: int, train: bool) -> DataLoader:
        hp = self.hparams
        return DataLoader(dataset, batch_size=batch_size, shuffle=train, drop_last=train and len(dataset) >= batch_size,
                          num_workers=hp.num_workers, persistent_workers=hp.num_workers > 0,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.hparams.val_batch_size or self.hparams.batch_size, train=False)
