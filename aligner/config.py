"""``AlignerConfig``: every hyper-parameter of the phone aligner, stored in its checkpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AlignerConfig:
    """Phone aligner: a speech encoder with a CTC phone-recognizer head, and an
    attention aligner (speech frames against the phoneme sequence) whose monotonic
    path gives per-phoneme durations.

    Attributes:
        vocab_size: phoneme vocabulary size (``len(PhonemeVocab)``); id 0 (``<pad>``)
            doubles as the CTC blank, since it never occurs in a transcript.
        n_mels, sample_rate, hop_length: the Vocos log-mel features it reads
            (93.75 frames/s with the defaults).
        mel_mean, mel_std: fixed input normalization of the log-mels (Vocos log-mels
            of speech are about N(-2.2, 2.4^2)).
        dim: width of the speech encoder.
        conv_layers: residual conv blocks at the full frame rate (local context;
            their output also feeds the aligner, at full time resolution).
        layers, heads, ff_mult: transformer layers at half the frame rate (phonetic
            context for the recognizer and the aligner).
        dropout: dropout in the transformer.
        attn_dim: width of the aligner's query/key space.
        text_conv_layers: conv blocks of the phoneme encoder (the keys).
        blank_logprob: log-score of the "blank" class in the forward-sum loss
            (RAD-TTS, Badlani et al. 2021: a weak blank eases early training).
        prior_scale: strength of the beta-binomial diagonal prior on the attention
            (0 = none); it speeds up learning the alignment.
        ctc_weight, align_weight: weights of the recognizer's CTC loss and of the
            aligner's forward-sum loss.
    """

    vocab_size: int = 500
    n_mels: int = 100
    sample_rate: int = 24000
    hop_length: int = 256
    mel_mean: float = -2.2
    mel_std: float = 2.4
    dim: int = 192
    conv_layers: int = 3
    layers: int = 4
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.1
    attn_dim: int = 96
    text_conv_layers: int = 3
    blank_logprob: float = -1.0
    prior_scale: float = 1.0
    ctc_weight: float = 1.0
    align_weight: float = 1.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_mels", "sample_rate", "hop_length", "dim", "heads", "ff_mult", "attn_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("conv_layers", "layers", "text_conv_layers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.mel_std <= 0 or self.prior_scale < 0 or self.ctc_weight < 0 or self.align_weight < 0:
            raise ValueError("mel_std must be > 0, and prior_scale, ctc_weight, align_weight >= 0")
        if self.ctc_weight == 0 and self.align_weight == 0:
            raise ValueError("at least one of ctc_weight and align_weight must be > 0")

    @property
    def frame_rate(self) -> float:
        """Mel frames per second (93.75 with the defaults)."""
        return self.sample_rate / self.hop_length
