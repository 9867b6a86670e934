"""``FlowConfig``: every hyper-parameter of a flow-matching TTS model, saved in its checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

TEXT_CONDITIONING = ("filler", "aligned")


@dataclass
class FlowConfig:
    """Hyper-parameters of :class:`flow.model.FlowTTS`.

    Model:
        mel_dim: frame feature size (100 Vocos log-mel bins; or a codec latent size).
        vocab_size: phoneme vocabulary size (``len(PhonemeVocab)``); id 0 is the
            filler that pads text to the mel length.
        text_conditioning: how the text meets the frames. ``"filler"`` (E2/F5-TTS): the
            phonemes padded with filler to the frame count, the alignment left to the
            model to learn. ``"aligned"`` (Voicebox): each phoneme repeated for the frames
            it lasts (durations from the phone aligner in training, from the duration
            model at inference), so the model never has to find the alignment.
        duration_dim, duration_layers: size of the duration model (``"aligned"`` only).
        mel_mean, mel_std: the features are modelled as ``(mel - mel_mean) / mel_std``, so
            that they are on the scale of the N(0, I) noise (Vocos log-mels of speech are
            about N(-2.2, 2.4^2)); 0 and 1 keep them raw.
        dim, depth, heads, ff_mult: DiT width, blocks, attention heads, MLP ratio.
        text_dim, text_conv_layers: text embedding width and ConvNeXt blocks.
        conv_pos_kernel: kernel of the convolutional position embedding.
        dropout: dropout inside attention/MLP.
    Training:
        mask_min, mask_max: the infill span covers this fraction of the frames.
        prompt_prob: probability that the span runs to the end of the utterance, so that
            the context is a prefix only, as a synthesis prompt is (otherwise the span starts
            anywhere and the context usually lies on both sides of it).
        drop_audio_prob: probability of dropping the audio context (CFG).
        drop_all_prob: probability of dropping audio context and text (CFG).
        duration_weight: weight of the duration model's loss (``"aligned"`` only).
    Frames:
        sample_rate, hop_length: of the features (frame rate = sample_rate / hop_length).
    """

    # Alike in shape to VallEConfig and MaskGCTConfig, but each model's own settings: a config
    # is the checkpoint's record of one model, so the models share none of them.
    mel_dim: int = 100
    vocab_size: int = 500
    text_conditioning: str = "filler"
    duration_dim: int = 128
    duration_layers: int = 3
    mel_mean: float = 0.0
    mel_std: float = 1.0
    dim: int = 256
    depth: int = 6
    heads: int = 4
    ff_mult: int = 2
    text_dim: int = 128
    text_conv_layers: int = 2
    conv_pos_kernel: int = 31
    dropout: float = 0.0
    mask_min: float = 0.7
    mask_max: float = 1.0
    prompt_prob: float = 0.0
    drop_audio_prob: float = 0.3
    drop_all_prob: float = 0.2
    duration_weight: float = 1.0
    sample_rate: int = 24000
    hop_length: int = 256

    def __post_init__(self) -> None:
        for name in ("mel_dim", "vocab_size", "dim", "depth", "heads", "ff_mult", "text_dim", "hop_length",
                     "sample_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"FlowConfig.{name} must be positive, got {getattr(self, name)}")
        if self.text_conv_layers < 0:
            raise ValueError("FlowConfig.text_conv_layers must be >= 0")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"FlowConfig.dim ({self.dim}) must split into {self.heads} heads of even size "
                             "(rotary embeddings rotate pairs of channels)")
        if self.conv_pos_kernel % 2 == 0:
            raise ValueError("FlowConfig.conv_pos_kernel must be odd (same-length convolution)")
        if not 0.0 < self.mask_min <= self.mask_max <= 1.0:
            raise ValueError(f"Need 0 < mask_min <= mask_max <= 1, got {self.mask_min}, {self.mask_max}")
        if self.text_conditioning not in TEXT_CONDITIONING:
            raise ValueError(f"FlowConfig.text_conditioning must be one of {TEXT_CONDITIONING}, got "
                             f"{self.text_conditioning!r}")
        if self.mel_std <= 0 or self.duration_weight < 0 or self.duration_dim <= 0 or self.duration_layers < 1:
            raise ValueError("FlowConfig needs mel_std > 0, duration_weight >= 0, duration_dim > 0, duration_layers >= 1")
        if not 0.0 <= self.prompt_prob <= 1.0:
            raise ValueError(f"FlowConfig.prompt_prob must be in [0, 1], got {self.prompt_prob}")
        for name in ("dropout", "drop_audio_prob", "drop_all_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"FlowConfig.{name} must be in [0, 1), got {getattr(self, name)}")

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length
