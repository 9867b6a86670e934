"""The TinyVoices voice catalogue: which engine voices exist and how they become speakers.

A *base voice* is one engine voice (espeak-ng accent + variant, a flite voice, a
festival voice). A *speaker* is a base voice plus a deterministic perturbation:
for espeak-ng its own pitch (``-p``) and rate (``-s``) settings, for flite and
festival a sox pitch shift (cents) and tempo factor. Splits hold out whole base
voices, so ``test_unseen`` speakers are voices the model never heard in any form.

A flite/festival speaker may also carry a *voice change* (``f0`` > 0): Praat's Change
Gender moves its median pitch to ``f0`` Hz and scales its formants by ``formant``,
timing unchanged. Every natural engine voice here is male (F0 80-145 Hz), so this is
the only way the catalogue gets natural-sounding voices in the female range
(:func:`.plan.extend_voice_changes`).

flite's ``slt`` and festival's ``cmu_us_slt_arctic_hts`` are reserved zero-shot test
voices: they are never part of the catalogue, for any split.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESERVED_VOICES = frozenset({"flite:slt", "festival:cmu_us_slt_arctic_hts"})

ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                  "en-029", "en-us-nyc")
# Variants that do not sound like a person speaking (whispering, robots, effects).
_ESPEAK_VARIANT_EXCLUDE = re.compile(r"^(whisper.*|robosoft.*|.*[Rr]obot|Demonic|croak|fast|Tweaky|Storm|kaukovalta)$")
FLITE_VOICES = ("kal", "kal16", "awb", "rms")
FESTIVAL_ROOT = Path("/usr/share/festival/voices/english")


@dataclass(frozen=True)
class BaseVoice:
    """One engine voice. ``key`` is ``engine:voice`` (``espeak:en-gb-x-rp+m3``)."""

    engine: str
    voice: str

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.voice}"


@dataclass(frozen=True)
class Speaker:
    """A base voice with its perturbation; ``id`` is filesystem-safe and unique."""

    base: BaseVoice
    pitch: int  # espeak: -p 0..99; flite/festival: sox pitch shift in cents
    rate: float  # espeak: -s words per minute; flite/festival: sox tempo factor
    f0: int = 0  # flite/festival: median pitch (Hz) after Praat's Change Gender; 0: no voice change
    formant: float = 1.0  # with f0: Change Gender's formant shift ratio

    @property
    def id(self) -> str:
        voice = self.base.voice.replace("+", "-").replace(":", "-")
        if self.base.engine == "espeak":
            return f"espeak_{voice}_p{self.pitch}_s{int(self.rate)}"
        if self.f0:
            return f"{self.base.engine}_{voice}_f{self.f0}_r{self.formant:.2f}_t{self.rate:.2f}"
        return f"{self.base.engine}_{voice}_c{self.pitch:+d}_t{self.rate:.2f}"

    def to_dict(self) -> dict:
        d = {"id": self.id, "engine": self.base.engine, "voice": self.base.voice, "pitch": self.pitch,
             "rate": self.rate}
        if self.f0:  # only then, so that plans made before voice changes read back unchanged
            d.update(f0=self.f0, formant=self.formant)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Speaker":
        """The inverse of :meth:`to_dict` (``id`` is recomputed, not read)."""
        return cls(BaseVoice(d["engine"], d["voice"]), d["pitch"], d["rate"], d.get("f0", 0), d.get("formant", 1.0))


def espeak_variants() -> list[str]:
    """espeak-ng's voice variants (``!v`` folder) that sound like a person, sorted."""
    try:
        out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    names = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[-1].startswith("!v/"):
            names.add(parts[-1][3:])
        elif len(parts) >= 4:
            names.add(parts[3].replace("!v/", ""))
    return sorted(n for n in names if n and not _ESPEAK_VARIANT_EXCLUDE.match(n))


def festival_voices() -> list[str]:
    """Installed festival English voices, reserved ones excluded."""
    if not FESTIVAL_ROOT.is_dir() or shutil.which("text2wave") is None:
        return []
    return sorted(p.name for p in FESTIVAL_ROOT.iterdir()
                  if p.is_dir() and f"festival:{p.name}" not in RESERVED_VOICES)


def base_voices() -> list[BaseVoice]:
    """Every usable base voice on this machine, in a fixed order."""
    voices: list[BaseVoice] = []
    if shutil.which("espeak-ng"):
        voices += [BaseVoice("espeak", f"{a}+{v}") for a in ESPEAK_ACCENTS for v in espeak_variants()]
    if shutil.which("flite"):
        voices += [BaseVoice("flite", v) for v in FLITE_VOICES]
    voices += [BaseVoice("festival", v) for v in festival_voices()]
    voices = [v for v in voices if v.key not in RESERVED_VOICES]
    return voices


def perturb(base: BaseVoice, rng: random.Random) -> Speaker:
    """A random but seed-determined perturbation of ``base``."""
    if base.engine == "espeak":
        return Speaker(base, pitch=rng.randint(25, 75), rate=float(rng.choice(range(145, 196, 5))))
    return Speaker(base, pitch=rng.choice(range(-300, 301, 50)), rate=round(rng.uniform(0.88, 1.12), 2))


def perturb_voice_change(base: BaseVoice, rng: random.Random) -> Speaker:
    """A seed-determined voice change of a flite/festival ``base`` into the female range:
    median pitch 150-240 Hz (flite ``slt``, the reserved female voice, reads at ~170 Hz),
    formants x1.10-1.22 (women's vocal tracts are ~15 % shorter), tempo as :func:`perturb`."""
    if base.engine == "espeak":
        raise ValueError("Voice changes are for flite/festival voices; espeak-ng has its own female variants.")
    return Speaker(base, pitch=0, rate=round(rng.uniform(0.88, 1.12), 2), f0=rng.choice(range(150, 241, 10)),
                   formant=round(rng.uniform(1.10, 1.22), 2))


def choose_speakers(voices: list[BaseVoice], n_speakers: int, seed: int,
                    per_natural_voice: int = 3) -> list[Speaker]:
    """Pick ``n_speakers`` speakers, as many distinct base voices as possible.

    flite and festival voices (the most natural ones, and few) come first, each with
    up to ``per_natural_voice`` perturbations; espeak-ng accent/variant pairs fill
    the rest, one perturbation each, in seeded random order.
    """
    rng = random.Random(seed)
    natural = [v for v in voices if v.engine != "espeak"]
    espeak = [v for v in voices if v.engine == "espeak"]
    rng.shuffle(natural)
    rng.shuffle(espeak)
    speakers: list[Speaker] = []
    seen: set[str] = set()

    def add(sp: Speaker) -> None:
        if sp.id not in seen and len(speakers) < n_speakers:
            seen.add(sp.id)
            speakers.append(sp)

    natural_quota = min(len(natural) * per_natural_voice, max(1, n_speakers // 4))
    i = 0
    while natural and len(speakers) < natural_quota and i < natural_quota * 4:
        add(perturb(natural[i % len(natural)], rng))
        i += 1
    for v in espeak:
        add(perturb(v, rng))
    # Small catalogues (no espeak-ng) fall back to more perturbations per voice.
    tries = 0
    while len(speakers) < n_speakers and voices and tries < n_speakers * 20:
        add(perturb(voices[tries % len(voices)], rng))
        tries += 1
    return speakers
