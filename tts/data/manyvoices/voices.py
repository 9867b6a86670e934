"""The voices of a ManyVoices build: engine voices, their perturbations and pseudo-speakers.

A :class:`Voice` is one speaker id of the corpus. Its ``group`` (:func:`.sources.group_of`)
decides its split; a pseudo-speaker (``f0`` > 0: Praat's Change Gender moves the median
pitch to ``f0`` Hz and scales the formants by ``formant``, the vocal-tract-length warp) is a
new voice made from any voice, a real person's included, and keeps its source's group.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .sources import (
    DEV_UNSEEN, ESPEAK_ACCENTS, ESPEAK_OTHER, FESTIVAL_VOICES, FLITE_VOICES, KOKORO_PACKS, REAL_PACKS, TEST_UNSEEN,
    TRAIN, group_of, split_of_group, split_of_variant,
)

ENGLISH = "en-us"


@dataclass(frozen=True)
class Voice:
    """One speaker of the corpus.

    ``name`` is, by engine: espeak ``<accent or language>+<variant>``; flite/festival the voice;
    kokoro ``pack`` or ``pack:weight+pack:weight``; hibari ``heart``; piper ``joe``; real the
    pack's name (:data:`.sources.REAL_PACKS`).
    """

    engine: str
    name: str
    language: str
    pitch: int = 0  # espeak: -p 0..99; flite/festival: sox pitch shift in cents
    rate: float = 1.0  # espeak: -s words per minute; others: tempo / speed factor
    f0: int = 0  # pseudo-speaker: median pitch after Praat's Change Gender (Hz); 0: none
    formant: float = 1.0  # pseudo-speaker: formant ratio

    @property
    def base(self) -> str:
        """The engine voice without its perturbation (espeak: the accent; kokoro: the first pack)."""
        if self.engine == "espeak":
            return self.name.split("+")[0]
        if self.engine == "kokoro":
            return self.name.split("+")[0].split(":")[0]
        return self.name

    @property
    def variant(self) -> str | None:
        return self.name.split("+", 1)[1] if self.engine == "espeak" else None

    @property
    def packs(self) -> tuple[str, ...]:
        """Kokoro voice packs this voice is made of (empty for other engines)."""
        if self.engine != "kokoro":
            return ()
        return tuple(part.split(":")[0] for part in self.name.split("+"))

    @property
    def mix(self) -> tuple[tuple[str, float], ...]:
        """Kokoro's ``((pack, weight), ...)``."""
        parts = [p.split(":") for p in self.name.split("+")]
        return tuple((p[0], float(p[1]) if len(p) > 1 else 1.0) for p in parts)

    @property
    def group(self) -> str:
        return group_of(self.engine, self.base)

    @property
    def split(self) -> str:
        """``train``, ``dev_unseen`` or ``test_unseen``: the group's; an espeak-ng voice whose accent
        and variant belong to different splits is ``unused`` (never made)."""
        split = split_of_group(self.group)
        if self.engine == "espeak" and split_of_variant(self.variant) != split:
            return "unused"
        return split

    @property
    def real(self) -> bool:
        return self.engine == "real"

    @property
    def kind(self) -> str:
        """The source kind the corpus card groups by."""
        if self.f0:
            return "pseudo-speaker"
        return {"real": "real person", "kokoro": "neural", "hibari": "neural", "piper": "neural"}.get(
            self.engine, "espeak/flite/festival")

    @property
    def id(self) -> str:
        name = re.sub(r"[^A-Za-z0-9.]+", "-", self.name).strip("-")
        out = f"{self.engine}_{name}"
        if self.engine == "espeak":
            out += f"_p{self.pitch}_s{int(self.rate)}"
        elif self.engine in ("kokoro", "hibari", "piper"):
            out += f"_x{self.rate:.2f}" if self.rate != 1.0 else ""
        elif self.pitch or self.rate != 1.0:
            out += f"_c{self.pitch:+d}_t{self.rate:.2f}"
        if self.f0:
            out += f"_f{self.f0}_r{self.formant:.2f}"
        return out

    def to_dict(self) -> dict:
        return {"id": self.id, "engine": self.engine, "name": self.name, "language": self.language,
                "pitch": self.pitch, "rate": self.rate, "f0": self.f0, "formant": self.formant}

    @classmethod
    def from_dict(cls, d: dict) -> "Voice":
        return cls(d["engine"], d["name"], d["language"], d["pitch"], d["rate"], d["f0"], d["formant"])


def _espeak(name: str, language: str, rng: random.Random) -> Voice:
    return Voice("espeak", name, language, pitch=rng.randint(20, 80), rate=float(rng.choice(range(140, 196, 5))))


def pseudo_speaker(source: Voice, rng: random.Random, source_gender: str = "m") -> Voice:
    """A seeded Change Gender of ``source``: about half cross the gender line (median pitch
    95-135 Hz with formants x0.84-0.92, or 165-245 Hz with x1.08-1.20: a longer or shorter vocal
    tract), the rest stay on their side with another median pitch and formants moved by at least
    5 % either way (a smaller move left one of 12 pseudo-speakers as close to its source as two
    recordings of one voice are), so that every pseudo-speaker is a voice of its own."""
    female = source_gender == "f"
    cross = rng.random() < 0.5
    if female != cross:  # to the female range
        f0 = rng.choice(range(165, 246, 5))
        formant = rng.uniform(1.08, 1.20) if not female else rng.choice((rng.uniform(0.88, 0.95), rng.uniform(1.05, 1.12)))
    else:
        f0 = rng.choice(range(95, 136, 5))
        formant = rng.uniform(0.84, 0.92) if female else rng.choice((rng.uniform(0.88, 0.95), rng.uniform(1.05, 1.10)))
    return Voice(source.engine, source.name, source.language, source.pitch, source.rate, f0, round(formant, 2))


@dataclass(frozen=True)
class Sizes:
    """How many voices of each kind a build makes (the full build's, scaled by :func:`sizes`)."""

    espeak_english: int = 160  # training accent x variant voices
    espeak_unseen: int = 16  # per unseen split: the held-out accent in its held-out variants, 2 each
    espeak_other: int = 40  # espeak-ng in the real people's languages
    natural_perturbations: int = 3  # per flite/festival voice
    kokoro_mix_weights: tuple = (0.25, 0.5, 0.75)
    pseudo_per_real: int = 8
    pseudo_per_neural: int = 4
    pseudo_per_natural: int = 3


def sizes(hours: float) -> Sizes:
    """The voice counts for about ``hours`` of speech: the full build's at >= 15 h, fewer below
    (never less than a handful of each kind, so a tiny build still has every kind)."""
    f = min(1.0, hours / 15.0)
    full = Sizes()
    return Sizes(espeak_english=max(4, round(full.espeak_english * f)), espeak_unseen=max(2, round(full.espeak_unseen * f)),
                 espeak_other=max(2, round(full.espeak_other * f)),
                 natural_perturbations=max(1, round(full.natural_perturbations * f)),
                 kokoro_mix_weights=full.kokoro_mix_weights if f >= 0.5 else (0.5,),
                 pseudo_per_real=max(1, round(full.pseudo_per_real * f)),
                 pseudo_per_neural=max(1, round(full.pseudo_per_neural * f)),
                 pseudo_per_natural=max(1, round(full.pseudo_per_natural * f)))


def make_voices(engines: set[str], variants: list[str], hours: float, seed: int) -> list[Voice]:
    """Every voice of a build, in a fixed order, from the ``engines`` available.

    Args:
        engines: of ``espeak flite festival kokoro hibari piper real``.
        variants: espeak-ng's variants (:func:`tts.data.tinyvoices.voices.espeak_variants`).
        hours: the build's size (:func:`sizes`).
        seed: perturbations and which accent x variant pairs train.
    """
    rng = random.Random(seed)
    size = sizes(hours)
    voices: list[Voice] = []
    if "espeak" in engines and variants:
        train_variants = [v for v in variants if split_of_variant(v) == TRAIN]
        grid = [(a, v) for a in ESPEAK_ACCENTS if split_of_group(f"espeak:{a}") == TRAIN for v in train_variants]
        voices += [_espeak(f"{a}+{v}", ENGLISH, rng) for a, v in rng.sample(grid, min(len(grid), size.espeak_english))]
        for split in (TEST_UNSEEN, DEV_UNSEEN):
            accent = next(a for a in ESPEAK_ACCENTS if split_of_group(f"espeak:{a}") == split)
            held = [v for v in variants if split_of_variant(v) == split]
            for i in range(size.espeak_unseen):
                voices.append(_espeak(f"{accent}+{held[i % len(held)]}", ENGLISH, rng))
        other = [(lang, v) for lang in ESPEAK_OTHER for v in train_variants]
        voices += [_espeak(f"{lang}+{v}", lang, rng) for lang, v in rng.sample(other, min(len(other), size.espeak_other))]
    natural = []
    if "flite" in engines:
        natural += [Voice("flite", v, ENGLISH) for v in FLITE_VOICES]
    if "festival" in engines:
        natural += [Voice("festival", v, ENGLISH) for v in FESTIVAL_VOICES]
    for base in natural:
        for _ in range(size.natural_perturbations):
            voices.append(Voice(base.engine, base.name, ENGLISH, pitch=rng.choice(range(-300, 301, 50)),
                                rate=round(rng.uniform(0.88, 1.12), 2)))
    neural = []
    if "kokoro" in engines:
        for pack in KOKORO_PACKS:
            neural.append(Voice("kokoro", pack, ENGLISH, rate=round(rng.uniform(0.9, 1.1), 2)))
        train_packs = [p for p in KOKORO_PACKS if split_of_group(f"kokoro:{p}") == TRAIN]
        for i, a in enumerate(train_packs):
            for b in train_packs[i + 1:]:
                for w in size.kokoro_mix_weights:
                    neural.append(Voice("kokoro", f"{a}:{w:g}+{b}:{1 - w:g}", ENGLISH, rate=round(rng.uniform(0.9, 1.1), 2)))
    if "hibari" in engines:
        neural.append(Voice("hibari", "heart", ENGLISH))
    if "piper" in engines:
        neural.append(Voice("piper", "joe", ENGLISH))
    voices += natural + neural
    reals = [Voice("real", p.name, p.language) for p in REAL_PACKS] if "real" in engines else []
    voices += reals
    # Pseudo-speakers of every training voice that is not espeak-ng (which has its own variants).
    gender = {p.name: p.gender for p in REAL_PACKS}
    for source, n in ([(v, size.pseudo_per_real) for v in reals]
                      + [(v, size.pseudo_per_neural) for v in neural if "+" not in v.name]
                      + [(v, size.pseudo_per_natural) for v in natural]):
        if source.split != TRAIN:
            continue
        g = gender.get(source.name, "f" if source.name.startswith("jf_") or source.engine == "hibari" else "m")
        made: set[str] = set()
        for _ in range(20 * n):
            pseudo = pseudo_speaker(source, rng, g)
            if pseudo.id not in made:
                made.add(pseudo.id)
                voices.append(pseudo)
            if len(made) == n:
                break
    return [v for v in voices if v.split != "unused"]

