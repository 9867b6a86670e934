"""``VallEConfig``: every hyper-parameter of a VALL-E model (AR + NAR), saved in its checkpoint."""

from __future__ import annotations

from dataclasses import dataclass


ALIGNMENTS = ("none", "monotonic")
STAGE_WEIGHTS = ("uniform", "linear", "quadratic")


@dataclass
class VallEConfig:
    """Hyper-parameters of :class:`codec_lm.valle.model.VallE`.

    The defaults are the size of the tiny recipe (about 16 M parameters with an
    8 x 1024 codec), the model the toolkit ships; the LibriTTS recipe uses the
    VALL-E paper's size (``dim=1024, heads=16, ar_layers=nar_layers=12``).

    Codec (fixed by the codec the codes come from):
        n_codebooks: ``Q``, codebooks per frame; the AR model predicts the first, the
            NAR model the other ``Q - 1`` (none when ``Q == 1``).
        codebook_size: ``K``, entries per codebook.
        frame_rate: code frames per second.
        sample_rate: the codec's audio sample rate.
    Text:
        vocab_size: phoneme vocabulary size (``len(PhonemeVocab)``); id 0 is padding.
        separator_id: phoneme id put between the prompt's and the target's phonemes
            when the two come from different utterances (4, the word boundary of
            ``PhonemeVocab``); ``-1`` joins them without one. With ``alignment="monotonic"``
            the prompt's aligned phonemes already end with a word boundary, and this id
            closes the target's instead (as the aligner wraps every utterance).
    Alignment:
        alignment: ``"none"`` (VALL-E: the AR learns the text-to-speech alignment itself and
            ends with EOS) or ``"monotonic"`` (VALL-E R): every AR step also embeds the
            phone it is aligned to (the manifests' phone durations in training, a pointer
            at inference) and a head predicts whether the next step stays on that phone or
            moves to the next one; the utterance ends after its last phone. The NAR then
            also sees each frame's phone. Old checkpoints have no entry and load as ``"none"``.
        group_size: ``G``, codebook-1 frames per AR step (VALL-E 2's grouped code modeling):
            the AR reads the ``G`` codes of a step as one input and predicts the next ``G``
            at once, so it runs at ``frame_rate / G`` steps per second. ``G > 1`` needs
            ``alignment="monotonic"`` (the end of an utterance then comes from the phones,
            not from an EOS that could fall inside a group).
        lookahead: ``alignment="monotonic"`` only: each AR step also embeds the ``L``
            phonemes after its own in the text (0 for VALL-E R as published). A causal step
            otherwise writes the codes that lead into the next phoneme without knowing it.
            Older checkpoints load as 0.
    NAR training:
        nar_stage_weights: how training picks the NAR stage (the codebook it learns) per
            item: ``"uniform"`` (VALL-E; older checkpoints load so), ``"linear"`` (weights
            ``Q-1 .. 1`` from codebook 2 on, as MaskGCT's S2A) or ``"quadratic"``
            (``(Q-1)^2 .. 1``). Why: the low codebooks carry the words, and uniform stages
            give codebook 2 a ``1 / (Q-1)`` share of the updates.
    Guidance:
        phone_dropout: ``alignment="monotonic"`` only: the share of training items whose AR
            sees no phonemes at all (the text, the prompt's and the target's step phonemes
            all read id 0), so that the same AR also learns the codes of the voice without the
            text, and decoding can push away from that with classifier-free guidance
            (``VallESampling.cfg``; as MusicGen drops its conditions for 10-20 % of items). The
            stay / advance head is not trained on those items. 0: off (older checkpoints).
        drop_prompt: with ``phone_dropout``, those items' AR also loses the prompt's codes (as
            F5-TTS drops audio and text together), so the unconditional pass knows neither the
            text nor the voice, and guidance pushes toward both. False: it keeps the prompt, and
            guidance pushes toward the text and, a little, away from the voice (which both
            passes share).
    Transformer:
        dim, heads, ff_mult: width, attention heads, MLP ratio (shared by AR and NAR).
        ar_layers, nar_layers: blocks of the AR and of the NAR transformer.
        dropout: dropout inside attention and MLP (training only).
    """

    # Alike in shape to FlowConfig and MaskGCTConfig, but each model's own settings: a config
    # is the checkpoint's record of one model, so the models share none of them.
    n_codebooks: int = 8
    codebook_size: int = 1024
    frame_rate: float = 93.75
    sample_rate: int = 24000
    vocab_size: int = 500
    separator_id: int = 4
    dim: int = 256
    heads: int = 4
    ff_mult: int = 4
    ar_layers: int = 6
    nar_layers: int = 6
    dropout: float = 0.1
    alignment: str = "none"
    group_size: int = 1
    lookahead: int = 0
    nar_stage_weights: str = "uniform"
    phone_dropout: float = 0.0
    drop_prompt: bool = False

    def __post_init__(self) -> None:
        for name in ("n_codebooks", "vocab_size", "dim", "heads", "ff_mult", "ar_layers", "sample_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"VallEConfig.{name} must be a positive integer, got {value!r}")
        if isinstance(self.nar_layers, bool) or not isinstance(self.nar_layers, int) or self.nar_layers < 0:
            raise ValueError(f"VallEConfig.nar_layers must be an integer >= 0, got {self.nar_layers!r}")
        if self.n_codebooks > 1 and self.nar_layers == 0:
            raise ValueError(f"VallEConfig.nar_layers must be > 0 with {self.n_codebooks} codebooks: the NAR "
                             "model predicts codebooks 2..Q")
        if not isinstance(self.codebook_size, int) or self.codebook_size < 2:
            raise ValueError(f"VallEConfig.codebook_size must be an integer >= 2, got {self.codebook_size!r}")
        if not self.frame_rate > 0:
            raise ValueError(f"VallEConfig.frame_rate must be positive, got {self.frame_rate}")
        if self.dim % self.heads:
            raise ValueError(f"VallEConfig.dim ({self.dim}) must be a multiple of heads ({self.heads})")
        if (self.dim // self.heads) % 2:
            raise ValueError(f"VallEConfig.dim / heads = {self.dim // self.heads} must be even")
        if not -1 <= self.separator_id < self.vocab_size or self.separator_id == 0:
            raise ValueError(f"VallEConfig.separator_id must be -1 or a phoneme id in [1, {self.vocab_size}), "
                             f"got {self.separator_id} (0 is padding)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"VallEConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.alignment not in ALIGNMENTS:
            raise ValueError(f"VallEConfig.alignment must be one of {ALIGNMENTS}, got {self.alignment!r}")
        if isinstance(self.group_size, bool) or not isinstance(self.group_size, int) or self.group_size < 1:
            raise ValueError(f"VallEConfig.group_size must be an integer >= 1, got {self.group_size!r}")
        if self.group_size > 1 and not self.monotonic:
            raise ValueError(f"VallEConfig.group_size {self.group_size} needs alignment='monotonic': without phone "
                             "durations the AR would have to say EOS inside a group")
        if isinstance(self.lookahead, bool) or not isinstance(self.lookahead, int) or self.lookahead < 0:
            raise ValueError(f"VallEConfig.lookahead must be an integer >= 0, got {self.lookahead!r}")
        if self.lookahead and not self.monotonic:
            raise ValueError(f"VallEConfig.lookahead {self.lookahead} needs alignment='monotonic': only aligned AR "
                             "steps know which phoneme they are on")
        if self.monotonic and self.separator_id < 0:
            raise ValueError("VallEConfig.separator_id must be the word-boundary id with alignment='monotonic': it "
                             "closes the target's phonemes as the aligner closes every utterance")
        if self.nar_stage_weights not in STAGE_WEIGHTS:
            raise ValueError(f"VallEConfig.nar_stage_weights must be one of {STAGE_WEIGHTS}, "
                             f"got {self.nar_stage_weights!r}")
        if not 0.0 <= self.phone_dropout < 1.0:
            raise ValueError(f"VallEConfig.phone_dropout must be in [0, 1), got {self.phone_dropout}")
        if self.phone_dropout and not self.monotonic:
            raise ValueError(f"VallEConfig.phone_dropout {self.phone_dropout} needs alignment='monotonic': guidance "
                             "is implemented for the phone-aligned AR only")
        if not isinstance(self.drop_prompt, bool):
            raise ValueError(f"VallEConfig.drop_prompt must be true or false, got {self.drop_prompt!r}")
        if self.drop_prompt and not self.phone_dropout:
            raise ValueError("VallEConfig.drop_prompt needs phone_dropout > 0: it says what the dropped items lose")

    @property
    def monotonic(self) -> bool:
        """True for VALL-E R (phone-aligned AR steps), False for VALL-E."""
        return self.alignment == "monotonic"

    def stage_weights(self) -> list[float]:
        """Relative probability of NAR stages ``1..Q-1`` in training (``nar_stage_weights``)."""
        n = self.n_codebooks - 1
        power = {"uniform": 0, "linear": 1, "quadratic": 2}[self.nar_stage_weights]
        return [float((n - j) ** power) for j in range(n)]

    @property
    def steps_per_second(self) -> float:
        """AR steps per second of audio: ``frame_rate / group_size``."""
        return self.frame_rate / self.group_size

    @property
    def eos_id(self) -> int:
        """The AR's end-of-sequence token (one past the last code)."""
        return self.codebook_size

    @property
    def bos_id(self) -> int:
        """The AR's start-of-target token (input only, never predicted)."""
        return self.codebook_size + 1
