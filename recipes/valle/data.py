"""Batches for VALL-E: :class:`TTSDataset` code batches plus the LM's prompt / target split.

Two ways to get a prompt (``data.prompt``):

- ``prefix``: the first 1-3 s (``prompt_seconds``, at most ``max_prompt_fraction``
  of the utterance) of the utterance itself; the LM reads all its phonemes and
  continues the codes after the prefix.
- ``speaker``: another utterance of the same speaker, with its transcript; the LM
  reads ``prompt phonemes + word boundary + target phonemes`` and generates the
  whole target utterance, which is exactly the zero-shot setting of inference.
  Utterances of ``prompt_seconds`` are preferred (evaluation prompts are 3-5 s),
  then those up to ``max_prompt_seconds``. Speakers with a single utterance in the
  split fall back to a prefix prompt.

With ``alignment: monotonic`` (VALL-E R) the batches also carry each phoneme's frames
(the manifests' phone alignments, ``*_aligned`` code manifests), and the split is
where inference splits: the prompt is whole aligned symbols ending with a word
boundary (its phonemes are boundary-wrapped, as the aligner gives them at synthesis),
the target starts at the next word's first phoneme and ends with the utterance's
closing boundary. Cuts whose target could not give every phoneme an AR step of
``group_size`` frames are dropped when the manifest is read, with a warning.

Validation prompts are the same at every evaluation (chosen from the cut id), so
the validation curve compares like with like.
"""

from __future__ import annotations

import random
import warnings
from collections import defaultdict

import torch

from nn_common import pad_stack
from tts.data.dataset import CODE_PAD, TTSDataset
from tts.data.manifests import ALIGNMENT_KEY, DataError, frame_durations

from ..common import RecipeError
from ..data import CodesDataModule, cuts_by_speaker, speaker_partner

PROMPT_MODES = ("prefix", "speaker")
ALIGNMENTS = ("none", "monotonic")


def aligned_splits(boundary: list[bool], durations: list[int], n_frames: int, group: int) -> list[int]:
    """Where a prefix prompt may end in an aligned utterance: symbol counts ``k`` such that the
    prompt (the first ``k`` symbols) holds at least one AR step and the target (the rest) a step
    for each of its symbols; those after a word boundary (``boundary[k - 1]``) when there are any."""
    ends, total = [], 0
    for d in durations:
        total += d
        ends.append(total)
    n = len(durations)
    ok = [k for k in range(1, n) if ends[k - 1] >= group and (n_frames - ends[k - 1]) // group >= n - k]
    at_words = [k for k in ok if boundary[k - 1]]
    return at_words or ok


class PromptedDataset(torch.utils.data.Dataset):
    """Wraps ``TTSDataset(features="codes")`` and adds the LM's inputs to each batch.

    Keys added to :class:`TTSDataset`'s (which are kept unchanged):

    ====================== ===================== ==============================================
    key                    type / shape          content
    ====================== ===================== ==============================================
    lm_phonemes            LongTensor [B, L]     phonemes the LM reads (prompt's, then target's)
    lm_phoneme_lens        LongTensor [B]
    prompt_codes           LongTensor [B, Q, P]  prompt codes, padded with -1
    prompt_lens            LongTensor [B]
    target_codes           LongTensor [B, Q, T]  codes to predict, padded with -1
    target_lens            LongTensor [B]
    prompt_ids             list[str | None]      cut id of a ``speaker`` prompt (None: prefix)
    lm_durations           LongTensor [B, L]     monotonic: frames of each LM phoneme (0-padded);
                                                 the first ``lm_prompt_phoneme_lens`` sum to
                                                 ``prompt_lens``, the others to ``target_lens``
    lm_prompt_phoneme_lens LongTensor [B]        monotonic: the prompt's share of ``lm_phonemes``
    ====================== ===================== ==============================================

    Args:
        inner: the code dataset (with ``durations=True`` for ``monotonic``).
        mode: ``"prefix"`` or ``"speaker"``.
        cuts: the split's cuts (``speaker`` mode draws prompts from them).
        prompt_seconds: (min, max) seconds of a prefix prompt; speaker prompts of this
            length are preferred.
        max_prompt_fraction: a prefix prompt takes at most this share of the utterance.
        max_prompt_seconds: ``speaker`` prompts are chosen among utterances up to this long
            when none lasts ``prompt_seconds`` (the shortest other one when none is).
        separator_id: phoneme id between the prompt's and the target's phonemes (implicit
            alignment; the word boundary).
        seed: random seed.
        deterministic: choose each cut's prompt from its id (validation).
        alignment: ``"none"`` or ``"monotonic"`` (see the module docstring).
        group_size: frames per AR step of a monotonic model.
    """

    def __init__(self, inner: TTSDataset, mode: str = "prefix", cuts=None, prompt_seconds=(1.0, 3.0),
                 max_prompt_fraction: float = 0.5, max_prompt_seconds: float = 10.0, separator_id: int = 4,
                 seed: int = 0, deterministic: bool = False, alignment: str = "none", group_size: int = 1) -> None:
        if mode not in PROMPT_MODES:
            raise RecipeError(f"data.prompt must be one of {PROMPT_MODES}, got {mode!r}.")
        lo, hi = prompt_seconds
        if not 0 < lo <= hi or not 0 < max_prompt_fraction < 1:
            raise RecipeError("data.prompt_seconds must be (min, max) with 0 < min <= max, and "
                              "data.max_prompt_fraction in (0, 1).")
        if alignment not in ALIGNMENTS or group_size < 1:
            raise RecipeError(f"data.alignment must be one of {ALIGNMENTS} and data.group_size >= 1, got "
                              f"{alignment!r}, {group_size}.")
        if alignment == "monotonic" and not inner.durations:
            raise RecipeError("Monotonic batches need the phone alignments: a TTSDataset with durations=True.")
        self.inner, self.mode = inner, mode
        self.prompt_seconds, self.max_fraction = (float(lo), float(hi)), max_prompt_fraction
        self.max_prompt_seconds, self.separator_id = max_prompt_seconds, separator_id
        self.seed, self.deterministic = seed, deterministic
        self.monotonic, self.group = alignment == "monotonic", group_size
        self._rng: random.Random | None = None  # made in the process that uses it (see _rng_for)
        self.by_speaker: dict[str, list] = defaultdict(list)
        if mode == "speaker":
            if cuts is None:
                raise RecipeError("Speaker prompts need the split's cuts.")
            self.by_speaker = cuts_by_speaker(cuts)

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
        return speaker_partner(self.by_speaker, cut, rng, self.prompt_seconds, self.max_prompt_seconds)

    def _prefix_frames(self, n: int, duration: float, rng: random.Random) -> int:
        rate = n / max(duration, 1e-3)  # code frames per second of this cut
        frames = round(rng.uniform(*self.prompt_seconds) * rate)
        return max(1, min(frames, int(n * self.max_fraction), n - 1))

    def _aligned_prefix(self, ids: torch.Tensor, durations: torch.Tensor, n: int, duration: float,
                        rng: random.Random, cut_id: str) -> int:
        """The symbol count of an aligned prefix prompt: of the possible splits, the one whose
        prompt is nearest the drawn length, within ``max_prompt_fraction`` when one is."""
        want = rng.uniform(*self.prompt_seconds) * n / max(duration, 1e-3)
        space = self.inner.vocab.space_id
        splits = aligned_splits([int(i) == space for i in ids], durations.tolist(), n, self.group)
        if not splits:
            raise RecipeError(f"Cut {cut_id!r} cannot be split into a prompt and a target of one AR step per "
                              "phoneme; the data module should have dropped it (see VallEDataModule).")
        ends = durations.cumsum(0)
        fitting = [k for k in splits if int(ends[k - 1]) <= self.max_fraction * n] or splits
        return min(fitting, key=lambda k: (abs(int(ends[k - 1]) - want), k))

    def __getitem__(self, cuts) -> dict:
        cuts = list(cuts)
        batch = self.inner[cuts]
        partners = [None] * len(cuts)
        if self.mode == "speaker":
            partners = [self._partner(cut, self._rng_for(cut)) for cut in cuts]
        chosen = [p for p in partners if p is not None]
        prompt_batch = self.inner[chosen] if chosen else None
        texts, prompts, targets, durations, splits = [], [], [], [], []
        j = 0
        for i, cut in enumerate(cuts):
            ph = batch["phonemes"][i, : batch["phoneme_lens"][i]]
            codes = batch["codes"][i, :, : batch["code_lens"][i]]
            d = batch["durations"][i, : len(ph)] if self.monotonic else None
            if codes.shape[-1] < 2:
                raise RecipeError(f"Cut {cut.id!r} has {codes.shape[-1]} code frames: too short for a prompt "
                                  "and a target; raise data.min_duration.")
            if partners[i] is None:
                if self.monotonic:
                    k = self._aligned_prefix(ph, d, codes.shape[-1], cut.duration, self._rng_for(cut), cut.id)
                    p = int(d[:k].sum())
                    durations.append(d)
                    splits.append(k)
                else:
                    p = self._prefix_frames(codes.shape[-1], cut.duration, self._rng_for(cut))
                texts.append(ph)
                prompts.append(codes[:, :p])
                targets.append(codes[:, p:])
                continue
            pph = prompt_batch["phonemes"][j, : prompt_batch["phoneme_lens"][j]]
            prompts.append(prompt_batch["codes"][j, :, : prompt_batch["code_lens"][j]])
            if self.monotonic:  # the prompt's wrapped symbols, then the target's without its opening boundary
                texts.append(torch.cat([pph, ph[1:]]))
                targets.append(codes[:, int(d[0]):])
                durations.append(torch.cat([prompt_batch["durations"][j, : len(pph)], d[1:]]))
                splits.append(len(pph))
            else:
                sep = ph.new_tensor([self.separator_id] if self.separator_id >= 0 else [])
                texts.append(torch.cat([pph, sep, ph]))
                targets.append(codes)
            j += 1
        batch["lm_phonemes"], batch["lm_phoneme_lens"] = pad_stack(texts, self.inner.vocab.pad_id)
        batch["prompt_codes"], batch["prompt_lens"] = pad_stack(prompts, CODE_PAD)
        batch["target_codes"], batch["target_lens"] = pad_stack(targets, CODE_PAD)
        batch["prompt_ids"] = [p.id if p is not None else None for p in partners]
        if self.monotonic:
            batch["lm_durations"] = pad_stack(durations, 0)[0]
            batch["lm_prompt_phoneme_lens"] = torch.tensor(splits, dtype=torch.long)
        return batch


class VallEDataModule(CodesDataModule):
    """:class:`recipes.data.CodesDataModule` with prompts for VALL-E.

    Args (besides those of ``CodesDataModule``):
        prompt: ``"prefix"`` or ``"speaker"`` (see the module docstring).
        prompt_seconds: (min, max) seconds of prefix prompts; the preferred length of speaker prompts.
        max_prompt_fraction: share of an utterance a prefix prompt may take.
        max_prompt_seconds: longest speaker prompt preferred when none lasts ``prompt_seconds``.
        separator_id: phoneme id between prompt and target phonemes (must equal the
            model's ``separator_id``; the module checks).
        alignment: ``"none"`` or ``"monotonic"`` (must equal the model's; batches then carry
            phone durations, read from ``*_aligned`` code manifests).
        group_size: frames per AR step (must equal the model's).
    """

    def __init__(self, data_dir: str, train_cuts: str = "codes/cuts_train_codes.jsonl.gz",
                 val_cuts: str = "codes/cuts_dev_codes.jsonl.gz", prompt: str = "prefix",
                 prompt_seconds: tuple[float, float] = (1.0, 3.0), max_prompt_fraction: float = 0.5,
                 max_prompt_seconds: float = 10.0, separator_id: int = 4, language: str = "en-us",
                 sample_rate: int = 24000, max_duration: float = 40.0, num_buckets: int = 8,
                 min_duration: float = 0.5, max_utterance_duration: float = 20.0, num_workers: int = 2,
                 with_stress: bool = True, seed: int = 0, alignment: str = "none", group_size: int = 1) -> None:
        if prompt not in PROMPT_MODES:
            raise RecipeError(f"data.prompt must be one of {PROMPT_MODES}, got {prompt!r}.")
        if alignment not in ALIGNMENTS:
            raise RecipeError(f"data.alignment must be one of {ALIGNMENTS}, got {alignment!r}.")
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed,
                         durations=alignment == "monotonic")
        self.separator_id, self.alignment, self.group_size = separator_id, alignment, group_size

    def _cuts(self, name: str):
        cuts = super()._cuts(name)
        if self.alignment != "monotonic":
            return cuts
        def fits(cut) -> bool:
            items = (cut.supervisions[0].alignment or {}).get(ALIGNMENT_KEY) if len(cut.supervisions) == 1 else None
            if not items:
                raise RecipeError(f"Cut {cut.id!r} of '{self._path(name)}' has no phone alignment: a monotonic "
                                  "model trains on the codes of the *_aligned manifests (tts prepare align, then "
                                  "tts prepare features --kind codes on cuts_<split>_aligned.jsonl.gz).")
            n = cut.codes.shape[0]
            try:
                d = frame_durations(items, 1.0 / cut.codes.frame_shift, n)
            except DataError as err:
                raise RecipeError(str(err)) from err
            # a speaker-mode target (all but the opening boundary) and at least one prefix split
            whole = (n - d[0]) // self.group_size >= len(d) - 1
            return whole and bool(aligned_splits([it.symbol == " " for it in items], d, n, self.group_size))

        kept = cuts.filter(fits).to_eager()
        if len(kept) < len(cuts):
            warnings.warn(f"{len(cuts) - len(kept)} of {len(cuts)} cuts of '{self._path(name)}' are too short for "
                          f"a step of {self.group_size} frames per phoneme; they are left out.", stacklevel=2)
        if len(kept) == 0:
            raise RecipeError(f"No cut of '{self._path(name)}' has a step of {self.group_size} frames for each "
                              "phoneme: lower model.valle.group_size / data.group_size.")
        return kept

    def _dataset(self, cuts, shuffle: bool) -> PromptedDataset:
        hp = self.hparams
        # Validation draws each cut's prompt from its id: the same prompts at every evaluation.
        return PromptedDataset(self.dataset, hp.prompt, cuts, hp.prompt_seconds, hp.max_prompt_fraction,
                               hp.max_prompt_seconds, hp.separator_id, seed=hp.seed, deterministic=not shuffle,
                               alignment=hp.alignment, group_size=hp.group_size)
