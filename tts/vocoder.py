"""The Vocos vocoder: mel (or EnCodec codes) -> waveform, on the ``vocos`` package.

A vocoder is a folder in the official Vocos layout (``config.yaml`` +
``pytorch_model.bin``), as ``charactr/vocos-mel-24khz`` and
``charactr/vocos-encodec-24khz`` ship and as ``recipes/vocos`` exports::

    voc = Vocoder.from_pretrained("checkpoints/tiny-vocos")   # or a shipped name
    mel = voc.mel(wav)              # [B, n_mels, N], exactly Vocos' features
    wav = voc.decode(mel)           # [B, (N - 1) * hop]

The EnCodec variant reads EnCodec codes instead: ``voc.decode_codes(codes)``.
Shapes: ``B`` batch, ``T`` samples, ``M`` mel bins, ``N`` frames, ``Q`` codebooks.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch

from codec_lm.codecs.base import CodecError
from codec_lm.codecs.encodec import find_weights, load_encodec_weights
from codec_lm.codecs.vocos_io import decode_encodec_codes, encodec_codebooks, load_vocos, vocos_kind

from .audio import Audio, resample
from .checkpoint import CheckpointError, resolve
from .errors import AudioError, TTSError

KINDS = ("mel", "encodec")


class VocoderError(TTSError, ValueError):
    """The vocoder was asked for something its kind cannot do, or got ill-shaped input."""


class Vocoder:
    """A ``vocos.Vocos`` with its config, checked inputs and device handling.

    Args:
        model: the ``vocos.Vocos`` module.
        config: its ``config.yaml`` as a dict.
        path: the folder it came from, if any.
    """

    def __init__(self, model, config: dict[str, Any], path: Path | None = None):
        self.model = model.eval()
        self.config = config
        self.path = path
        self.kind = vocos_kind(config)
        if self.kind not in KINDS:
            raise CheckpointError(f"Vocoder '{path}' has an unsupported feature extractor ({self.kind}).")

    @classmethod
    def from_pretrained(cls, name_or_dir: str | os.PathLike, device: str | torch.device = "cpu",
                        kind: str | None = None, encodec_weights: str | os.PathLike | None = None) -> "Vocoder":
        """Load a vocoder folder (official layout) or a shipped vocoder by name.

        Args:
            name_or_dir: folder with ``config.yaml`` + ``pytorch_model.bin``, or a
                shipped name.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
            kind: ``"mel"`` or ``"encodec"`` when the caller needs that kind; another
                kind is a :class:`CheckpointError`.
            encodec_weights: for the EnCodec variant, EnCodec's weight file, so that the
                vocoder can also run on audio (decoding codes does not need it).

        Raises:
            CheckpointError: missing/incomplete/corrupt folder, a toolkit checkpoint
                (``model.yaml``) instead of a vocoder, or the wrong kind.
        """
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        path = resolve(name_or_dir)
        try:
            state = None
            if encodec_weights is not None:
                state = load_encodec_weights(find_weights(encodec_weights))
            model, config = load_vocos(path, encodec_weights=state)
        except CodecError as err:
            raise CheckpointError(str(err)) from err
        vocoder = cls(model, config, path)
        if kind is not None and vocoder.kind != kind:
            need = {"mel": "a mel vocoder (like vocos-mel-24khz)", "encodec": "the EnCodec variant (vocos-encodec-24khz)"}
            raise CheckpointError(f"'{path}' is a Vocos {vocoder.kind} vocoder, but {need[kind]} is needed here.")
        return vocoder.to(device)

    # ------------------------------------------------------------------ properties
    @property
    def sample_rate(self) -> int:
        """Samples per second of the waveforms it reads and writes."""
        fe = self.model.feature_extractor
        if self.kind == "mel":
            return int(fe.mel_spec.sample_rate)
        return int(fe.encodec.sample_rate)

    @property
    def hop_length(self) -> int:
        """Samples per frame."""
        return int(self.model.head.istft.hop_length)

    @property
    def frame_rate(self) -> float:
        """Frames per second (``sample_rate / hop_length``)."""
        return self.sample_rate / self.hop_length

    @property
    def n_mels(self) -> int:
        """Mel bins of :meth:`mel` (mel vocoders only)."""
        self._need("mel", "n_mels")
        return int(self.model.feature_extractor.mel_spec.n_mels)

    @property
    def bandwidths(self) -> list[float]:
        """kbps the EnCodec variant was trained for (EnCodec variant only)."""
        self._need("encodec", "bandwidths")
        return [float(b) for b in self.model.feature_extractor.bandwidths]

    @property
    def device(self) -> torch.device:
        return next(self.model.backbone.parameters()).device

    def to(self, device: str | torch.device) -> "Vocoder":
        """Move to ``device``; returns ``self``."""
        try:
            self.model.to(device)
        except (RuntimeError, AssertionError) as err:
            raise VocoderError(f"Cannot move the vocoder to {device!r} ({err}): is that device available?") from err
        return self

    def _need(self, kind: str, what: str) -> None:
        if self.kind != kind:
            fix = {"mel": "load a Vocos mel vocoder (vocos-mel-24khz or a tiny-vocos) for mel features",
                   "encodec": "load the Vocos EnCodec variant (vocos-encodec-24khz) to decode EnCodec codes"}[kind]
            raise VocoderError(f"{what} needs a {kind} vocoder, but '{self.path}' is the {self.kind} variant: {fix}.")

    # ------------------------------------------------------------------ inference
    def _wav(self, wav, sample_rate: int | None) -> torch.Tensor:
        if isinstance(wav, Audio):
            wav, sample_rate = wav.wav, wav.sample_rate if sample_rate is None else sample_rate
        if not isinstance(wav, torch.Tensor):
            raise AudioError(f"Expected a waveform tensor [B, T] or [T], got {type(wav).__name__}.")
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        if wav.dim() != 2 or wav.shape[-1] == 0:
            raise AudioError(f"Expected a mono waveform [B, T] or [T], got shape {list(wav.shape)}: mix channels "
                             "to mono first.")
        if not wav.is_floating_point():
            raise AudioError(f"Expected float samples in [-1, 1], got {wav.dtype}.")
        if sample_rate is not None and sample_rate != self.sample_rate:
            warnings.warn(f"Audio at {sample_rate} Hz was resampled to the vocoder's {self.sample_rate} Hz.",
                          stacklevel=3)
            wav = resample(wav, int(sample_rate), self.sample_rate)
        return wav.to(self.device, torch.float32)

    @torch.inference_mode()
    def mel(self, wav, sample_rate: int | None = None) -> torch.Tensor:
        """Vocos log-mel features, exactly as the vocoder was trained on.

        Args:
            wav: ``[B, T]`` or ``[T]`` float tensor (or a :class:`tts.audio.Audio`).
            sample_rate: the waveform's rate; another rate than the vocoder's is
                resampled with a warning. ``None`` means it is already right.

        Returns:
            ``[B, M, N]`` natural-log mel magnitudes (``N = T // hop + 1`` for center padding).
        """
        self._need("mel", "Vocoder.mel")
        return self.model.feature_extractor(self._wav(wav, sample_rate))

    @torch.inference_mode()
    def decode(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, M, N]`` (or ``[M, N]``) -> waveform ``[B, T]``."""
        self._need("mel", "Vocoder.decode")
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise VocoderError(f"Vocoder.decode needs log-mels of shape [B, {self.n_mels}, N], got {list(mel.shape)}.")
        return self.model.decode(mel.to(self.device, torch.float32))

    @torch.inference_mode()
    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """EnCodec codes ``[B, Q, N]`` (or ``[Q, N]``) -> waveform ``[B, N * hop]``.

        ``Q`` picks the bandwidth (2 codebooks = 1.5 kbps, 4 = 3 kbps, ...) and must be
        one the vocoder was trained for.
        """
        self._need("encodec", "Vocoder.decode_codes")
        if codes.dim() == 2:
            codes = codes.unsqueeze(0)
        allowed = sorted(encodec_codebooks(self.model))
        if codes.dim() != 3 or codes.shape[1] not in allowed:
            raise VocoderError(f"Vocoder.decode_codes needs codes [B, Q, N] with Q in {allowed} "
                               f"(bandwidths {self.bandwidths} kbps), got shape {list(codes.shape)}.")
        bins = int(self.model.feature_extractor.encodec.quantizer.bins)
        if codes.is_floating_point() or int(codes.min()) < 0 or int(codes.max()) >= bins:
            raise VocoderError(f"EnCodec codes must be integers in [0, {bins}).")
        return decode_encodec_codes(self.model, codes.to(self.device).long())

    @torch.inference_mode()
    def resynthesize(self, wav, sample_rate: int | None = None) -> torch.Tensor:
        """Waveform -> mel -> waveform (mel vocoders): the vocoder's copy-synthesis ``[B, T']``."""
        return self.decode(self.mel(wav, sample_rate))

    def __repr__(self) -> str:
        return f"Vocoder(kind={self.kind!r}, sample_rate={self.sample_rate}, hop={self.hop_length}, path='{self.path}')"
