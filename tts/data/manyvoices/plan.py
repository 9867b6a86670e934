"""The deterministic plan of a ManyVoices build: one job per utterance, in five splits.

* ``test_unseen`` and ``dev_unseen``: every voice of the groups :data:`.sources.HELD_OUT`
  assigns them (whole sources: a real person, a Kokoro pack, an espeak-ng accent in held-out
  variants, a flite or festival speaker; piper's joe in ``dev_unseen``);
* ``train``: every other voice; ``dev`` and ``test_seen``: training voices reading new text;
* a sentence spoken in an evaluation split (unseen, ``dev``, ``test_seen``) is spoken nowhere
  else, by anyone: English sentences there are read once; the real people's prompts are theirs,
  and since the Asterisk packs of one language are translations of the same prompt list, a
  prompt text heard in evaluation is dropped from every training voice of that language.
  Training voices may read the same training sentence (the English pool holds about 10 h).

Counts are per voice (:data:`TRAIN_UTTS`, :data:`EVAL_UTTS`), scaled with ``hours`` like the
voice counts (:func:`.voices.sizes`); the full build (15 h) is about 300 voices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..tinyvoices.texts import estimate_seconds
from .real import Clip, join_clips
from .sources import DEV_UNSEEN, REAL_PACKS, TEST_UNSEEN, TRAIN
from .voices import Voice

SPLITS = ("train", "dev", "test_seen", "dev_unseen", "test_unseen")
PLAN_VERSION = 1
# Training utterances per voice at full size, by kind of voice.
TRAIN_UTTS = {"espeak": 30, "espeak-other": 12, "flite": 30, "festival": 30, "kokoro": 50, "hibari": 150,
              "pseudo": 50, "real": 0}  # real: every recording left after the evaluation splits
# Utterances per voice of an unseen split at full size (each split ~100 items; >= 15 real).
EVAL_UTTS = {"espeak": 2, "flite": 5, "festival": 5, "kokoro": 20, "hibari": 20, "piper": 30, "real": 40}
SEEN_EVAL_SHARE = 0.03  # of the training utterances, for each of dev and test_seen
PACKS = {p.name: p for p in REAL_PACKS}


@dataclass(frozen=True)
class Job:
    """One utterance: a voice reading ``text``; for a real person (or a pseudo-speaker made
    from one) the recorded prompts ``clips`` joined, ``text`` their transcripts."""

    id: str
    voice: Voice
    split: str
    text: str
    clips: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {"id": self.id, "voice": self.voice.id, "split": self.split, "text": self.text}
        if self.clips:
            d["clips"] = list(self.clips)
        return d


def _kind(v: Voice) -> str:
    if v.f0:
        return "pseudo"
    if v.engine == "espeak" and v.language != "en-us":
        return "espeak-other"
    return v.engine


def _count(table: dict, v: Voice, scale: float) -> int:
    return max(2, round(table.get(_kind(v), table.get(v.engine, 2)) * scale))


class _Texts:
    """Sentences per language. An English sentence of an evaluation split is read once in the
    whole corpus; training reads the rest, and once they are all read, reads them again in other
    voices (the pool has about 10 h of usable sentences). The other languages' prompt texts are
    few: training draws them with replacement, never one an evaluation split has spoken."""

    def __init__(self, english: list[str], other: dict[str, list[str]], rng: random.Random):
        self.english = list(english)
        rng.shuffle(self.english)
        self.train_read: list[str] = []
        self.other = {lang: sorted(set(texts)) for lang, texts in other.items()}
        self.rng = rng
        self.banned: set[str] = set()  # spoken in an evaluation split

    def take(self, voice: Voice, split: str) -> str | None:
        if voice.language == "en-us":
            speed = voice.rate / 175.0 if voice.engine == "espeak" else voice.rate
            for _ in range(50):
                fresh = bool(self.english)
                if fresh:
                    text = self.english.pop()
                elif split == TRAIN and self.train_read:
                    text = self.rng.choice(self.train_read)
                else:
                    return None
                if 3.6 <= estimate_seconds(text, speed, voice.engine) <= 13.5:
                    if split != TRAIN:
                        self.banned.add(text)
                    elif fresh:
                        self.train_read.append(text)
                    return text
            return None
        pool = [t for t in self.other.get(voice.language, []) if t not in self.banned]
        if not pool:
            return None
        text = self.rng.choice(pool)
        if split != TRAIN:
            self.banned.add(text)
        return text


def make_plan(voices: list[Voice], english: list[str], real_clips: dict[str, list[Clip]], hours: float,
              seed: int) -> list[Job]:
    """All jobs of a build.

    Args:
        voices: :func:`.voices.make_voices`.
        english: the English sentence pool (:func:`tts.data.tinyvoices.texts.sentence_pool`).
        real_clips: the verified clips of each real person (:func:`.real.verify_pack`), by pack name.
        hours: the build's size; counts scale with ``min(1, hours / 15)``.

    Raises:
        ValueError: ``hours`` is not positive, or no voice can train.
    """
    if not hours > 0:
        raise ValueError(f"--hours must be positive, got {hours}.")
    scale = min(1.0, hours / 15.0)
    rng = random.Random(seed)
    other: dict[str, list[str]] = {}
    for name, pack_clips in real_clips.items():
        other.setdefault(PACKS[name].language, []).extend(c.text for c in pack_clips)
    texts = _Texts(english, other, rng)
    # Each real person's prompts, joined into utterances, in a seeded order; popped as used.
    groups = {name: join_clips(clips, seed) for name, clips in real_clips.items()}
    jobs: list[Job] = []

    def add(voice: Voice, split: str, text: str, clips: tuple[str, ...] = ()) -> None:
        jobs.append(Job(f"mv{len(jobs):06d}", voice, split, text, clips))

    def real_job(voice: Voice, split: str, pool: list[list[Clip]]) -> bool:
        while pool:
            group = pool.pop()
            if any(c.text in texts.banned for c in group):
                continue
            if split != TRAIN:
                texts.banned.update(c.text for c in group)
            add(voice, split, " ".join(c.text for c in group), tuple(c.key for c in group))
            return True
        return False

    def synth_job(voice: Voice, split: str) -> bool:
        text = texts.take(voice, split)
        if text is not None:
            add(voice, split, text)
        return text is not None

    # 1. The unseen splits first: their texts are then banned from everything else.
    for split in (TEST_UNSEEN, DEV_UNSEEN):
        for voice in (v for v in voices if v.split == split):
            for _ in range(_count(EVAL_UTTS, voice, scale)):
                ok = real_job(voice, split, groups[voice.name]) if voice.real else synth_job(voice, split)
                if not ok:
                    break
    train = [v for v in voices if v.split == TRAIN]
    if not train:
        raise ValueError("No voice of this build can train: install the voice sources (see `tts prepare manyvoices -h`).")
    # 2. dev and test_seen: training voices, new text, a few utterances each in turn.
    n_train = sum(len(groups[v.name]) if v.real and not v.f0 else _count(TRAIN_UTTS, v, scale) for v in train)
    n_seen = max(len(SPLITS), round(SEEN_EVAL_SHARE * n_train))
    for split in ("dev", "test_seen"):
        order = rng.sample(train, len(train))
        made, i = 0, 0
        while made < n_seen and i < 4 * n_seen:
            voice = order[i % len(order)]
            i += 1
            if voice.real:  # a real person or a pseudo-speaker made from one
                made += real_job(voice, split, groups[voice.name])
            else:
                made += synth_job(voice, split)
    # 3. train: what is left of each real person, then every other voice.
    left = {name: [g for g in pool if not any(c.text in texts.banned for c in g)] for name, pool in groups.items()}
    for voice in train:
        if voice.real and not voice.f0:
            for group in left[voice.name]:
                add(voice, TRAIN, " ".join(c.text for c in group), tuple(c.key for c in group))
        elif voice.engine == "real":  # a pseudo-speaker of a real person reads that person's prompts
            pool = left[voice.name]
            for group in rng.sample(pool, min(len(pool), _count(TRAIN_UTTS, voice, scale))):
                add(voice, TRAIN, " ".join(c.text for c in group), tuple(c.key for c in group))
        else:
            for _ in range(_count(TRAIN_UTTS, voice, scale)):
                if not synth_job(voice, TRAIN):
                    break
    return jobs

