"""Batches for VALL-E: :class:`TTSDataset` code batches plus the LM's prompt / target split.

Two ways to get a prompt (``data.prompt``):

- ``prefix``: the first 1-3 s (``prompt_seconds``, at most ``max_prompt_fraction``
  of the utterance) of the utterance itself; the LM reads all its phonemes and
  continues the codes after the prefix.
- ``speaker``: another utterance of the same speaker, with its transcript; the LM
  reads ``prompt phonemes + word boundary + target phonemes`` and generates the
  whole target utterance, which is exactly the zero-shot setting of inference.
  Speakers with a single utterance in the split fall back to a prefix prompt.

Validation prompts are the same at every evaluation (chosen from the cut id), so
the validation curve compares like with like.
"""

from __future__ import annotations

import random
from collections import defaultdict

import torch

from nn_common import pad_stack
from tts.data.dataset import CODE_PAD, TTSDataset

from ..common import RecipeError
from ..data import CodesDataModule

PROMPT_MODES = ("prefix", "speaker")


class PromptedDataset(torch.utils.data.Dataset):
    """Wraps ``TTSDataset(features="codes")`` and adds the LM's inputs to each batch.

    Keys added to :class:`TTSDataset`'s (which are kept unchanged):

    ================ ===================== ==============================================
    key              type / shape          content
    ================ ===================== ==============================================
    lm_phonemes      LongTensor [B, L]     phonemes the LM reads (prompt's, then target's)
    lm_phoneme_lens  LongTensor [B]
    prompt_codes     LongTensor [B, Q, P]  prompt codes, padded with -1
    prompt_lens      LongTensor [B]
    target_codes     LongTensor [B, Q, T]  codes to predict, padded with -1
    target_lens      LongTensor [B]
    prompt_ids       list[str | None]      cut id of a ``speaker`` prompt (None: prefix)
    ================ ===================== ==============================================

    Args:
        inner: the code dataset.
        mode: ``"prefix"`` or ``"speaker"``.
        cuts: the split's cuts (``speaker`` mode draws prompts from them).
        prompt_seconds: (min, max) seconds of a prefix prompt.
        max_prompt_fraction: a prefix prompt takes at most this share of the utterance.
        max_prompt_seconds: ``speaker`` prompts are chosen among utterances up to this long
            (the shortest other one when none is).
        separator_id: phoneme id between the prompt's and the target's phonemes.
        seed: random seed.
        deterministic: choose each cut's prompt from its id (validation).
    """

    def __init__(self, inner: TTSDataset, mode: str = "prefix", cuts=None, prompt_seconds=(1.0, 3.0),
                 max_prompt_fraction: float = 0.5, max_prompt_seconds: float = 10.0, separator_id: int = 4,
                 seed: int = 0, deterministic: bool = False) -> None:
        if mode not in PROMPT_MODES:
            raise RecipeError(f"data.prompt must be one of {PROMPT_MODES}, got {mode!r}.")
        lo, hi = prompt_seconds
        if not 0 < lo <= hi or not 0 < max_prompt_fraction < 1:
            raise RecipeError("data.prompt_seconds must be (min, max) with 0 < min <= max, and "
                              "data.max_prompt_fraction in (0, 1).")
        self.inner, self.mode = inner, mode
        self.prompt_seconds, self.max_fraction = (float(lo), float(hi)), max_prompt_fraction
        self.max_prompt_seconds, self.separator_id = max_prompt_seconds, separator_id
        self.seed, self.deterministic = seed, deterministic
        self._rng: random.Random | None = None  # made in the process that uses it (see _rng_for)
        self.by_speaker: dict[str, list] = defaultdict(list)
        if mode == "speaker":
            if cuts is None:
                raise RecipeError("Speaker prompts need the split's cuts.")
            for cut in cuts:
                speaker = cut.supervisions[0].speaker if cut.supervisions else None
                if speaker is not None:
                    self.by_speaker[speaker].append(cut)

    def _rng_for(self, cut) -> random.Random:
        if self.deterministic:
            return random.Random(f"{self.seed}:{cut.id}")
        if self._rng is None:
            # torch's seed differs per loader worker (and per rank under seed_everything), so
            # workers do not all draw the same prompt lengths.
            self._rng = random.Random(f"{self.seed}:{torch.initial_seed()}")
        return self._rng

    def _partner(self, cut, rng: random.Random):
        """Another cut of the same speaker, or None."""
        speaker = cut.supervisions[0].speaker if cut.supervisions else None
        others = [c for c in self.by_speaker.get(speaker, ()) if c.id != cut.id]
        if not others:
            return None
        short = [c for c in others if c.duration <= self.max_prompt_seconds]
        return rng.choice(short) if short else min(others, key=lambda c: c.duration)

    def _prefix_frames(self, n: int, duration: float, rng: random.Random) -> int:
        rate = n / max(duration, 1e-3)  # code frames per second of this cut
        frames = round(rng.uniform(*self.prompt_seconds) * rate)
        return max(1, min(frames, int(n * self.max_fraction), n - 1))

    def __getitem__(self, cuts) -> dict:
        cuts = list(cuts)
        batch = self.inner[cuts]
        partners = [None] * len(cuts)
        if self.mode == "speaker":
            partners = [self._partner(cut, self._rng_for(cut)) for cut in cuts]
        chosen = [p for p in partners if p is not None]
        prompt_batch = self.inner[chosen] if chosen else None
        texts, prompts, targets = [], [], []
        j = 0
        for i, cut in enumerate(cuts):
            ph = batch["phonemes"][i, : batch["phoneme_lens"][i]]
            codes = batch["codes"][i, :, : batch["code_lens"][i]]
            if codes.shape[-1] < 2:
                raise RecipeError(f"Cut {cut.id!r} has {codes.shape[-1]} code frames: too short for a prompt "
                                  "and a target; raise data.min_duration.")
            if partners[i] is None:
                p = self._prefix_frames(codes.shape[-1], cut.duration, self._rng_for(cut))
                texts.append(ph)
                prompts.append(codes[:, :p])
                targets.append(codes[:, p:])
                continue
            pph = prompt_batch["phonemes"][j, : prompt_batch["phoneme_lens"][j]]
            prompts.append(prompt_batch["codes"][j, :, : prompt_batch["code_lens"][j]])
            sep = ph.new_tensor([self.separator_id] if self.separator_id >= 0 else [])
            texts.append(torch.cat([pph, sep, ph]))
            targets.append(codes)
            j += 1
        batch["lm_phonemes"], batch["lm_phoneme_lens"] = pad_stack(texts, self.inner.vocab.pad_id)
        batch["prompt_codes"], batch["prompt_lens"] = pad_stack(prompts, CODE_PAD)
        batch["target_codes"], batch["target_lens"] = pad_stack(targets, CODE_PAD)
        batch["prompt_ids"] = [p.id if p is not None else None for p in partners]
        return batch


class VallEDataModule(CodesDataModule):
    """:class:`recipes.data.CodesDataModule` with prompts for VALL-E.

    Args (besides those of ``CodesDataModule``):
        prompt: ``"prefix"`` or ``"speaker"`` (see the module docstring).
        prompt_seconds: (min, max) seconds of prefix prompts.
        max_prompt_fraction: share of an utterance a prefix prompt may take.
        max_prompt_seconds: longest speaker prompt preferred.
        separator_id: phoneme id between prompt and target phonemes (must equal the
            model's ``separator_id``; the module checks).
    """

    def __init__(self, data_dir: str, train_cuts: str = "codes/cuts_train_codes.jsonl.gz",
                 val_cuts: str = "codes/cuts_dev_codes.jsonl.gz", prompt: str = "prefix",
                 prompt_seconds: tuple[float, float] = (1.0, 3.0), max_prompt_fraction: float = 0.5,
                 max_prompt_seconds: float = 10.0, separator_id: int = 4, language: str = "en-us",
                 sample_rate: int = 24000, max_duration: float = 40.0, num_buckets: int = 8,
                 min_duration: float = 0.5, max_utterance_duration: float = 20.0, num_workers: int = 2,
                 with_stress: bool = True, seed: int = 0) -> None:
        if prompt not in PROMPT_MODES:
            raise RecipeError(f"data.prompt must be one of {PROMPT_MODES}, got {prompt!r}.")
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed)
        self.separator_id = separator_id

    def _dataset(self, cuts, shuffle: bool) -> PromptedDataset:
        hp = self.hparams
        # Validation draws each cut's prompt from its id: the same prompts at every evaluation.
        return PromptedDataset(self.dataset, hp.prompt, cuts, hp.prompt_seconds, hp.max_prompt_fraction,
                               hp.max_prompt_seconds, hp.separator_id, seed=hp.seed, deterministic=not shuffle)
