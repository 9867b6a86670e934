"""The ``Codec`` protocol shared by every audio codec of the toolkit.

A codec turns a waveform into a grid of discrete tokens and back. The codec language
models (VALL-E, MaskGCT) only see this interface, so any codec that follows it can be
swapped in through configuration.

Shapes:
    B  batch size
    T  waveform samples
    Q  codebooks (residual quantizer depth)
    N  frames (``ceil(T * frame_rate / sample_rate)``)
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


class CodecError(ValueError):
    """A codec cannot be built or used as asked (bad weights, shapes or settings).

    The message names the problem and the fix. ``codec_lm`` never imports ``tts``, so
    the ``tts`` layer turns this into its own user-facing errors.
    """


@runtime_checkable
class Codec(Protocol):
    """An audio codec: waveform ``[B, T]`` <-> codes ``[B, Q, N]``.

    Attributes:
        sample_rate: samples per second the codec reads and writes.
        frame_rate: code frames per second (``sample_rate / hop``).
        n_codebooks: ``Q``, codebooks used per frame.
        codebook_size: entries per codebook; codes lie in ``[0, codebook_size)``.
    """

    sample_rate: int
    frame_rate: float
    n_codebooks: int
    codebook_size: int

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, T]`` (float, at ``sample_rate``) -> codes ``[B, Q, N]`` (``torch.long``)."""
        ...

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q, N]`` -> waveform ``[B, T]`` (float)."""
        ...


def check_wav(wav: torch.Tensor, who: str) -> torch.Tensor:
    """Accept ``[T]`` or ``[B, T]`` float audio and return ``[B, T]``.

    Raises:
        CodecError: wrong rank, integer samples, or an empty waveform.
    """
    if not isinstance(wav, torch.Tensor):
        raise CodecError(f"{who} needs a torch.Tensor waveform, got {type(wav).__name__}.")
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)
    if wav.dim() != 2:
        raise CodecError(
            f"{who} needs a waveform of shape [B, T] (or [T]), got {list(wav.shape)}: "
            "mix multi-channel audio to mono first."
        )
    if not wav.is_floating_point():
        raise CodecError(f"{who} needs float samples in [-1, 1], got {wav.dtype}: divide integer PCM by 32768.")
    if wav.shape[-1] == 0:
        raise CodecError(f"{who} got an empty waveform.")
    return wav


def check_codes(codes: torch.Tensor, n_codebooks: int, codebook_size: int, who: str) -> torch.Tensor:
    """Accept codes ``[B, Q, N]`` (or ``[Q, N]``) with ``Q <= n_codebooks``; return ``[B, Q, N]``.

    Raises:
        CodecError: wrong rank, dtype, depth, or out-of-range entries.
    """
    if codes.dim() == 2:
        codes = codes.unsqueeze(0)
    if codes.dim() != 3:
        raise CodecError(f"{who} needs codes of shape [B, Q, N], got {list(codes.shape)}.")
    if codes.is_floating_point() or codes.dtype == torch.bool:
        raise CodecError(f"{who} needs integer codes, got {codes.dtype}.")
    if not 1 <= codes.shape[1] <= n_codebooks:
        raise CodecError(f"{who} has {n_codebooks} codebooks, but the codes have Q={codes.shape[1]} (shape [B, Q, N]).")
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= codebook_size):
        raise CodecError(
            f"{who} codes must lie in [0, {codebook_size}), got [{int(codes.min())}, {int(codes.max())}]: "
            "were they made by another codec?"
        )
    return codes.long()
