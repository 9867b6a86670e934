"""What a recipe trains on, fixed by a model it did not train: Vocos log-mels or codec codes.

- :class:`MelRecipe` (flow, melrvq): a Vocos mel vocoder folder fixes the features (its
  mel settings become the model's); its feature extractor, frozen, makes log-mels from
  audio on the training device.
- :class:`CodecRecipe` (valle, maskgct): a codec checkpoint folder fixes the codes (its
  codebooks, codebook size and rates become the model's), and the first batch is
  checked against it, so that codes of another codec fail at once, not as a silent
  index error hours later.

Shapes: ``B`` batch, ``T`` samples, ``M`` mel bins, ``N`` frames, ``Q`` codebooks.
"""

from __future__ import annotations

from pathlib import Path

import torch

from text_frontend import PhonemeVocab
from tts.codecs import load_codec
from tts.vocoder import Vocoder

from .cards import Card, synthesizer_usage
from .common import RecipeError, merged_config


class MelRecipe:
    """Mixin for modules that read Vocos log-mels. Sets ``vocoder_dir`` and ``features``."""

    vocoder_dir: Path

    def _use_vocoder(self, vocoder: str):
        """Load the mel vocoder (checks the folder now, not after training); returns it."""
        voc = Vocoder.from_pretrained(vocoder, kind="mel")
        self.vocoder_dir = voc.path
        # The feature extractor makes the training targets; frozen, only its mel filterbank
        # buffers move with the module.
        self.features = voc.model.feature_extractor.requires_grad_(False)
        return voc

    @torch.no_grad()
    def _audio_mels(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` audio -> ``[B, M, N]`` log-mels, in float32 even under mixed precision."""
        with torch.autocast(device_type=audio.device.type, enabled=False):
            return self.features(audio.float())


class CodecRecipe:
    """Mixin for modules that read codec codes. Sets ``codec_dir``; checks batches with :meth:`_check_codes`."""

    codec_dir: Path

    def _build_on_codec(self, codec: str, model_cls: type, config_cls: type, overrides: dict | None,
                        section: str, more_fixed=None, source: str = "the codec and the vocabulary") -> None:
        """Set ``vocab``, ``codec_dir``, ``config`` (``config_cls`` from ``model.<section>`` and the
        codec's settings) and ``model``. The codec is loaded to check the folder and its vocoder
        now, not after training; only its description is kept (it is not part of the model).
        ``more_fixed(codec) -> dict``: settings another model fixes (MaskGCT's semantic tokenizer),
        named in ``source`` for messages."""
        self.vocab = PhonemeVocab.default()
        loaded = load_codec(codec)
        self.codec_dir = loaded.path
        fixed = {"n_codebooks": int(loaded.n_codebooks), "codebook_size": int(loaded.codebook_size),
                 "frame_rate": float(loaded.frame_rate), "sample_rate": int(loaded.sample_rate),
                 "vocab_size": len(self.vocab), **(more_fixed(loaded) if more_fixed else {})}
        self.config = merged_config(config_cls, overrides, fixed, section=section, label=section, source=source)
        self.model = model_cls(self.config)
        self._checked = False  # the first batch is checked against the codec

    def _codec_card(self, directory: Path, steps: int, title: str, summary: str, options: str = ""):
        """The card of a TTS model on this codec: loaded through the Synthesizer (with ``options``)."""
        return Card(title=f"{title} ({directory.name})", summary=summary, usage=synthesizer_usage(directory, options),
                    facts={"codec": self.codec_dir, "steps": steps})

    def _check_codes(self, codes: torch.Tensor) -> None:
        """Codes ``[B, Q, N]`` of a batch must come from this codec: ``Q`` codebooks, entries below its size."""
        q, k = self.config.n_codebooks, self.config.codebook_size
        if codes.shape[1] != q or int(codes.max()) >= k:
            raise RecipeError(
                f"The codes in the manifest ({codes.shape[1]} codebooks, largest {int(codes.max())}) do not come "
                f"from codec '{self.codec_dir}' ({q} x {k}): run `tts prepare features --kind codes --codec "
                f"{self.codec_dir}` again, or pass the codec they came from as model.codec.")
