"""``FlowTTS``: conditional flow matching over mel frames with a DiT backbone (F5-TTS style).

Why DiT with adaptive LayerNorm rather than Voicebox's U-Net-skip transformer: the
flow time enters every block through adaLN-Zero modulation instead of being a
token, each block starts as the identity (the zero-initialised gates), and F5-TTS
showed this trains stably at small sizes with a text encoder and no aligner; the
U-Net skips of Voicebox add little once the text is refined by convolutions.

Text enters in one of two ways (``FlowConfig.text_conditioning``), at frame rate either
way, refined by ConvNeXt-V2 blocks and concatenated with the noisy and the context
features of each frame:

* ``"filler"`` (E2/F5-TTS): phoneme ids padded with filler (id 0) to the number of mel
  frames; no durations are needed, and the model must discover the alignment itself,
  which takes 10^5 updates and more.
* ``"aligned"`` (Voicebox): each phoneme id repeated for the frames it lasts, from the
  phone aligner's durations in training; a :class:`nn_common.duration.DurationPredictor`
  trained alongside gives them at inference.

Legend: b = batch, n = mel frames, c = mel bins, l = phonemes, d = width.

Training objective (optimal-transport conditional flow matching with infilling):
``x_t = (1 - t) x_0 + t x_1`` with ``x_0 ~ N(0, I)`` and ``x_1`` the mel, the model
predicts ``x_1 - x_0`` on a contiguous span covering ``mask_min``-``mask_max`` of the
frames (70-100 % by default), given the frames outside the span as context; with
probability ``prompt_prob`` the span runs to the end, so the context is a prefix as a
synthesis prompt is. Context (and text) are dropped at random for classifier-free guidance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nn_common import Rotary, expand_by_durations, lengths_to_mask

from .config import FlowConfig
from nn_common.duration import DurationPredictor
from .modules import ConvNeXtV2Block, ConvPositionEmbedding, DiTBlock, FinalLayer, Linear, TimestepEmbedding, sinusoidal


def pad_text(phonemes: torch.Tensor, n: int) -> torch.Tensor:
    """Phoneme ids ``[b, l]`` (0 = pad) -> ``[b, n]`` padded with filler 0 or truncated."""
    if phonemes.shape[1] >= n:
        return phonemes[:, :n]
    return F.pad(phonemes, (0, n - phonemes.shape[1]), value=0)


class TextEncoder(nn.Module):
    """Phoneme ids at frame rate ``[b, n]`` -> ``[b, n, text_dim]``."""

    def __init__(self, vocab_size: int, dim: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.blocks = nn.ModuleList(ConvNeXtV2Block(dim) for _ in range(layers))

    def forward(self, text: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embed(text)
        pos = torch.arange(text.shape[1], device=text.device)
        x = x + sinusoidal(pos, x.shape[-1], scale=1.0)[None].to(x.dtype)
        for block in self.blocks:
            x = block(x, mask)
        return x


class FlowTTS(nn.Module):
    """The velocity field ``v(x_t, context, text, t)`` and its training loss."""

    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.text_encoder = TextEncoder(c.vocab_size, c.text_dim, c.text_conv_layers)
        self.input_proj = Linear(2 * c.mel_dim + c.text_dim, c.dim)
        self.conv_pos = ConvPositionEmbedding(c.dim, c.conv_pos_kernel)
        self.time_embed = TimestepEmbedding(c.dim)
        self.rotary = Rotary(c.dim // c.heads)
        self.blocks = nn.ModuleList(DiTBlock(c.dim, c.heads, c.ff_mult, c.dropout) for _ in range(c.depth))
        self.final = FinalLayer(c.dim, c.mel_dim)
        self.duration = (DurationPredictor(c.vocab_size, c.duration_dim, c.duration_layers)
                         if c.text_conditioning == "aligned" else None)

    @property
    def aligned(self) -> bool:
        return self.config.text_conditioning == "aligned"

    def normalize(self, mel: torch.Tensor) -> torch.Tensor:
        """Features -> the scale the flow models (``FlowConfig.mel_mean``, ``mel_std``)."""
        return (mel - self.config.mel_mean) / self.config.mel_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.config.mel_std + self.config.mel_mean

    def frame_text(self, phonemes: torch.Tensor, n: int, durations: torch.Tensor | None = None) -> torch.Tensor:
        """The text at frame rate ``[b, n]``: filler-padded, or repeated by ``durations [b, l]`` (aligned)."""
        if not self.aligned:
            return pad_text(phonemes, n)
        if durations is None:
            raise ValueError("An aligned flow model needs per-phoneme durations (TTSDataset(durations=True)).")
        return expand_by_durations(phonemes, durations, n)

    def velocity(self, x: torch.Tensor, context: torch.Tensor, text: torch.Tensor, t: torch.Tensor,
                 mask: torch.Tensor | None = None, text_features: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the flow.

        Args:
            x: noisy frames ``[b, n, c]`` at time ``t``.
            context: known frames ``[b, n, c]``, zero where generated (or dropped).
            text: phoneme ids ``[b, n]`` at frame rate (0 = filler; all 0 = dropped).
            t: flow time ``[b]`` in [0, 1], or ``[1]`` for one time shared by the batch.
            mask: bool ``[b, n]``, True on real frames (None: all real).
            text_features: ``self.text_encoder(text, mask)`` computed beforehand: it does not
                depend on ``x`` or ``t``, so an ODE solve encodes the text once, not per step.

        Returns:
            Velocity ``[b, n, c]``.
        """
        if text_features is None:
            text_features = self.text_encoder(text, mask)
        h = self.input_proj(torch.cat([x, context, text_features], dim=-1))
        h = h + self.conv_pos(h, mask)
        emb = self.time_embed(t)
        rope = self.rotary(h.shape[1], h.device)
        for block in self.blocks:
            h = block(h, emb, rope, mask)
        return self.final(h, emb)

    def infill_mask(self, lens: torch.Tensor, n: int) -> torch.Tensor:
        """A random contiguous span of ``mask_min..mask_max`` of each item's frames: bool ``[b, n]``.

        With probability ``prompt_prob`` an item's span runs to its last frame (its context is
        a prefix, as at synthesis); otherwise the span starts anywhere.
        """
        frac = torch.empty(len(lens), device=lens.device).uniform_(self.config.mask_min, self.config.mask_max)
        span = (frac * lens).long().clamp(min=1)
        start = (torch.rand(len(lens), device=lens.device) * (lens - span + 1).float()).long()
        if self.config.prompt_prob > 0:
            at_end = torch.rand(len(lens), device=lens.device) < self.config.prompt_prob
            start = torch.where(at_end, lens - span, start)
        idx = torch.arange(n, device=lens.device)[None]
        return (idx >= start[:, None]) & (idx < (start + span)[:, None])

    def forward(self, mel: torch.Tensor, mel_lens: torch.Tensor, phonemes: torch.Tensor,
                phoneme_lens: torch.Tensor | None = None, durations: torch.Tensor | None = None,
                infill: torch.Tensor | None = None, duration_mask: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """Flow-matching loss of a batch (plus the duration model's, when aligned).

        Args:
            mel: ``[b, c, n]`` log-mel frames (as stored/batched), zero-padded.
            mel_lens: ``[b]`` real frames.
            phonemes: ``[b, l]`` phoneme ids, 0-padded.
            phoneme_lens: ``[b]`` (aligned only).
            durations: ``[b, l]`` frames per phoneme, summing to ``mel_lens`` (aligned only).
            infill: bool ``[b, n]``, the frames to predict; None draws spans (``infill_mask``).
            duration_mask: bool ``[b, l]``, the symbols whose durations the duration model
                predicts; None draws spans (aligned only).

        Returns:
            ``{"loss", "flow_loss", "masked_frames"}`` and, aligned, ``"duration_loss"``.
        """
        x1 = self.normalize(mel).transpose(1, 2)  # [b, n, c]
        b, n, _ = x1.shape
        valid = lengths_to_mask(mel_lens, n)
        infill = (self.infill_mask(mel_lens, n) if infill is None else infill) & valid
        x0 = torch.randn_like(x1)
        t = torch.rand(b, device=x1.device)
        xt = (1 - t[:, None, None]) * x0 + t[:, None, None] * x1
        context = x1.masked_fill(infill[..., None] | ~valid[..., None], 0.0)
        text = self.frame_text(phonemes, n, durations)
        # Classifier-free guidance: drop the audio context, or context and text.
        drop_all = torch.rand(b, device=x1.device) < self.config.drop_all_prob
        drop_audio = drop_all | (torch.rand(b, device=x1.device) < self.config.drop_audio_prob)
        context = context.masked_fill(drop_audio[:, None, None], 0.0)
        text = text.masked_fill(drop_all[:, None], 0)
        pred = self.velocity(xt, context, text, t, valid)
        err = (pred - (x1 - x0)).pow(2).mean(-1)  # [b, n]
        weight = infill.float()
        loss = (err * weight).sum() / weight.sum().clamp(min=1.0)
        out = {"loss": loss, "flow_loss": loss.detach(), "masked_frames": weight.sum()}
        if self.aligned:
            if phoneme_lens is None:
                phoneme_lens = (phonemes != 0).sum(1)
            out["duration_loss"] = self.duration(phonemes, phoneme_lens, durations, duration_mask)
            out["loss"] = loss + self.config.duration_weight * out["duration_loss"]
        return out
