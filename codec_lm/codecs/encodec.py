"""EnCodec 24 kHz as a :class:`~codec_lm.codecs.base.Codec`.

Wraps the ``encodec`` package's causal 24 kHz model (75 frames/s, 1024-entry
codebooks). The bandwidth picks how many residual codebooks are used:
1.5 / 3 / 6 / 12 / 24 kbps = 2 / 4 / 8 / 16 / 32 codebooks.

Weights load from a local file, never from the network. As in the ``encodec``
package, the file name carries the first hex digits of the file's sha256
(``encodec_24khz-d7cc33bc.th``) and the file is checked against it before
``torch.load(weights_only=True)`` reads it. Decoding uses the Vocos EnCodec variant
when its folder is given (better quality at low bandwidth), else EnCodec's own decoder.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from .base import CodecError, check_codes, check_wav
from .vocos_io import decode_encodec_codes, encodec_codebooks, load_vocos

OFFICIAL_24KHZ = "encodec_24khz-d7cc33bc.th"
BANDWIDTHS = (1.5, 3.0, 6.0, 12.0, 24.0)
DOWNLOAD_URL = "https://dl.fbaipublicfiles.com/encodec/v0/" + OFFICIAL_24KHZ
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{6,64})$")


def file_checksum(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def checkpoint_name(path: Path) -> str:
    """The name under which the ``encodec`` package would store ``path``: ``encodec_24khz-<sha256[:8]>.th``."""
    return f"encodec_24khz-{file_checksum(path)[:8]}.th"


def find_weights(weights: str | os.PathLike | None) -> Path:
    """Resolve the EnCodec 24 kHz weight file.

    Args:
        weights: a ``.th`` file, a folder holding ``encodec_24khz-*.th`` (like the
            ``repository`` argument of ``EncodecModel.encodec_model_24khz``), or
            ``None`` for torch hub's cache, where ``encodec`` itself downloads to.

    Raises:
        CodecError: nothing found; the message says where to put the file.
    """
    if weights is None:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / OFFICIAL_24KHZ
        if cached.is_file():
            return cached
        raise CodecError(
            f"No EnCodec weights given and none in torch hub's cache ('{cached}'). Download {DOWNLOAD_URL} on a "
            "machine with internet access and pass its path (or put it in that cache folder)."
        )
    path = Path(weights)
    if path.is_dir():
        if (path / OFFICIAL_24KHZ).is_file():
            return path / OFFICIAL_24KHZ
        found = sorted(path.glob("encodec_24khz-*.th"))
        if len(found) == 1:
            return found[0]
        what = "several" if found else "no"
        raise CodecError(f"Folder '{path}' holds {what} encodec_24khz-*.th files: pass the path of the file to use.")
    if not path.is_file():
        raise CodecError(f"EnCodec weights '{path}' do not exist: check the path (expected {OFFICIAL_24KHZ}).")
    return path


def load_encodec_weights(path: Path, checksum: str | None = None, verify: bool = True) -> dict[str, torch.Tensor]:
    """Check the file's sha256 against ``checksum`` (or the hex digits in its name), then read it.

    Raises:
        CodecError: no checksum to verify against, a mismatch, or an unreadable file.
    """
    if verify:
        if checksum is None:
            m = _HASH_IN_NAME.search(path.stem)
            if m is None:
                raise CodecError(
                    f"Cannot verify '{path}': its name carries no checksum. Name it like the encodec package "
                    f"does ({checkpoint_name(path)} for this file), pass checksum=..., or verify=False."
                )
            checksum = m.group(1)
        actual = file_checksum(path)
        if not actual.startswith(checksum.lower()):
            raise CodecError(
                f"'{path}' does not match its checksum: expected sha256 {checksum}..., got {actual[:len(checksum)]}... "
                "The file is corrupt, truncated or another model: download it again."
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several kinds on a bad file
        raise CodecError(f"'{path}' cannot be read as EnCodec weights ({type(err).__name__}: {err}).") from err
    if not isinstance(state, dict):
        raise CodecError(f"'{path}' is not a state dict.")
    return state


def build_encodec(state: dict[str, torch.Tensor] | None = None):
    """The ``encodec`` 24 kHz architecture, with ``state`` loaded (random weights when ``None``)."""
    from encodec import EncodecModel

    with warnings.catch_warnings():
        # encodec builds with torch.nn.utils.weight_norm, deprecated in torch 2.x: not the user's concern.
        warnings.simplefilter("ignore", FutureWarning)
        model = EncodecModel.encodec_model_24khz(pretrained=False)
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CodecError(f"The weights do not fit EnCodec 24 kHz: {str(err)[:300]}") from err
    return model.eval()


class EncodecCodec(nn.Module):
    """EnCodec 24 kHz: waveform ``[B, T]`` <-> codes ``[B, Q, N]`` with ``N = ceil(T / 320)``.

    Args:
        model: an ``encodec.EncodecModel`` (24 kHz).
        bandwidth: kbps, one of 1.5, 3, 6, 12, 24 (2, 4, 8, 16, 32 codebooks).
        vocos: optional ``vocos.Vocos`` EnCodec variant used by :meth:`decode`.
    """

    def __init__(self, model, bandwidth: float = 6.0, vocos=None):
        super().__init__()
        if float(bandwidth) not in BANDWIDTHS:
            raise CodecError(f"EnCodec 24 kHz supports bandwidths {', '.join(f'{b:g}' for b in BANDWIDTHS)} kbps "
                             f"(2 to 32 codebooks), not {bandwidth!r}.")
        self.model = model.eval()
        self.bandwidth = float(bandwidth)
        self.model.set_target_bandwidth(self.bandwidth)
        self.vocos = None
        if vocos is not None:
            self.vocos = vocos.eval()
            self._vocos_bandwidths = [float(b) for b in self._check_vocos(vocos)]
            if self.bandwidth not in self._vocos_bandwidths:
                raise CodecError(
                    f"The Vocos EnCodec vocoder was trained for {self._vocos_bandwidths} kbps, not {self.bandwidth:g}: "
                    "choose one of those bandwidths or decode with EnCodec's own decoder (no Vocos folder)."
                )

    @staticmethod
    def _check_vocos(vocos) -> list[float]:
        from vocos.feature_extractors import EncodecFeatures

        if not isinstance(vocos.feature_extractor, EncodecFeatures):
            raise CodecError(f"Decoding EnCodec codes needs the Vocos EnCodec variant, got a vocoder with "
                             f"{type(vocos.feature_extractor).__name__}: pass a vocos-encodec folder.")
        return list(vocos.feature_extractor.bandwidths)

    @classmethod
    def from_pretrained(cls, weights: str | os.PathLike | None = None, bandwidth: float = 6.0,
                        vocos_dir: str | os.PathLike | None = None, checksum: str | None = None,
                        verify: bool = True, device: str | torch.device = "cpu") -> "EncodecCodec":
        """Load EnCodec from a local weight file (see :func:`find_weights`), optionally with Vocos.

        Args:
            weights: file, folder, or ``None`` for torch hub's cache.
            bandwidth: kbps.
            vocos_dir: folder of the Vocos EnCodec variant in the official layout.
            checksum: expected sha256 prefix when the file name carries none.
            verify: check the checksum (on by default).
            device: where to run.
        """
        state = load_encodec_weights(find_weights(weights), checksum=checksum, verify=verify)
        model = build_encodec(state)
        vocos = None
        if vocos_dir is not None:
            # The Vocos feature extractor embeds its own EnCodec: give it the same weights.
            vocos, _ = load_vocos(vocos_dir, encodec_weights=state)
        return cls(model, bandwidth, vocos).to(device)

    @classmethod
    def untrained(cls, bandwidth: float = 6.0, vocos=None) -> "EncodecCodec":
        """Random weights: for tests and speed benchmarks only."""
        return cls(build_encodec(None), bandwidth, vocos)

    @property
    def sample_rate(self) -> int:
        return int(self.model.sample_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.frame_rate)

    @property
    def n_codebooks(self) -> int:
        return int(self.model.quantizer.get_num_quantizers_for_bandwidth(self.model.frame_rate, self.bandwidth))

    @property
    def codebook_size(self) -> int:
        return int(self.model.quantizer.bins)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Waveform ``[B, T]`` at 24 kHz -> codes ``[B, Q, ceil(T / 320)]`` (``torch.long``)."""
        wav = check_wav(wav, "EncodecCodec").to(self.device)
        frames = self.model.encode(wav.unsqueeze(1))
        return torch.cat([codes for codes, _ in frames], dim=-1).long()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, Q', N]`` (the first ``Q' <= Q`` codebooks) -> waveform ``[B, N * 320]``."""
        codes = check_codes(codes, self.n_codebooks, self.codebook_size, "EncodecCodec").to(self.device)
        if self.vocos is None:
            return self.model.decode([(codes, None)]).squeeze(1)
        if codes.shape[1] not in encodec_codebooks(self.vocos):
            raise CodecError(f"The Vocos EnCodec vocoder decodes {sorted(encodec_codebooks(self.vocos))} codebooks "
                             f"({self._vocos_bandwidths} kbps), got {codes.shape[1]}.")
        return decode_encodec_codes(self.vocos, codes)
