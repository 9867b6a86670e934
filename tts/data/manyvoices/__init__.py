"""ManyVoices: an offline corpus of hundreds of voices, real people among them, whose unseen
splits hold whole voice sources out (see :mod:`.sources` and ``docs/corpus.md``)."""

from .plan import SPLITS
from .prepare import SOURCES, prepare_manyvoices

__all__ = ["SOURCES", "SPLITS", "prepare_manyvoices"]
