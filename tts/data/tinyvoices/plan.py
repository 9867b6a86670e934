"""The deterministic plan of a TinyVoices corpus: speakers, splits, and one job per utterance.

Everything random is drawn from ``random.Random`` seeded by ``--seed``, so the same
seed, hours and installed voices give the same plan (and, since the engines and sox
without dither are deterministic, the same audio). The plan is written to
``plan.json`` on the first run and reused on resume.

Splits:

* ``test_unseen``: speakers of held-out *base voices* (about 8 %, at least two,
  one of them a flite/festival voice when there are enough), never in any other split;
* ``test_seen``, ``dev``, ``train``: the other speakers;
* sentences are disjoint across all splits, so both test splits have new sentences.

:func:`extend_train` adds training speech to a plan without touching its other splits:
more of the pool's unused sentences, read by the training speakers. The text, not the
voices, is what a small corpus runs short of first (5 h use about a quarter of the pool).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .texts import estimate_seconds
from .voices import BaseVoice, Speaker, choose_speakers, perturb_voice_change

PLAN_VERSION = 2
MIN_SECONDS, MAX_SECONDS = 3.0, 15.0
MEAN_SECONDS = 5.0  # mean duration of a planned utterance, from the estimate
UTTERANCES_PER_SPEAKER = 12
VOICE_CHANGES_PER_VOICE = 4  # new speakers per natural training voice in extend_voice_changes
MIN_SPEAKERS = 8


@dataclass(frozen=True)
class Job:
    """One utterance to synthesize."""

    id: str
    speaker: Speaker
    text: str
    split: str

    def to_dict(self) -> dict:
        return {"id": self.id, "speaker": self.speaker.id, "text": self.text, "split": self.split}


def _speed(sp: Speaker) -> float:
    """Speaking-rate factor of a speaker relative to its engine's default."""
    return sp.rate / 175.0 if sp.base.engine == "espeak" else sp.rate


def _hold_out(speakers: list[Speaker], seed: int) -> set[str]:
    """Keys of the base voices reserved for ``test_unseen``."""
    rng = random.Random(seed + 1)
    bases = list(dict.fromkeys(sp.base.key for sp in speakers))
    natural = [b for b in bases if not b.startswith("espeak:")]
    espeak = [b for b in bases if b.startswith("espeak:")]
    n_unseen = max(2, round(0.08 * len(bases)))
    unseen: list[str] = []
    if len(natural) >= 3:  # keep most natural voices for training
        unseen.append(rng.choice(natural))
    pool = espeak if len(espeak) >= n_unseen else bases
    for b in rng.sample(pool, len(pool)):
        if len(unseen) >= n_unseen:
            break
        if b not in unseen:
            unseen.append(b)
    return set(unseen)


def _read_in_turn(pool: list[str], speakers: list[Speaker], split: str, jobs: list[Job], total: float,
                  stop) -> float:
    """Append ``split`` jobs to ``jobs`` until ``stop(seconds so far)`` or the pool runs out:
    sentences popped from the end of ``pool``, given to ``speakers`` in turn. Returns ``total``
    plus the estimated seconds added."""
    k = 0
    while pool and not stop(total):
        sp = speakers[k % len(speakers)]
        text = pool.pop()
        est = estimate_seconds(text, _speed(sp), sp.base.engine)
        if not MIN_SECONDS * 1.2 <= est <= MAX_SECONDS * 0.9:
            continue  # likely outside 3-15 s at this speaker's rate; sentences are used once
        jobs.append(Job(f"tv{len(jobs):06d}", sp, text, split))
        total += est
        k += 1
    return total


def make_plan(hours: float, seed: int, voices: list[BaseVoice], sentences: list[str]) -> tuple[list[Speaker], list[Job]]:
    """Plan about ``hours`` of speech.

    Args:
        hours: target total duration, all splits together.
        seed: the only source of randomness.
        voices: the base voice catalogue (:func:`voices.base_voices`).
        sentences: the sentence pool (:func:`texts.sentence_pool`), in a fixed order.

    Returns:
        The speakers and the jobs, in order.

    Raises:
        ValueError: ``hours`` is not positive, there are too few voices or sentences.
    """
    if not hours > 0:
        raise ValueError(f"--hours must be positive, got {hours}.")
    n_utts = math.ceil(hours * 3600 / MEAN_SECONDS)
    n_speakers = max(MIN_SPEAKERS, round(n_utts / UTTERANCES_PER_SPEAKER))
    speakers = choose_speakers(voices, n_speakers, seed)
    if len({sp.base.key for sp in speakers}) < 3:
        raise ValueError("TinyVoices needs at least 3 engine voices; install espeak-ng, flite and festival.")
    unseen_bases = _hold_out(speakers, seed)
    unseen = [sp for sp in speakers if sp.base.key in unseen_bases]
    seen = [sp for sp in speakers if sp.base.key not in unseen_bases]

    small = max(2, min(8, n_utts // 20))  # floor for small corpora
    counts = {
        "test_unseen": max(2 * len(unseen), round(0.05 * n_utts)),
        "test_seen": max(small, round(0.04 * n_utts)),
        "dev": max(small, round(0.03 * n_utts)),
    }
    rng = random.Random(seed)
    pool = list(sentences)
    rng.shuffle(pool)
    jobs: list[Job] = []
    total = 0.0
    budget = hours * 3600 * 1.02  # a few utterances fall outside 3-15 s and are dropped

    def take(split: str, group: list[Speaker], stop) -> None:
        nonlocal total
        total = _read_in_turn(pool, rng.sample(group, len(group)), split, jobs, total, stop)

    for split, group in (("test_unseen", unseen), ("test_seen", seen), ("dev", seen)):
        start = len(jobs)
        take(split, group, lambda _: len(jobs) - start >= counts[split])
    n_eval = len(jobs)
    # Until the budget is spent, and in any case until train holds half of the corpus.
    take("train", seen, lambda spent: spent >= budget and len(jobs) - n_eval >= n_eval)
    if sum(j.split == "train" for j in jobs) == 0 or (not pool and total < budget * 0.5):
        raise ValueError(f"Not enough sentences for {hours} h of speech (planned {total / 3600:.2f} h).")
    return speakers, jobs


def extend_train(jobs: list[Job], extra_hours: float, seed: int, sentences: list[str]) -> list[Job]:
    """Jobs for about ``extra_hours`` more of training speech after the plan's ``jobs``.

    The sentences are ones no job of the plan uses, in a seeded order; the speakers are
    the plan's training speakers, in turn, so the test and dev splits, their speakers
    and their sentences stay exactly as they were. Ids continue after the plan's.

    Raises:
        ValueError: ``extra_hours`` is negative, or the pool has less than half of it left.
    """
    if extra_hours < 0:
        raise ValueError(f"--extra-train-hours must be >= 0, got {extra_hours}.")
    if extra_hours == 0:
        return []
    speakers = list(dict.fromkeys(j.speaker for j in jobs if j.split == "train"))
    return _read_more(jobs, speakers, sentences, random.Random(seed + 2), extra_hours, "--extra-train-hours")


def _read_more(jobs: list[Job], speakers: list[Speaker], sentences: list[str], rng: random.Random, hours: float,
               option: str) -> list[Job]:
    """About ``hours`` of train jobs after ``jobs``: ``sentences`` no job uses, shuffled by
    ``rng``, read by ``speakers`` in turn (in an order ``rng`` draws).

    Raises:
        ValueError: the pool has less than half of ``hours`` left (``option`` names the flag).
    """
    used = {j.text for j in jobs}
    pool = [s for s in sentences if s not in used]
    rng.shuffle(pool)
    budget = hours * 3600 * 1.02
    extended = list(jobs)
    total = _read_in_turn(pool, rng.sample(speakers, len(speakers)), "train", extended, 0.0,
                          lambda spent: spent >= budget)
    if total < budget * 0.5:
        raise ValueError(f"The sentence pool has only {total / 3600:.2f} h of unused sentences left for "
                         f"{option} {hours}: ask for less.")
    return extended[len(jobs):]


def extend_voice_changes(jobs: list[Job], hours: float, seed: int, sentences: list[str]
                         ) -> tuple[list[Speaker], list[Job]]:
    """New training speakers and about ``hours`` of their speech, after ``jobs``.

    Each flite/festival base voice that trains in ``jobs`` gets
    :data:`VOICE_CHANGES_PER_VOICE` seeded voice changes into the female range
    (:func:`.voices.perturb_voice_change`); they read sentences no job of ``jobs`` uses, in
    turn, in the train split. Held-out voices stay held out, and the test and dev splits,
    their speakers and their sentences stay exactly as they were. Ids continue after ``jobs``.

    Raises:
        ValueError: ``hours`` is negative, the plan trains no flite/festival voice, or the
            pool has less than half of ``hours`` left.
    """
    if hours < 0:
        raise ValueError(f"--voice-change-hours must be >= 0, got {hours}.")
    if hours == 0:
        return [], []
    unseen = {j.speaker.base.key for j in jobs if j.split == "test_unseen"}
    bases = list(dict.fromkeys(j.speaker.base for j in jobs
                               if j.split == "train" and j.speaker.base.engine != "espeak"
                               and j.speaker.base.key not in unseen))
    if not bases:
        raise ValueError("--voice-change-hours needs flite or festival voices in training: install flite and festival "
                         "voices (`make setup` as root) and make the corpus again in a new --out folder.")
    rng = random.Random(seed + 3)
    taken = {j.speaker.id for j in jobs}
    speakers: list[Speaker] = []
    for base in bases:
        made = 0
        for _ in range(VOICE_CHANGES_PER_VOICE * 20):
            sp = perturb_voice_change(base, rng)
            if sp.id not in taken:
                taken.add(sp.id)
                speakers.append(sp)
                made += 1
            if made == VOICE_CHANGES_PER_VOICE:
                break
    return speakers, _read_more(jobs, speakers, sentences, rng, hours, "--voice-change-hours")
