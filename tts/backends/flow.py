"""Backend for flow-matching checkpoints (family ``flow``): mel flow model + Vocos.

Options (declared with their ranges in :mod:`tts.options`): ``nfe``, ``solver``, ``cfg``,
``sway``, ``speed``, ``duration``. Speech editing infills a span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import Backend


class FlowBackend(Backend):
    family = "flow"
    can_edit = True

    def __init__(self, model, vocoder, info) -> None:
        self.model = model
        self.vocoder = vocoder
        self.info = info

    @classmethod
    def load(cls, info, device: torch.device) -> "FlowBackend":
        from flow import FlowConfig, FlowTTS

        from ..checkpoint import CheckpointError, build_model
        from ..vocoder import Vocoder

        if "vocoder" not in info.dependencies:
            raise CheckpointError(f"Flow checkpoint '{info.path}' names no vocoder in model.yaml.")
        model = build_model(info, FlowTTS, FlowConfig, "flow")
        vocoder = Vocoder.from_pretrained(info.dependencies["vocoder"], device=device, kind="mel")
        if vocoder.n_mels != model.config.mel_dim or vocoder.hop_length != model.config.hop_length:
            raise CheckpointError(f"Vocoder '{vocoder.path}' does not produce the features flow model "
                                  f"'{info.path}' was trained on ({model.config.mel_dim} mels, hop "
                                  f"{model.config.hop_length}).")
        return cls(model.eval().to(device), vocoder, info)

    @property
    def sample_rate(self) -> int:
        return self.vocoder.sample_rate

    def _sampling(self, seed: int | None, options: dict[str, Any]):
        from flow import FlowSampling

        kw = {k: options[k] for k in ("nfe", "solver", "cfg", "speed") if options.get(k) is not None}
        if "sway" in options and options["sway"] is not None:
            kw["sway"] = options["sway"] or None
        return FlowSampling(seed=seed, **kw)

    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        from flow import synthesize

        sampling = self._sampling(seed, options)
        mel = self.vocoder.mel(prompt)[0].cpu()  # [C, Np]
        frames = None
        if options.get("duration"):
            total = options["duration"] * self.model.config.frame_rate
            weights = [len(t) for t in targets]
            frames = [max(1, round(total * w / sum(weights))) for w in weights]
        pp = torch.tensor(list(prompt_ids))
        mels = synthesize(self.model, [mel] * len(targets), [pp] * len(targets),
                          [torch.tensor(list(t)) for t in targets], sampling, frames=frames)
        return [self.vocoder.decode(m)[0].float().cpu() for m in mels]

    def edit(self, audio: torch.Tensor, start: float, end: float, new_seconds: float, new_ids: Sequence[int],
             seed: int | None = None, **options: Any) -> torch.Tensor:
        """Infill ``[start, end)`` seconds of ``audio [T]`` with ``new_seconds`` of speech for
        ``new_ids`` (the full new transcript). Audio outside the span is kept sample-exact,
        except for 20 ms cross-fades at the two seams."""
        from flow import infill

        from ..audio import splice

        hop = self.model.config.hop_length
        mel = self.vocoder.mel(audio)[0].cpu()
        a = max(0, int(round(start * self.sample_rate / hop)))
        b = min(mel.shape[1], max(a, int(round(end * self.sample_rate / hop))))
        new_frames = max(1, round(new_seconds * self.sample_rate / hop))
        out = infill(self.model, mel, a, b, new_frames, torch.tensor(list(new_ids)), self._sampling(seed, options))
        wav = self.vocoder.decode(out)[0].float().cpu()
        # Samples outside the span come from the input, not from the vocoder's copy of it.
        return splice(audio.float().cpu(), wav, a * hop, b * hop, a * hop, (a + new_frames) * hop, self.sample_rate)
