"""How well a recording says a transcript, by a phone aligner: the alignment score of the
transcript's symbols, and the phone error rate (PER) of what its CTC recognizer hears.

Two users: ``tts edit`` checks that the transcript it was given is what the recording
says (:func:`check_transcript`: regenerating "the changed words" of a transcript the
recording never said damages the words it did say), and ``tests/test_shipped.py`` checks
that the shipped TTS models say the sentences they were given.

    >>> rec = PhoneRecognizer()                         # checkpoints/tiny-aligner
    >>> match = rec.score(audio.wav, audio.sample_rate, "The birch canoe slid.")
    >>> match.score, match.per, match.heard
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from aligner import edit_distance, phone_ids, phone_table, with_boundaries
from text_frontend import Frontend

from .aligner import load_aligner
from .audio import resample
from .errors import InputError
from .mel import MelFeatures

SHIPPED_ALIGNER = "tiny-aligner"
# Below this alignment score a transcript is taken not to be what the recording says.
# Measured with tiny-aligner (scripts/transcript_check_pers.py): 96 recordings of 12
# sentences outside TinyVoices' text pool by 8 espeak-ng and flite voices score -2.37 to
# -0.04 (median -0.56) with their own transcript, and the demo prompt (flite slt, held out
# of TinyVoices) -1.81; with another of the sentences they score -15.31 to -7.09, with
# 'Completely different words here.' or 'a b' -16.47 to -5.00, and the demo prompt with
# those or 3 other sentences -15.32 to -5.77. -3.5 leaves 1.1 to the worst match and 1.5
# to the best mismatch. The recognizer's PER does not separate them (matches 0.07-0.82,
# the demo prompt 0.82; mismatches from 0.77): it is shown in the message, not judged.
TRANSCRIPT_MIN_SCORE = -3.5


@dataclass(frozen=True)
class PhoneMatch:
    """How well a recording says a transcript.

    Attributes:
        score: the aligner's alignment score, the mean ``log P(symbol | frame)`` along the
            monotonic path through the transcript's symbols (0: certain; see
            :meth:`aligner.PhoneAligner.align`); ``-inf`` for audio too short to hold them.
        per: the recognizer's phone error rate, edits / transcript phones (above 1 when
            more phones are heard than the transcript has).
        heard: the phones the recognizer heard, as one IPA string.
        expected: the transcript's phones, as one IPA string.
    """

    score: float
    per: float
    heard: str
    expected: str


class PhoneRecognizer:
    """A phone aligner (its aligner and CTC recognizer) over Vocos log-mels, its own features.

    Args:
        aligner: an aligner checkpoint folder or shipped name.
        device: where it runs.

    Raises:
        CheckpointError: no such folder, or not an aligner.
    """

    def __init__(self, aligner: str | os.PathLike = SHIPPED_ALIGNER, device: str | torch.device = "cpu") -> None:
        self.model, self.vocab, self.path = load_aligner(aligner, device)
        self.device = next(self.model.parameters()).device
        self.features = MelFeatures()
        self.is_phone = phone_table(self.vocab.symbols)

    def phones(self, text: str, language: str = "en-us") -> list[int]:
        """The phone ids of ``text`` as the front-end reads it (the recognizer's targets)."""
        return phone_ids(self._ids(text, language), self.is_phone)

    def _ids(self, text: str, language: str) -> tuple[int, ...]:
        return Frontend(language, vocab=self.vocab).encode(text).ids

    @torch.no_grad()
    def score(self, wav: torch.Tensor, sample_rate: int, text: str, language: str = "en-us") -> PhoneMatch:
        """How well ``wav [T]`` says ``text``: the alignment score of its symbols, and the
        PER of what the recognizer hears against its phones."""
        wav = resample(wav.float().reshape(-1).cpu(), sample_rate, self.features.sample_rate)
        mel = self.features(wav[None]).to(self.device)
        lens = torch.tensor([mel.shape[-1]], device=self.device)
        ids = self._ids(text, language)
        wrapped = with_boundaries(ids, self.vocab.space_id)  # the sequence the aligner was trained to align
        score = -math.inf  # audio with fewer frames than the transcript has symbols cannot say it
        if len(wrapped) <= mel.shape[-1]:
            score = self.model.align(mel, lens, torch.tensor([wrapped], device=self.device),
                                     torch.tensor([len(wrapped)], device=self.device))[1][0]
        heard, expected = self.model.recognize(mel, lens)[0], phone_ids(ids, self.is_phone)
        symbols = self.vocab.symbols
        return PhoneMatch(score, edit_distance(heard, expected) / max(1, len(expected)),
                          "".join(symbols[i] for i in heard), "".join(symbols[i] for i in expected))


def check_transcript(recognizer: PhoneRecognizer, wav: torch.Tensor, sample_rate: int, transcript: str,
                     language: str = "en-us", min_score: float = TRANSCRIPT_MIN_SCORE) -> PhoneMatch:
    """Refuse a transcript the recording does not say (alignment score below ``min_score``).

    Raises:
        InputError: the mismatch, with the score and what the recognizer heard.
    """
    match = recognizer.score(wav, sample_rate, transcript, language)
    if match.score < min_score:
        raise InputError(f"The recording does not say its --transcript: aligned with it, it scores {match.score:.2f} "
                         f"(a match scores above {min_score:g}), and the phone recognizer heard /{match.heard}/ "
                         f"where the transcript reads /{match.expected}/. Give the words the recording says, or "
                         "pass --skip-transcript-check if you are sure.")
    return match
