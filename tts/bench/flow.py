"""Flow-matching speed: real-time factor at several NFEs for a 10 s output, and peak memory.

RTF = (ODE sampling + vocoder decoding time) / seconds of speech produced, for one
10 s sentence after a 3 s prompt, with classifier-free guidance (two velocity
evaluations per step, batched into one call). Times are the best of ``repeats`` runs
after a warm-up. Without a model the default tiny architecture (``FlowConfig()``, as
in ``recipes/flow/configs/tiny.yaml``) runs with random weights: speed does not
depend on the weight values.

Side by side with F5-TTS (the same synthesis at the same dims, NFE and guidance, vocoder
excluded, alternating runs in one process): ``experiments/bench_f5.py`` in a checkout, run
with a Python where F5-TTS is installed (a separate venv; the README's Benchmarks section
gives the commands and the last figures).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from aligner import with_boundaries
from codec_lm.codecs.vocos_io import OFFICIAL_VOCOS_MEL, build_vocos
from flow import FlowConfig, FlowSampling, FlowTTS, synthesize
from nn_common.duration import fit_durations
from text_frontend import PhonemeVocab

from ..errors import TTSError
from ..eval.speed import PeakMemory
from ..synthesizer import Synthesizer
from ..vocoder import Vocoder


@dataclass
class FlowBenchRow:
    nfe: int
    solver: str
    seconds: float
    rtf: float
    peak_memory_mib: float


@dataclass
class FlowBenchResult:
    model: str
    params_m: float
    device: str
    threads: int
    audio_seconds: float
    rows: list[FlowBenchRow]

    def as_dict(self) -> dict:
        return asdict(self)


def _load(model: str | None, device: torch.device):
    if model is not None:
        synth = Synthesizer.from_pretrained(model, device=device)
        if synth.family != "flow":
            raise TTSError(f"'{model}' is a {synth.family} model; `tts bench flow` times flow models.")
        return synth.backend.model, synth.backend.vocoder, str(synth.info.path)
    torch.manual_seed(0)
    vocoder = Vocoder(build_vocos(OFFICIAL_VOCOS_MEL), OFFICIAL_VOCOS_MEL).to(device)
    return FlowTTS(FlowConfig()).eval().to(device), vocoder, "FlowConfig() with random weights + official-size Vocos"


def bench_flow(model: str | None = None, nfes: tuple[int, ...] = (8, 16, 32), seconds: float = 10.0,
               prompt_seconds: float = 3.0, solver: str = "euler", repeats: int = 2,
               device: str = "cpu") -> FlowBenchResult:
    """Time synthesis of ``seconds`` of speech at each NFE."""
    dev = torch.device(device)
    net, vocoder, name = _load(model, dev)
    cfg = net.config
    frames = round(seconds * cfg.frame_rate)
    prompt = torch.randn(cfg.mel_dim, round(prompt_seconds * cfg.frame_rate))
    prompt_ids, target_ids = torch.randint(5, 100, (40,)), torch.randint(5, 100, (130,))
    prompt_durations = None
    if net.aligned:
        # What the phone aligner gives a prompt (its time is not counted: once per prompt):
        # the boundary-wrapped symbols, their frames spread evenly over the prompt.
        prompt_ids = torch.tensor(with_boundaries(prompt_ids.tolist(), PhonemeVocab.default().space_id))
        prompt_durations = [fit_durations(torch.ones(len(prompt_ids)), prompt.shape[-1])]

    def run(nfe: int) -> None:
        with torch.inference_mode():
            mel = synthesize(net, [prompt], [prompt_ids], [target_ids], FlowSampling(nfe=nfe, solver=solver, seed=0),
                             frames=[frames], prompt_durations=prompt_durations)[0]
            vocoder.decode(mel)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    rows = []
    for nfe in nfes:
        run(nfe)  # warm-up
        best = float("inf")
        with PeakMemory(str(dev)) as peak:
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(nfe)
                best = min(best, time.perf_counter() - t0)
        rows.append(FlowBenchRow(nfe, solver, round(best, 3), round(best / seconds, 4),
                                 round(peak.increase_bytes / 2**20, 1)))
    params = sum(p.numel() for p in net.parameters()) / 1e6
    return FlowBenchResult(name, round(params, 2), str(dev), torch.get_num_threads(), seconds, rows)
