"""MelRVQ: a residual vector quantizer over Vocos log-mel frames.

The codec the codec language models read: each log-mel frame of the Vocos mel
vocoder (``[n_mels]`` at ``sample_rate / hop_length`` frames per second) becomes
``n_codebooks`` tokens; decoding sums the codewords, maps them back to a mel frame
and lets Vocos make the waveform. The quantizer is ``vector_quantize_pytorch``'s
``ResidualVQ`` with k-means initialisation, EMA codebooks and dead-code
replacement; a small convolutional encoder/decoder around it gives each token a
few frames of context.

einops legend:
    B  batch          N  mel frames        M  mel bins (``n_mels``)
    D  latent width   Q  codebooks         C  codebook entries
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import CodecError, check_codes, check_wav


@dataclass
class MelRVQConfig:
    """Hyper-parameters of :class:`MelRVQ` (stored in the checkpoint's ``model.yaml``).

    Attributes:
        n_mels: mel bins of the vocoder's features.
        sample_rate: the vocoder's sample rate (Hz).
        hop_length: the vocoder's hop (samples per mel frame).
        n_codebooks: ``Q``, residual quantizer depth.
        codebook_size: ``C``, entries per codebook (a power of two fits a byte budget).
        dim: ``D``, width of the latent space that is quantized.
        n_layers: residual conv blocks in the encoder and in the decoder; ``0`` makes
            both a single frame-wise linear map.
        kernel_size: odd temporal kernel of the conv blocks (frames of context).
        ema_decay: EMA decay of the codebooks.
        kmeans_init: initialise each codebook by k-means on the first batch.
        kmeans_iters: k-means iterations of that initialisation.
        dead_code_threshold: a code whose EMA usage falls below this is replaced by a
            random vector of the current batch (``0`` disables replacement).
        commitment_weight: weight of the commitment loss.
        quantize_dropout: train with a random number of codebooks, so that the first
            codebooks alone already give a coarse mel (useful for AR + NAR models).
    """

    n_mels: int = 100
    sample_rate: int = 24000
    hop_length: int = 256
    n_codebooks: int = 8
    codebook_size: int = 1024
    dim: int = 256
    n_layers: int = 2
    kernel_size: int = 3
    ema_decay: float = 0.99
    kmeans_init: bool = True
    kmeans_iters: int = 10
    dead_code_threshold: float = 2.0
    commitment_weight: float = 1.0
    quantize_dropout: bool = False

    def __post_init__(self) -> None:
        for name in ("n_mels", "sample_rate", "hop_length", "n_codebooks", "codebook_size", "dim", "kmeans_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"MelRVQConfig.{name} must be a positive integer, got {value!r}.")
        if isinstance(self.n_layers, bool) or not isinstance(self.n_layers, int) or self.n_layers < 0:
            raise ValueError(f"MelRVQConfig.n_layers must be an integer >= 0, got {self.n_layers!r}.")
        if not isinstance(self.kernel_size, int) or self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"MelRVQConfig.kernel_size must be a positive odd integer (same-length convs), "
                             f"got {self.kernel_size!r}.")
        if self.codebook_size < 2:
            raise ValueError(f"MelRVQConfig.codebook_size must be at least 2, got {self.codebook_size}.")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"MelRVQConfig.ema_decay must lie in (0, 1), got {self.ema_decay}.")
        if self.dead_code_threshold < 0 or self.commitment_weight < 0:
            raise ValueError("MelRVQConfig.dead_code_threshold and commitment_weight must be >= 0.")

    @property
    def frame_rate(self) -> float:
        """Mel frames (and code frames) per second."""
        return self.sample_rate / self.hop_length

    @property
    def bitrate(self) -> float:
        """Bits per second of the codes."""
        return self.frame_rate * self.n_codebooks * math.log2(self.codebook_size)


class _ResBlock(nn.Module):
    """``x + conv(gelu(conv(gelu(x))))`` on ``[B, D, N]``, length preserving."""

    def __init__(self, dim: int, kernel_size: int):
        super().__init__()
        self.conv1 = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.gelu(self.conv1(F.gelu(x))))


def _stack(c_in: int, c_out: int, cfg: MelRVQConfig, blocks_first: bool) -> nn.Sequential:
    if cfg.n_layers == 0:
        return nn.Sequential(nn.Conv1d(c_in, c_out, 1))
    k = cfg.kernel_size
    blocks = [_ResBlock(cfg.dim, k) for _ in range(cfg.n_layers)]
    if blocks_first:  # decoder: D -> blocks -> M
        return nn.Sequential(*blocks, nn.GELU(), nn.Conv1d(c_in, c_out, k, padding=k // 2))
    return nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=k // 2), *blocks)


class MelRVQ(nn.Module):
    """Log-mel frames ``[B, M, N]`` <-> codes ``[B, Q, N]``.

    The mel is standardised per bin with statistics taken from the first training
    batch (buffers ``mel_mean``/``mel_std``, saved with the weights), encoded to
    ``[B, D, N]``, quantized by the residual VQ, and decoded back.
    """

    def __init__(self, config: MelRVQConfig):
        super().__init__()
        from vector_quantize_pytorch import ResidualVQ

        self.config = config
        self.encoder = _stack(config.n_mels, config.dim, config, blocks_first=False)
        self.decoder = _stack(config.dim, config.n_mels, config, blocks_first=True)
        self.rvq = ResidualVQ(
            dim=config.dim,
            num_quantizers=config.n_codebooks,
            codebook_size=config.codebook_size,
            decay=config.ema_decay,
            kmeans_init=config.kmeans_init,
            kmeans_iters=config.kmeans_iters,
            threshold_ema_dead_code=config.dead_code_threshold,
            commitment_weight=config.commitment_weight,
            quantize_dropout=config.quantize_dropout,
            # Plain straight-through gradients: the rotation trick adds cost and nothing
            # for EMA codebooks on a small latent.
            rotation_trick=False,
        )
        self.register_buffer("mel_mean", torch.zeros(config.n_mels))
        self.register_buffer("mel_std", torch.ones(config.n_mels))
        self.register_buffer("norm_initialized", torch.tensor(False))

    def _check_mel(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.dim() != 3 or mel.shape[1] != self.config.n_mels:
            raise CodecError(f"MelRVQ needs log-mels of shape [B, {self.config.n_mels}, N], got {list(mel.shape)}.")
        return mel

    @torch.no_grad()
    def init_normalization(self, mel: torch.Tensor) -> None:
        """Set the per-bin mean/std from log-mels ``[B, M, N]`` (done once, on the first batch)."""
        flat = self._check_mel(mel).transpose(1, 2).reshape(-1, self.config.n_mels).float()
        self.mel_mean.copy_(flat.mean(0))
        self.mel_std.copy_(flat.std(0).clamp_min(1e-3))
        self.norm_initialized.fill_(True)

    def _latent(self, mel: torch.Tensor) -> torch.Tensor:
        x = (mel - self.mel_mean[:, None]) / self.mel_std[:, None]
        return self.encoder(x).transpose(1, 2)  # [B, N, D]: ResidualVQ is channel-last

    def _mel(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.decoder(latent.transpose(1, 2))  # [B, M, N]
        return x * self.mel_std[:, None] + self.mel_mean[:, None]

    def forward(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Quantize and reconstruct; return the losses.

        Args:
            mel: log-mels ``[B, M, N]``.

        Returns:
            ``loss`` (to minimise), ``recon_l1`` (mean |mel_hat - mel| in log-mel units),
            ``recon_mse`` (of standardised mels), ``commit`` (commitment loss), and
            ``mel_hat`` ``[B, M, N]`` and ``codes`` ``[B, Q, N]`` (detached), for logging;
            ``first`` ``[B, N, D]``: the first codebook's vectors with a straight-through
            gradient to the encoder, for an auxiliary loss that shapes what that codebook
            carries (e.g. phonemes).
        """
        mel = self._check_mel(mel)
        if self.training and not bool(self.norm_initialized):
            self.init_normalization(mel)
        latent = self._latent(mel)
        quantized, indices, commit = self.rvq(latent)
        # The first quantizer sees the latent itself (no residual before it, no projection
        # at dim == D): its vectors plus the straight-through term are what it passes on.
        first_vectors = F.embedding(indices[..., 0], self.rvq.codebooks[0])
        first = latent + (first_vectors - latent).detach()
        mel_hat = self._mel(quantized)
        recon_l1 = F.l1_loss(mel_hat, mel)
        # MSE on standardised mels keeps every bin's error on one scale.
        recon_mse = F.mse_loss((mel_hat - mel) / self.mel_std[:, None], torch.zeros_like(mel))
        commit = commit.sum()
        return {
            "loss": recon_l1 + recon_mse + commit,
            "recon_l1": recon_l1.detach(),
            "recon_mse": recon_mse.detach(),
            "commit": commit.detach(),
            "mel_hat": mel_hat.detach(),
            "codes": indices.transpose(1, 2).detach(),
            "first": first,
        }

    @torch.no_grad()
    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mels ``[B, M, N]`` -> codes ``[B, Q, N]`` (``torch.long``); never updates the codebooks."""
        was_training = self.training
        self.eval()
        try:
            _, indices, _ = self.rvq(self._latent(self._check_mel(mel)))
        finally:
            self.train(was_training)
        return indices.transpose(1, 2).long()

    # The EMA running sums (embed_avg) of vector-quantize-pytorch's codebooks are as large as
    # the codebooks themselves and only matter to further EMA training; they follow from
    # embed x cluster_size (embed = embed_avg / cluster_size). Leaving them out of a saved
    # model halves it (20.6 -> 12.6 MiB at 8 x 1024 x 256).
    _EMA_SUMS = "._codebook.embed_avg"

    def inference_state_dict(self) -> dict[str, torch.Tensor]:
        """``state_dict()`` without the EMA running sums (see :meth:`load_inference_state_dict`)."""
        return {k: v for k, v in self.state_dict().items() if not k.endswith(self._EMA_SUMS)}

    def load_inference_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a state dict with or without the EMA running sums; missing ones are rebuilt."""
        state = dict(state)
        for key in [k for k in state if k.endswith("._codebook.embed")]:
            prefix = key[: -len("embed")]
            if prefix + "embed_avg" not in state and prefix + "cluster_size" in state:
                state[prefix + "embed_avg"] = state[key] * state[prefix + "cluster_size"][..., None]
        self.load_state_dict(state)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q', N]`` with ``Q' <= Q`` (the first codebooks) -> log-mels ``[B, M, N]``."""
        return self.decode_latent(self.latent(codes))

    @torch.no_grad()
    def latent(self, codes: torch.Tensor, probs: torch.Tensor | None = None) -> torch.Tensor:
        """The quantized latent ``[B, D, N]``: the sum of the codebook vectors of ``codes [B, Q', N]``
        (the first ``Q'`` codebooks), plus, for the ``S`` codebooks after them, their vectors
        weighted by ``probs [B, S, N, C]`` (each row sums to 1): the expected vector, the
        least-squares estimate of a residual a model is unsure of, where a drawn or most
        likely code may add the wrong one."""
        codes = check_codes(codes, self.config.n_codebooks, self.config.codebook_size, "MelRVQ")
        codebooks = self.rvq.codebooks  # [Q, C, D]
        q = codes.shape[1]
        latent = sum(F.embedding(codes[:, i], codebooks[i]) for i in range(q))  # [B, N, D]
        if probs is not None:
            b, s, n, c = probs.shape
            if b != codes.shape[0] or n != codes.shape[-1] or c != self.config.codebook_size or q + s > len(codebooks):
                raise CodecError(f"MelRVQ: probabilities {list(probs.shape)} do not fit codes {list(codes.shape)} "
                                 f"({self.config.n_codebooks} codebooks of {self.config.codebook_size}).")
            latent = latent + torch.einsum("bsnc,scd->bnd", probs.to(codebooks.dtype), codebooks[q: q + s])
        return latent.transpose(1, 2)

    @torch.no_grad()
    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """A quantized latent ``[B, D, N]`` (:meth:`latent`) -> log-mels ``[B, M, N]``."""
        return self._mel(self.rvq.project_out(latent.transpose(1, 2)))


class MelRVQCodec(nn.Module):
    """The :class:`~codec_lm.codecs.base.Codec` of a :class:`MelRVQ` and its Vocos mel vocoder.

    ``encode``: waveform -> Vocos log-mel -> codes. ``decode``: codes -> dequantized
    log-mel -> Vocos -> waveform.

    Args:
        model: the trained quantizer.
        vocos: a ``vocos.Vocos`` with a ``MelSpectrogramFeatures`` feature extractor
            whose settings match ``model.config``.
    """

    def __init__(self, model: MelRVQ, vocos):
        super().__init__()
        from vocos.feature_extractors import MelSpectrogramFeatures

        fe = vocos.feature_extractor
        if not isinstance(fe, MelSpectrogramFeatures):
            raise CodecError(f"MelRVQCodec needs a Vocos mel vocoder, but its feature extractor is "
                             f"{type(fe).__name__}: use a vocos-mel folder.")
        cfg = model.config
        have = (fe.mel_spec.sample_rate, fe.mel_spec.hop_length, fe.mel_spec.n_mels)
        want = (cfg.sample_rate, cfg.hop_length, cfg.n_mels)
        if have != want:
            raise CodecError(
                f"The vocoder's mel features (sample_rate, hop_length, n_mels) = {have} do not match the codec's "
                f"{want}: use the vocoder the codec was trained with."
            )
        self.model = model.eval()
        self.vocos = vocos.eval()

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    @property
    def frame_rate(self) -> float:
        return self.model.config.frame_rate

    @property
    def n_codebooks(self) -> int:
        return self.model.config.n_codebooks

    @property
    def codebook_size(self) -> int:
        return self.model.config.codebook_size

    @property
    def device(self) -> torch.device:
        return self.model.mel_mean.device

    @torch.no_grad()
    def mel(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, T]`` -> Vocos log-mel ``[B, M, N]`` with ``N = T // hop + 1``."""
        wav = check_wav(wav, "MelRVQCodec").to(self.device)
        return self.vocos.feature_extractor(wav)

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, T]`` at ``sample_rate`` -> codes ``[B, Q, N]`` (``torch.long``)."""
        return self.model.encode(self.mel(wav))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q', N]`` (``Q' <= Q``) -> waveform ``[B, (N - 1) * hop]``."""
        mel = self.model.decode(codes.to(self.device))
        return self.vocos.decode(mel)

    @torch.no_grad()
    def latent(self, codes: torch.Tensor, probs: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`MelRVQ.latent`: codes ``[B, Q', N]`` (and probabilities ``[B, S, N, C]`` of the next
        ``S`` codebooks) -> latent ``[B, D, N]``, which :meth:`decode_latent` decodes."""
        return self.model.latent(codes.to(self.device), None if probs is None else probs.to(self.device))

    @torch.no_grad()
    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent ``[B, D, N]`` -> waveform ``[B, (N - 1) * hop]``."""
        return self.vocos.decode(self.model.decode_latent(latent.to(self.device)))
