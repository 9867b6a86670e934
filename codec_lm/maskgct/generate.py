"""The two decoding stages of a trained :class:`codec_lm.maskgct.model.MaskGCT` over a padded batch.

Legend: b = batch, l = phonemes, q = codebooks, a = acoustic codebooks, n = frames
(prompt + target), k = codebook entries.

1. **Length**: given (:mod:`.synthesis` computes it). With a semantic tokenizer
   (``semantic_source="aligner"``) the unit is the semantic token (``semantic_hop``
   code frames): the prompt is whole tokens and the target is generated as whole
   tokens, then cut to the frames asked for.
2. **Stage 1 (T2S).** The text is ``prompt phonemes + separator + target phonemes``,
   the canvas is ``[prompt semantic tokens, n_target x MASK]``, and
   :func:`~codec_lm.maskgct.sampling.iterative_decode` fills it in ``steps`` calls.
   With guidance, each call also runs the unconditional input (no text, no prompt:
   the target frames alone), in one batch of ``2b`` items on accelerators.
3. **Stage 2 (S2A).** The acoustic codebooks (2..Q for ``codebook1``, all Q for
   ``aligner``, whose tokens are repeated to the code frame rate) are filled one after
   the other, each conditioned on the semantic stream and every lower codebook, with
   the prompt's frames carrying all codebooks; ``s2a_steps`` calls per codebook (the
   last value repeats for the upper ones, which need few: one step is a greedy pass).

An **aligned** model (``text_conditioning="aligned"``) reads the phoneme of every code
frame of prompt and target in both stages (``frame_text``); the unconditional pass of
guidance reads none.

:mod:`.synthesis` holds the entry points that check and batch prompts and texts
(``synthesize``, and ``synthesize_acoustic``: S2A alone from given semantic tokens) and
plan an aligned model's frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nn_common import lengths_to_mask

from .model import MaskGCT
from .modules import shift
from .sampling import guide, iterative_decode, make_generators


@dataclass
class MaskGCTSampling:
    """Sampling options.

    Attributes:
        steps: T2S calls (stage 1); 25 trades speed for quality (MaskGCT uses 50).
        s2a_steps: calls per acoustic codebook 2, 3, ...; the last value repeats
            (MaskGCT uses 40, 16, 1, 1, ...; the default (8, 2, 1) is about 3x
            cheaper). An int applies to every codebook.
        temperature: Gumbel sampling temperature of the first step, annealed to 0.
        top_k: sample among the ``top_k`` most likely entries (0 = all).
        confidence_noise: Gumbel noise on the confidences that pick which frames to
            keep each step (annealed); 0 = keep the most likely frames.
        cfg: classifier-free guidance scale of stage 1 (0 = the conditional model
            only, which skips the unconditional half of the compute).
        s2a_cfg: guidance scale of stage 2 (unconditional = without the prompt).
        cfg_rescale: share (0..1) of the guided logits whose spread is rescaled to the
            conditional logits' spread.
        speed: speaking-rate factor for the estimated length (>1 = faster); ignored
            where a length is given.
        seed: makes sampling reproducible (None = the global RNG).
    """

    steps: int = 25
    s2a_steps: int | tuple[int, ...] = (8, 2, 1)
    temperature: float = 1.0
    top_k: int = 20
    confidence_noise: float = 1.0
    cfg: float = 2.5
    s2a_cfg: float = 0.0
    cfg_rescale: float = 0.75
    speed: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.s2a_steps, int):
            self.s2a_steps = (self.s2a_steps,)
        self.s2a_steps = tuple(self.s2a_steps)
        for value in (self.steps, *self.s2a_steps):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"steps and s2a_steps must be integers >= 1, got {value!r}")
        if not self.s2a_steps:
            raise ValueError("s2a_steps needs at least one value")
        if self.temperature < 0 or self.confidence_noise < 0:
            raise ValueError(f"temperature and confidence_noise must be >= 0, got {self.temperature}, "
                             f"{self.confidence_noise}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer >= 0 (0 = off), got {self.top_k!r}")
        if self.cfg < 0 or self.s2a_cfg < 0:
            raise ValueError(f"cfg and s2a_cfg must be >= 0, got {self.cfg}, {self.s2a_cfg}")
        if not 0.0 <= self.cfg_rescale <= 1.0:
            raise ValueError(f"cfg_rescale must be in [0, 1], got {self.cfg_rescale}")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")

    def steps_for(self, j: int) -> int:
        """Calls for acoustic codebook ``j`` (0-based among the acoustic ones)."""
        return self.s2a_steps[min(j, len(self.s2a_steps) - 1)]


def _guided(run, cond: tuple, uncond: tuple, prompt_lens: torch.Tensor, cfg: float, rescale: float,
            batched: bool | None) -> torch.Tensor:
    """Run ``run(*cond)`` and ``run(*uncond)``, shift the unconditional logits back onto the
    target frames and guide. ``batched`` (None: on accelerators only) runs both as one
    batch of ``2b``: one launch is faster on a GPU, while on a CPU the cost follows the
    padded length and the unconditional inputs are shorter (no text, no prompt)."""
    if batched is None:
        batched = prompt_lens.device.type != "cpu"
    if batched:
        padded = [F.pad(u, (0, c.shape[-1] - u.shape[-1]), value=-1) if u is not None and u.dim() > 1 else u
                  for c, u in zip(cond, uncond)]
        logits_c, logits_u = run(*(None if c is None else torch.cat([c, u])
                                   for c, u in zip(cond, padded))).chunk(2)
    else:
        logits_c, logits_u = run(*cond), run(*uncond)
        logits_u = F.pad(logits_u, (0, 0, 0, logits_c.shape[1] - logits_u.shape[1]))
    return guide(logits_c, shift(logits_u, -prompt_lens), cfg, rescale)


def t2s_logits(model: MaskGCT, text: torch.Tensor, text_lens: torch.Tensor, tokens: torch.Tensor,
               lens: torch.Tensor, prompt_lens: torch.Tensor, cfg: float = 0.0, rescale: float = 0.0,
               batched: bool | None = None, frame_text: torch.Tensor | None = None) -> torch.Tensor:
    """Stage-1 logits ``[b, n, k]``, guided when ``cfg > 0``.

    The unconditional input is the target frames alone (no text, no prompt), as in
    training's ``drop_all``; its logits are shifted back onto the target frames.
    ``batched``: see :func:`_guided`. ``frame_text``: aligned models, ``[b, hop * n]``
    the phoneme of each code frame (the unconditional input reads none).
    """
    if cfg == 0:
        return model.t2s(text, text_lens, tokens, lens, prompt_lens, frame_text)
    zeros = torch.zeros_like(text_lens)
    m = int((lens - prompt_lens).max())
    no_text = None if frame_text is None else torch.zeros_like(frame_text[:, : m * model.config.semantic_hop])
    return _guided(model.t2s, (text, text_lens, tokens, lens, prompt_lens, frame_text),
                   (text[:, :1], zeros, shift(tokens, prompt_lens)[:, :m], lens - prompt_lens, zeros, no_text),
                   prompt_lens, cfg, rescale, batched)


def s2a_logits(model: MaskGCT, semantic: torch.Tensor, acoustic: torch.Tensor, lens: torch.Tensor,
               prompt_lens: torch.Tensor, layer: torch.Tensor, cfg: float = 0.0, rescale: float = 0.0,
               batched: bool | None = None, frame_text: torch.Tensor | None = None) -> torch.Tensor:
    """Stage-2 logits ``[b, n, k]`` of acoustic codebook ``layer``; guided (no prompt) when ``cfg > 0``.
    ``frame_text``: aligned models, ``[b, n]`` the phoneme of each frame (kept by the
    unconditional input, which drops only the prompt)."""
    if cfg == 0:
        return model.s2a(semantic, acoustic, lens, prompt_lens, layer, frame_text)
    zeros = torch.zeros_like(prompt_lens)
    m = int((lens - prompt_lens).max())
    moved = shift(acoustic.transpose(1, 2), prompt_lens).transpose(1, 2)
    text_u = None if frame_text is None else shift(frame_text, prompt_lens)[:, :m]
    uncond = (shift(semantic, prompt_lens)[:, :m], moved[..., :m], lens - prompt_lens, zeros, layer, text_u)
    return _guided(model.s2a, (semantic, acoustic, lens, prompt_lens, layer, frame_text), uncond, prompt_lens, cfg,
                   rescale, batched)


@torch.inference_mode()
def generate_semantic(model: MaskGCT, text: torch.Tensor, text_lens: torch.Tensor, codes: torch.Tensor | None,
                      prompt_lens: torch.Tensor, target_lens: torch.Tensor, options: MaskGCTSampling,
                      generators: Sequence[torch.Generator | None],
                      semantic: torch.Tensor | None = None, frame_text: torch.Tensor | None = None) -> torch.Tensor:
    """Stage 1: the semantic tokens of each target span.

    Args:
        text: ``[b, l]`` phoneme ids of prompt and target transcripts; ``text_lens [b]``.
        codes: ``codebook1``: ``[b, q, n]`` canvas holding the prompt codes on the first
            ``prompt_lens`` frames (``aligner``: unused).
        prompt_lens, target_lens: ``[b]`` semantic tokens of the prompt, and to generate after it.
        generators: per-item generators (shared with stage 2, so a seed fixes both).
        semantic: ``aligner``: ``[b, s]`` canvas holding the prompt's tokens on the first
            ``prompt_lens`` positions.
        frame_text: aligned models: ``[b, hop * s]`` the phoneme of each code frame.

    Returns:
        ``[b, s]`` semantic tokens: the prompt's, then the generated ones.
    """
    lens = prompt_lens + target_lens
    return iterative_decode(
        lambda tok: t2s_logits(model, text, text_lens, tok, lens, prompt_lens, options.cfg, options.cfg_rescale,
                               frame_text=frame_text),
        model.semantic_tokens(codes, semantic).clamp(min=0), prompt_lens, target_lens, model.t2s.mask_id,
        options.steps, options.temperature, options.top_k, options.confidence_noise, generators)


@torch.inference_mode()
def generate_acoustic(model: MaskGCT, semantic: torch.Tensor, codes: torch.Tensor, prompt_lens: torch.Tensor,
                      target_lens: torch.Tensor, options: MaskGCTSampling,
                      generators: Sequence[torch.Generator | None],
                      frame_text: torch.Tensor | None = None, given: torch.Tensor | None = None) -> torch.Tensor:
    """Stage 2: the acoustic codebooks of each target span, lowest first.

    Args:
        semantic: ``[b, n]`` semantic tokens of prompt and target frames, at the code frame
            rate (``MaskGCT.upsample``).
        codes: ``[b, q, n]`` canvas holding the prompt codes on the first ``prompt_lens`` frames.
        frame_text: aligned models: ``[b, n]`` the phoneme of each frame.
        given: ``[b, k, n]`` the first ``k`` acoustic codebooks of the target frames, taken as
            they are instead of generated (the S2A check's diagnostic); no noise is drawn for them.

    Returns:
        ``[b, a, n]`` acoustic codes: the prompt's, then the generated ones.
    """
    b, _, n = codes.shape
    lens = prompt_lens + target_lens
    in_prompt = lengths_to_mask(prompt_lens, n)
    acoustic = model.acoustic_codes(codes).masked_fill(~in_prompt[:, None], -1)  # target: nothing known yet
    for j in range(model.s2a.n_acoustic):
        if given is not None and j < given.shape[1]:
            acoustic[:, j] = torch.where(in_prompt, acoustic[:, j], given[:, j])
            continue
        layer = torch.full((b,), j, dtype=torch.long, device=codes.device)

        def logits_fn(tok: torch.Tensor, j: int = j, layer: torch.Tensor = layer) -> torch.Tensor:
            x = acoustic.clone()
            x[:, j] = tok
            return s2a_logits(model, semantic, x, lens, prompt_lens, layer, options.s2a_cfg, options.cfg_rescale,
                              frame_text=frame_text)

        acoustic[:, j] = iterative_decode(logits_fn, acoustic[:, j].clamp(min=0), prompt_lens, target_lens,
                                          model.s2a.mask_id, options.steps_for(j), options.temperature,
                                          options.top_k, options.confidence_noise, generators)
    return acoustic


def _canvas(prompt: torch.Tensor, prompt_lens: torch.Tensor, n: int) -> torch.Tensor:
    """``[b, ..., n]`` of -1 holding ``prompt [b, ..., p]`` on each item's first ``prompt_lens`` positions."""
    out = torch.full((*prompt.shape[:-1], n), -1, dtype=torch.long, device=prompt.device)
    p = min(prompt.shape[-1], n)
    keep = lengths_to_mask(prompt_lens, n)[:, :p].view(len(prompt), *([1] * (prompt.dim() - 2)), p)
    out[..., :p] = torch.where(keep, prompt[..., :p].long(), -1)
    return out


def _whole_tokens(model: MaskGCT, prompt_lens: torch.Tensor, target_lens: torch.Tensor) -> tuple[torch.Tensor,
                                                                                                   torch.Tensor]:
    """Prompt and target lengths in semantic tokens (the prompt must be whole tokens)."""
    hop = model.config.semantic_hop
    if bool((prompt_lens % hop).any()):
        raise ValueError(f"The prompt codes must be whole semantic tokens ({hop} frames each), got "
                         f"{prompt_lens.tolist()} frames; cut them (synthesize does)")
    return prompt_lens // hop, model.semantic_lengths(target_lens)


@torch.inference_mode()
def generate(model: MaskGCT, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor,
             prompt_lens: torch.Tensor, target_lens: torch.Tensor, options: MaskGCTSampling | None = None,
             prompt_semantic: torch.Tensor | None = None, frame_text: torch.Tensor | None = None) -> torch.Tensor:
    """Generate target codes for a padded batch (stage 1, then stage 2).

    Args:
        text: ``[b, l]`` phoneme ids of prompt and target transcripts; ``text_lens [b]``.
        prompt: ``[b, q, p]`` prompt codes (padding anything); ``prompt_lens [b]`` (may be 0;
            ``aligner``: a multiple of ``semantic_hop``).
        target_lens: ``[b]`` frames to generate per item (>= 1).
        options: sampling options.
        prompt_semantic: ``aligner`` only: ``[b, ps]`` the prompt's semantic tokens (at least
            ``prompt_lens / semantic_hop`` per item; padding anything).
        frame_text: aligned models only: ``[b, f]`` the phoneme of each code frame of prompt
            and target, whole semantic tokens included (:func:`aligned_frames`).

    Returns:
        ``[b, q, n]`` codes of prompt + target per item (``n = max(prompt + target)``),
        ``-1`` after each item's end. Prompt frames are copied unchanged.
    """
    options = options or MaskGCTSampling()
    b, q, _ = prompt.shape
    lens = prompt_lens + target_lens
    n = int(lens.max())
    gens = make_generators(options.seed, b, prompt.device)
    if model.config.aligned and frame_text is None:
        raise ValueError("An aligned MaskGCT needs frame_text: the phoneme of each code frame (aligned_frames)")
    if model.config.semantic_source == "codebook1":
        codes = _canvas(prompt, prompt_lens, n)
        semantic = generate_semantic(model, text, text_lens, codes, prompt_lens, target_lens, options, gens,
                                     frame_text=frame_text)
        codes[:, 0] = semantic  # codebook 1 is the semantic stream
        if model.s2a is not None:
            codes[:, 1:] = generate_acoustic(model, semantic, codes, prompt_lens, target_lens, options, gens,
                                             frame_text)
        return codes.masked_fill(~lengths_to_mask(lens, n)[:, None], -1)
    if prompt_semantic is None:
        raise ValueError("semantic_source 'aligner' needs prompt_semantic: the prompt's semantic tokens")
    sem_prompt, sem_target = _whole_tokens(model, prompt_lens, target_lens)
    canvas = _canvas(prompt_semantic, sem_prompt, int((sem_prompt + sem_target).max()))
    semantic = generate_semantic(model, text, text_lens, None, sem_prompt, sem_target, options, gens, canvas,
                                 frame_text)
    codes = _acoustic_from_semantic(model, semantic, prompt, prompt_lens, sem_target, options, gens, frame_text)
    return codes[..., :n].masked_fill(~lengths_to_mask(lens, n)[:, None], -1)


def _acoustic_from_semantic(model: MaskGCT, semantic: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
                            sem_target: torch.Tensor, options: MaskGCTSampling,
                            generators: Sequence[torch.Generator | None],
                            frame_text: torch.Tensor | None = None, given: torch.Tensor | None = None) -> torch.Tensor:
    """Stage 2 over whole target tokens: ``[b, q, prompt_lens + hop * sem_target]`` codes (-1 after).

    Args:
        semantic: ``[b, s]`` semantic tokens of prompt and target (the prompt's are whole tokens).
        prompt: ``[b, q, p]`` prompt codes; ``prompt_lens [b]`` (``hop`` times its tokens).
        sem_target: ``[b]`` target tokens.
        frame_text: aligned models: ``[b, f]`` the phoneme of each code frame (``f >= n``).
        given: ``[b, k, n]`` acoustic codebooks taken as they are (``generate_acoustic``).
    """
    hop = model.config.semantic_hop
    full = prompt_lens + hop * sem_target
    n = int(full.max())
    codes = _canvas(prompt, prompt_lens, n)
    up = model.upsample(semantic, n)
    text = None if frame_text is None else frame_text[:, :n]
    acoustic = generate_acoustic(model, up, codes, prompt_lens, hop * sem_target, options, generators, text,
                                 None if given is None else given[..., :n])
    if model.config.first_acoustic:  # codebook1: the semantic stream is codebook 1 itself
        codes[:, 0] = up
        codes[:, 1:] = acoustic
    else:
        codes = acoustic
    return codes.masked_fill(~lengths_to_mask(full, n)[:, None], -1)
