"""Backend for MaskGCT checkpoints (family ``maskgct``): masked generative codec model + its codec.

The prompt is encoded by the checkpoint's codec (dependency ``codec``); the target
length comes from the prompt's frames per phoneme (divided by ``speed``) or from
``duration``; T2S fills codebook 1 by iterative unmasking, S2A the other codebooks,
and the codec decodes the new codes after the prompt's
(:func:`tts.backends.decode_continuation`). A model with a semantic tokenizer
(``semantic_source: aligner``) also loads the tokenizer its folder names (dependency
``semantic``, which names its phone aligner): the prompt's semantic tokens come from
its audio, T2S fills the target's, and S2A all the codebooks. An aligned model
(``text_conditioning: aligned``) also loads the phone aligner its folder names
(dependency ``aligner``): it measures the prompt's phone durations, from which the
model's duration model predicts the target's (and so its length).

Options (declared with their ranges in :mod:`tts.options`): ``steps`` (stage 1),
``s2a_steps`` (calls per acoustic codebook: an int applies to every codebook, a tuple (8, 2, 1)
gives one per codebook, the last repeating),
``temperature``, ``top_k``, ``cfg`` (0: the unconditional pass of stage 1 is skipped),
``s2a_cfg``, ``duration`` (``speed`` is then ignored), ``speed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from codec_lm.maskgct import MaskGCT, MaskGCTConfig, MaskGCTSampling, synthesize
from codec_lm.maskgct.synthesis import whole_prompt_frames

from ..checkpoint import CheckpointError
from ..errors import TTSError
from ..semantic import load_semantic_tokenizer, tokenize_audio
from .codec_model import CodecModelBackend


class MaskGCTBackend(CodecModelBackend):
    family = "maskgct"
    label = "MaskGCT"
    tokenizer = None  # aligner.semantic.SemanticTokenizer of semantic_source "aligner"

    @classmethod
    def load(cls, info, device: torch.device) -> "MaskGCTBackend":
        backend = super().load(info, device)
        config = backend.model.config
        if config.semantic_source == "aligner":
            if "semantic" not in info.dependencies:
                raise CheckpointError(f"MaskGCT checkpoint '{info.path}' reads semantic tokens but names no tokenizer "
                                      "in model.yaml (dependencies: semantic): it cannot tokenize a prompt.")
            tokenizer = load_semantic_tokenizer(info.dependencies["semantic"], device)
            rate = tokenizer.frame_rate * config.semantic_hop
            if tokenizer.config.clusters != config.semantic_clusters or abs(rate - config.frame_rate) > 1e-6:
                raise CheckpointError(
                    f"Semantic tokenizer '{tokenizer.path}' ({tokenizer.config.clusters} clusters, "
                    f"{tokenizer.frame_rate:g} tokens/s) is not the one MaskGCT '{info.path}' was trained on "
                    f"({config.semantic_clusters} clusters, one token per {config.semantic_hop} of "
                    f"{config.frame_rate:g} frames/s).")
            backend.tokenizer = tokenizer
        if config.aligned:
            backend.load_aligner(info, device, "Aligned MaskGCT")
        return backend

    @classmethod
    def model_classes(cls) -> tuple[type, type]:
        return MaskGCT, MaskGCTConfig

    def _sampling(self, seed: int | None, options: dict[str, Any]):
        kw = {k: options[k] for k in ("steps", "s2a_steps", "temperature", "top_k", "cfg", "s2a_cfg", "speed")
              if options.get(k) is not None}
        try:
            return MaskGCTSampling(seed=seed, **kw)
        except ValueError as err:
            raise TTSError(f"Invalid MaskGCT option: {err}.") from err

    def frames_for(self, targets: Sequence[Sequence[int]], duration: float) -> list[int]:
        """``duration`` seconds shared between ``targets`` by phoneme count, in code frames (>= 1 each).

        Each share becomes the frames the codec itself makes of that much audio,
        ``ceil(seconds x frame_rate)``: codecs decode ``N`` frames to ``N`` hops (EnCodec)
        or ``N - 1`` (MelRVQ's centred Vocos), so either way the audio is within one
        frame of the request.
        """
        if not duration > 0:
            raise TTSError(f"duration must be positive seconds, got {duration}.")
        total = duration * self.model.config.frame_rate
        weights = [max(1, len(t)) for t in targets]
        return [max(1, math.ceil(total * w / sum(weights) - 1e-6)) for w in weights]

    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        sampling = self._sampling(seed, options)
        if not prompt_ids:
            raise TTSError("The prompt transcript has no phonemes: pass the words the prompt says (--prompt-text).")
        device = next(self.model.parameters()).device
        codes = self.codec.encode(prompt.float()[None].to(device))[0]  # [Q, P]
        frames = self.frames_for(targets, options["duration"]) if options.get("duration") is not None else None
        semantic = None
        if self.tokenizer is not None:
            semantic = tokenize_audio(self.tokenizer, [prompt.float()], self.sample_rate) * len(targets)
        prompt_ids, durations, space_id = list(prompt_ids), None, 4
        if self.model.config.aligned:
            prompt_ids, pd = self.prompt_durations(prompt, codes.shape[-1], prompt_ids)
            durations, space_id = [pd] * len(targets), self.aligner[1].space_id
        out = synthesize(self.model, [codes] * len(targets), [prompt_ids] * len(targets),
                         [list(t) for t in targets], sampling, frames=frames, prompt_semantic=semantic,
                         prompt_durations=durations, space_id=space_id)
        used = whole_prompt_frames(self.model, codes.shape[-1], None if semantic is None else len(semantic[0]))
        return [self.decode_after(codes[:, :used], g) for g in out]
