"""Deterministic English test sentences for benchmarks.

Built from templates with a seeded RNG, so every run times the same text. They mix
plain words with what the normalizer must expand (numbers, money, times, dates,
abbreviations), like real TTS input.
"""

from __future__ import annotations

import random

_NAMES = ["Alice", "Dr. Brown", "Mr. Chen", "Maria", "the captain", "our neighbour", "Mrs. Patel", "the old man"]
_PLACES = ["the station", "St. Louis", "a quiet village", "the river bank", "London", "the market", "the library"]
_VERBS = ["walked to", "wrote about", "painted", "remembered", "drove past", "photographed", "described"]
_THINGS = ["a red umbrella", "the morning news", "three small boats", "an empty chair", "the winter garden"]
_TAILS = [
    "before the rain started.",
    "and nobody noticed at first.",
    "while the children were asleep.",
    "although it was already late.",
    "because the bridge had closed.",
    "with a strange sense of calm.",
]


def _numeric(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return f"It cost ${rng.randint(1, 999)}.{rng.randint(0, 99):02d} in {rng.randint(1950, 2030)}."
    if kind == 1:
        return f"The train leaves at {rng.randint(1, 12)}:{rng.randint(0, 59):02d} pm from platform {rng.randint(1, 20)}."
    if kind == 2:
        return f"About {rng.randint(2, 99)}% of the {rng.randint(1000, 99999):,} visitors came back."
    if kind == 3:
        return f"She finished {rng.randint(1, 40)}th out of {rng.randint(41, 500)} runners on May {rng.randint(1, 31)}."
    if kind == 4:
        return f"The road is {rng.randint(1, 300)} km long and {rng.randint(3, 15)}.{rng.randint(1, 9)} m wide."
    return f"We need {rng.randint(1, 3)}/{rng.choice([2, 3, 4])} cup of sugar and {rng.randint(2, 12)} eggs."


def benchmark_sentences(n: int = 1000, seed: int = 0) -> list[str]:
    """``n`` distinct-enough English sentences, identical for the same ``seed``."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 3 == 2:
            out.append(_numeric(rng))
        else:
            out.append(
                f"{rng.choice(_NAMES)} "
                f"{rng.choice(_VERBS)} {rng.choice(_THINGS)} near {rng.choice(_PLACES)} {rng.choice(_TAILS)}"
            )
    return [s[0].upper() + s[1:] for s in out]
