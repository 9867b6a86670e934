"""Codec speed: encode and decode real-time factors (RTF = compute time / audio time; < 1 is faster than real time).

Codecs are timed on CPU by default with random weights at the architecture they would
ship with (a random MelRVQ 8 x 1024 on the official Vocos mel 24 kHz architecture, and
EnCodec 24 kHz), since speed does not depend on the weight values; pass a MelRVQ
checkpoint or EnCodec weights to time those instead.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from codec_lm.codecs import EncodecCodec, MelRVQ, MelRVQCodec, MelRVQConfig, build_vocos
from codec_lm.codecs.vocos_io import OFFICIAL_VOCOS_ENCODEC, OFFICIAL_VOCOS_MEL

from ..codecs import load_codec, load_encodec
from ..vocoder import Vocoder


@dataclass
class CodecBenchResult:
    codec: str
    weights: str
    decoder: str
    seconds: float
    n_codebooks: int
    frame_rate: float
    encode_rtf: float
    decode_rtf: float
    device: str
    threads: int

    def as_dict(self) -> dict:
        return asdict(self)


def _time(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, kernels, lazy inits
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _signal(seconds: float, sample_rate: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    x = sum(torch.sin(2 * torch.pi * 110 * k * t) / k for k in range(1, 6)) + 0.05 * torch.randn(t.shape, generator=g)
    return (0.3 * x / x.abs().max()).unsqueeze(0)  # [1, T]


def _melrvq(checkpoint: str | None):
    if checkpoint is not None:
        return load_codec(checkpoint), str(checkpoint)
    torch.manual_seed(0)
    # Random codebooks, no k-means: the first encode must not run an initialisation.
    model = MelRVQ(MelRVQConfig(kmeans_init=False))
    return MelRVQCodec(model, build_vocos(OFFICIAL_VOCOS_MEL)), "random"


def _encodec(weights: str | None, bandwidth: float, vocos_dir: str | None, random_vocos: bool):
    if weights is not None:
        return load_encodec(weights, bandwidth=bandwidth, vocos_dir=vocos_dir), str(weights)
    vocos = build_vocos(OFFICIAL_VOCOS_ENCODEC) if random_vocos else None
    if vocos_dir is not None:
        vocos = Vocoder.from_pretrained(vocos_dir, kind="encodec").model
    return EncodecCodec.untrained(bandwidth, vocos), "random"


def bench_codec(codecs: tuple[str, ...] = ("melrvq", "encodec", "encodec+vocos"), seconds: float = 10.0,
                repeats: int = 3, melrvq_checkpoint: str | None = None, encodec_weights: str | None = None,
                bandwidth: float = 6.0, vocos_dir: str | None = None, device: str = "cpu",
                progress=None) -> list[CodecBenchResult]:
    """Time ``encode`` and ``decode`` of each codec on ``seconds`` of audio (best of ``repeats``).

    Args:
        codecs: any of ``melrvq``, ``encodec`` (EnCodec's decoder), ``encodec+vocos``
            (the Vocos EnCodec variant as decoder).
        seconds: length of the test signal.
        repeats: timed runs after one warm-up; the fastest counts.
        melrvq_checkpoint: MelRVQ checkpoint folder (default: random weights).
        encodec_weights: EnCodec 24 kHz weight file (default: random weights).
        bandwidth: EnCodec kbps (1.5, 3, 6, 12 with Vocos; also 24 without).
        vocos_dir: Vocos EnCodec folder for ``encodec+vocos`` (default: random weights).
        device: torch device.
        progress: optional callable ``(name) -> None`` called before each codec.
    """
    results = []
    for name in codecs:
        if progress is not None:
            progress(name)
        if name == "melrvq":
            codec, weights = _melrvq(melrvq_checkpoint)
            decoder = "vocos-mel"
        elif name in ("encodec", "encodec+vocos"):
            with_vocos = name == "encodec+vocos"
            codec, weights = _encodec(encodec_weights, bandwidth, vocos_dir if with_vocos else None, with_vocos)
            decoder = "vocos-encodec" if with_vocos else "encodec"
        else:
            raise ValueError(f"unknown codec {name!r}")
        codec = codec.to(device).eval()
        wav = _signal(seconds, codec.sample_rate).to(device)
        with torch.inference_mode():
            codes = codec.encode(wav)
            t_enc = _time(lambda: codec.encode(wav), repeats)
            t_dec = _time(lambda: codec.decode(codes), repeats)
        results.append(CodecBenchResult(
            codec=name, weights=weights, decoder=decoder, seconds=seconds, n_codebooks=int(codes.shape[1]),
            frame_rate=float(codec.frame_rate), encode_rtf=t_enc / seconds, decode_rtf=t_dec / seconds,
            device=str(device), threads=torch.get_num_threads()))
    return results
