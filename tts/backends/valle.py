"""Backend for VALL-E checkpoints (family ``valle``): AR + NAR codec language model + its codec.

The prompt is encoded by the checkpoint's codec (dependency ``codec``), the AR
model continues its first codebook for the prompt's and the sentence's phonemes
(KV-cached, with length bounds from the prompt's speaking rate), the NAR model
fills the other codebooks, and the codec decodes the new codes only.

Options: ``temperature`` (1.0; 0 = greedy), ``top_k`` (0 = off), ``top_p`` (0.8),
``num_candidates`` (1; with more, the candidate the AR finds most likely among
those that ended by themselves is kept).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from ..errors import TTSError
from . import Backend


class VallEBackend(Backend):
    family = "valle"
    options = {"temperature": float, "top_k": int, "top_p": float, "num_candidates": int}

    def __init__(self, model, codec, info) -> None:
        self.model = model
        self.codec = codec
        self.info = info

    @classmethod
    def load(cls, info, device: torch.device) -> "VallEBackend":
        from codec_lm.valle import VallE, VallEConfig

        from ..checkpoint import CheckpointError, build_config, load_state_dict
        from ..codecs import load_codec

        if "codec" not in info.dependencies:
            raise CheckpointError(f"VALL-E checkpoint '{info.path}' names no codec in model.yaml (dependencies: "
                                  "codec): it cannot encode prompts or decode speech.")
        try:
            config = build_config(VallEConfig, info)
        except ValueError as err:
            if isinstance(err, CheckpointError):
                raise
            raise CheckpointError(f"'{info.path}' has an invalid VALL-E config: {err}") from err
        model = VallE(config)
        try:
            model.load_state_dict(load_state_dict(info))
        except RuntimeError as err:
            raise CheckpointError(f"The weights in '{info.path}' do not fit its config: {str(err)[:300]}") from err
        codec = load_codec(info.dependencies["codec"], device=device)
        described = (config.n_codebooks, config.codebook_size, config.sample_rate, float(config.frame_rate))
        actual = (int(codec.n_codebooks), int(codec.codebook_size), int(codec.sample_rate), float(codec.frame_rate))
        if described != actual:
            raise CheckpointError(
                f"Codec '{info.dependencies['codec']}' ({actual[0]} x {actual[1]} codes, {actual[2]} Hz, "
                f"{actual[3]:g} frames/s) is not the one VALL-E '{info.path}' was trained on "
                f"({described[0]} x {described[1]}, {described[2]} Hz, {described[3]:g} frames/s).")
        return cls(model.eval().to(device), codec.eval(), info)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)

    def _sampling(self, seed: int | None, options: dict[str, Any]):
        from codec_lm.valle import VallESampling

        kw = {k: options[k] for k in self.options if options.get(k) is not None}
        try:
            return VallESampling(seed=seed, **kw)
        except ValueError as err:
            raise TTSError(f"Invalid VALL-E option: {err}.") from err

    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        from codec_lm.valle import synthesize

        sampling = self._sampling(seed, options)
        device = next(self.model.parameters()).device
        codes = self.codec.encode(prompt.float()[None].to(device))[0]  # [Q, P]
        if not prompt_ids:
            raise TTSError("The prompt transcript has no phonemes: pass the words the prompt says (--prompt-text).")
        out = synthesize(self.model, [codes] * len(targets), [list(prompt_ids)] * len(targets),
                         [list(t) for t in targets], sampling)
        capped = [i for i, g in enumerate(out) if not g.ended]
        if capped:
            warnings.warn(f"VALL-E did not end sentence(s) {capped} by itself; they were cut at the length cap "
                          "(2x the prompt's speaking rate). Try another --seed or a lower --temperature.",
                          stacklevel=2)
        return [self.codec.decode(g.codes[None].to(device))[0].float().cpu() for g in out]
