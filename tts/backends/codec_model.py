"""What the codec-model backends (VALL-E, MaskGCT) share: loading a model that names
its codec, checking that the codec is the one it was trained on, the sample rate, and
for aligned models the phone aligner that measures a prompt's durations."""

from __future__ import annotations

from typing import ClassVar

import torch

from aligner import phone_ids, phone_table

from ..aligner import align_prompt, load_aligner
from ..checkpoint import CheckpointError, build_model
from ..codecs import load_codec
from ..mel import MelFeatures
from . import Backend, decode_continuation


class CodecModelBackend(Backend):
    """A backend whose checkpoint depends on a codec (``dependencies: codec``).

    Subclasses set ``label`` (for messages) and implement :meth:`model_classes`.
    """

    label: ClassVar[str]
    aligner = None  # (PhoneAligner, PhonemeVocab) of aligned models (load_aligner)

    def __init__(self, model, codec, info) -> None:
        self.model = model
        self.codec = codec
        self.info = info

    @classmethod
    def model_classes(cls) -> tuple[type, type]:
        """``(model class, config dataclass)``, imported only when a checkpoint is loaded."""
        raise NotImplementedError

    @classmethod
    def load(cls, info, device: torch.device) -> "CodecModelBackend":
        model_cls, config_cls = cls.model_classes()
        if "codec" not in info.dependencies:
            raise CheckpointError(f"{cls.label} checkpoint '{info.path}' names no codec in model.yaml (dependencies: "
                                  "codec): it cannot encode prompts or decode speech.")
        model = build_model(info, model_cls, config_cls, cls.label)
        config = model.config
        codec = load_codec(info.dependencies["codec"], device=device)
        described = (config.n_codebooks, config.codebook_size, config.sample_rate, float(config.frame_rate))
        actual = (int(codec.n_codebooks), int(codec.codebook_size), int(codec.sample_rate), float(codec.frame_rate))
        if described != actual:
            raise CheckpointError(
                f"Codec '{info.dependencies['codec']}' ({actual[0]} x {actual[1]} codes, {actual[2]} Hz, "
                f"{actual[3]:g} frames/s) is not the one {cls.label} '{info.path}' was trained on "
                f"({described[0]} x {described[1]}, {described[2]} Hz, {described[3]:g} frames/s).")
        return cls(model.eval().to(device), codec.eval(), info)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    def decode_after(self, context: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Waveform ``[T]`` (CPU, float32) of generated ``codes [K, n]`` decoded after the prompt
        codes ``context [Q, p]`` they continue (:func:`tts.backends.decode_continuation`); with
        ``K < Q`` (fewer codebooks generated) the context's first ``K`` go with them."""
        return self.continue_decoding(self.codec.decode, context[: codes.shape[0]], codes)

    def continue_decoding(self, decode, context: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """:func:`tts.backends.decode_continuation` at the codec's rate, on the model's device, of
        frames ``new [C, n]`` after ``context [C, p]`` (codes, or codec latents for ``decode``)."""
        device = next(self.model.parameters()).device
        hop = round(self.codec.sample_rate / self.codec.frame_rate)
        return decode_continuation(decode, context.to(device), new.to(device), hop,
                                   float(self.codec.frame_rate)).float().cpu()

    def phone_scores(self, wavs: list[torch.Tensor], ids) -> list[float]:
        """How clearly each waveform ``[T]`` says the phones among ``ids`` (the sentence's phoneme
        ids): the phone aligner's CTC log-likelihood per phone
        (:meth:`aligner.PhoneAligner.phone_log_likelihood`); higher is clearer. Needs ``self.aligner``."""
        model, vocab = self.aligner
        phones = phone_ids(list(ids), phone_table(vocab.symbols))
        if not phones:
            return [0.0] * len(wavs)
        device = next(model.parameters()).device
        mels = [MelFeatures()(w.float().cpu()[None])[0] for w in wavs]  # the features the aligner reads
        lens = torch.tensor([m.shape[-1] for m in mels])
        batch = torch.zeros(len(mels), mels[0].shape[0], int(lens.max()))
        for i, m in enumerate(mels):
            batch[i, :, : m.shape[-1]] = m
        target = torch.tensor([phones] * len(wavs))
        scores = model.phone_log_likelihood(batch.to(device), lens.to(device), target.to(device),
                                            torch.full((len(wavs),), len(phones), device=device))
        return scores.cpu().tolist()

    def load_aligner(self, info, device: torch.device, what: str) -> None:
        """Load the phone aligner the checkpoint names (dependency ``aligner``) into ``self.aligner``.

        Raises:
            CheckpointError: none named, or one whose frames are not the codec's.
        """
        if "aligner" not in info.dependencies:
            raise CheckpointError(f"{what} checkpoint '{info.path}' names no aligner in model.yaml: it cannot measure "
                                  "a prompt's phone durations.")
        model, vocab, path = load_aligner(info.dependencies["aligner"], device)
        rate = model.config.frame_rate
        if abs(rate - self.model.config.frame_rate) > 1e-6:
            raise CheckpointError(f"Aligner '{path}' gives durations at {rate:g} frames/s, the codec of "
                                  f"'{info.path}' runs at {self.model.config.frame_rate:g}.")
        self.aligner = (model, vocab)

    def prompt_durations(self, prompt: torch.Tensor, frames: int, prompt_ids: list[int]) -> tuple[list[int],
                                                                                                  torch.Tensor]:
        """The prompt's aligned (boundary-wrapped) ids and their durations in codec frames, summing
        to ``frames`` (the aligner's, at the codec's rate)."""
        mel = MelFeatures()(prompt.float().cpu()[None])[0]  # the features the aligner reads
        # Same rate as the codec's frames (checked at load); a frame more or less (another
        # codec's padding) is cut or repeated at the end, in the prompt's closing silence.
        mel = mel[:, :frames] if mel.shape[-1] >= frames else torch.cat(
            [mel, mel[:, -1:].expand(-1, frames - mel.shape[-1])], dim=1)
        ids, durations = align_prompt(*self.aligner, mel, prompt_ids)
        return ids.tolist(), durations
