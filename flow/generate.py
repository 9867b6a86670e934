"""Zero-shot synthesis and infilling with a trained :class:`flow.model.FlowTTS`.

Legend: b = batch, n = frames, c = mel bins.

Synthesis: the prompt's frames are the context at the start of an ``n``-frame
canvas, the text is the prompt's phonemes followed by the target's, and the ODE
from noise (t = 0) to speech (t = 1) fills the rest. The target length comes from
the prompt's speaking rate (frames per phoneme) times the target's phoneme count,
divided by ``speed``, unless a duration is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nn_common import estimate_frames, lengths_to_mask

from .model import FlowTTS, pad_text
from .solvers import integrate, steps_for_nfe, time_grid


@dataclass
class FlowSampling:
    """Sampling options.

    Attributes:
        nfe: velocity evaluations per sample (16 is the default trade-off).
        solver: ``"euler"`` or ``"midpoint"``.
        cfg: classifier-free guidance scale (0 = conditional prediction only).
        sway: sway-sampling coefficient (None or 0 = uniform time steps).
        speed: speaking-rate factor for the estimated duration (>1 = faster).
        seed: seed of the initial noise (None = random).
    """

    nfe: int = 16
    solver: str = "euler"
    cfg: float = 2.0
    sway: float | None = -1.0
    speed: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        steps_for_nfe(self.nfe, self.solver)  # validates both
        if self.cfg < 0:
            raise ValueError(f"cfg must be >= 0, got {self.cfg}")
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, got {self.speed}")


def _noise(lens: torch.Tensor, n: int, c: int, seed: int | None, device, dtype) -> torch.Tensor:
    """Initial noise ``[b, n, c]``; with a seed, each item draws its own frames from that
    seed, so an item gets the same noise alone or in any batch."""
    out = torch.zeros(len(lens), n, c)
    for i, length in enumerate(lens.tolist()):
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        out[i, :length] = torch.randn((length, c), generator=gen)
    return out.to(device=device, dtype=dtype)


@torch.inference_mode()
def sample(model: FlowTTS, context: torch.Tensor, known: torch.Tensor, text: torch.Tensor, lens: torch.Tensor,
           options: FlowSampling) -> torch.Tensor:
    """Solve the ODE on canvases with known frames.

    Args:
        context: ``[b, n, c]`` features, valid where ``known``.
        known: bool ``[b, n]``, frames that are given (kept exactly).
        text: phoneme ids ``[b, n]`` at frame rate.
        lens: ``[b]`` canvas lengths.

    Returns:
        ``[b, n, c]``: the given frames where ``known``, generated frames elsewhere.
    """
    b, n, c = context.shape
    mask = lengths_to_mask(lens, n)
    ctx = context.masked_fill(~known[..., None], 0.0)
    y0 = _noise(lens, n, c, options.seed, context.device, context.dtype)
    guided = options.cfg > 0

    def field(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        tt = t.expand(b)
        if not guided:
            return model.velocity(y, ctx, text, tt, mask)
        # one batched call for the conditional and the unconditional prediction
        v = model.velocity(torch.cat([y, y]), torch.cat([ctx, torch.zeros_like(ctx)]),
                           torch.cat([text, torch.zeros_like(text)]), torch.cat([tt, tt]), torch.cat([mask, mask]))
        v_cond, v_uncond = v.chunk(2)
        return v_cond + options.cfg * (v_cond - v_uncond)

    grid = time_grid(steps_for_nfe(options.nfe, options.solver), options.sway, device=context.device)
    y = integrate(field, y0, grid.to(context.dtype), options.solver)
    return torch.where(known[..., None], context, y)


def synthesize(model: FlowTTS, prompts: Sequence[torch.Tensor], prompt_phonemes: Sequence[torch.Tensor],
               target_phonemes: Sequence[torch.Tensor], options: FlowSampling | None = None,
               frames: Sequence[int | None] | None = None, space_id: int = 4) -> list[torch.Tensor]:
    """Generate speech for a batch of (prompt, text) pairs.

    Args:
        prompts: prompt features, each ``[c, n_p]``.
        prompt_phonemes: phoneme ids of each prompt's transcript ``[l_p]``.
        target_phonemes: phoneme ids of each text to speak ``[l_t]``.
        options: sampling options.
        frames: frames to generate per item (None: estimated from the prompt's rate).
        space_id: word-boundary id inserted between prompt and target text.

    Returns:
        Generated features (prompt excluded), each ``[c, n_t]``.
    """
    options = options or FlowSampling()
    frames = list(frames) if frames is not None else [None] * len(prompts)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    n_gen = [f if f is not None else estimate_frames(p.shape[-1], len(pp), len(tp), options.speed)
             for p, pp, tp, f in zip(prompts, prompt_phonemes, target_phonemes, frames)]
    lens = torch.tensor([p.shape[-1] + g for p, g in zip(prompts, n_gen)], device=device)
    n = int(lens.max())
    c = prompts[0].shape[0]
    context = torch.zeros(len(prompts), n, c, device=device, dtype=dtype)
    known = torch.zeros(len(prompts), n, dtype=torch.bool, device=device)
    texts = []
    for i, (p, pp, tp) in enumerate(zip(prompts, prompt_phonemes, target_phonemes)):
        context[i, : p.shape[-1]] = p.T.to(device, dtype)
        known[i, : p.shape[-1]] = True
        texts.append(torch.cat([pp.to(device), torch.tensor([space_id], device=device), tp.to(device)]))
    text = pad_text(torch.nn.utils.rnn.pad_sequence(texts, batch_first=True, padding_value=0), n)
    out = sample(model, context, known, text, lens, options)
    return [out[i, p.shape[-1]: p.shape[-1] + g].T.float().cpu() for i, (p, g) in enumerate(zip(prompts, n_gen))]


def infill(model: FlowTTS, features: torch.Tensor, start: int, end: int, new_frames: int,
           phonemes: torch.Tensor, options: FlowSampling | None = None) -> torch.Tensor:
    """Replace frames ``[start, end)`` of ``features [c, n]`` by ``new_frames`` generated frames.

    ``phonemes`` is the full new transcript. Every frame outside the span is copied
    from the input unchanged: the result is ``features[:, :start]``, the new frames,
    ``features[:, end:]``.
    """
    options = options or FlowSampling()
    c, n = features.shape
    if not 0 <= start <= end <= n:
        raise ValueError(f"Span [{start}, {end}) is outside the {n} input frames.")
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    canvas = torch.cat([features[:, :start], torch.zeros(c, new_frames), features[:, end:]], dim=1)
    total = canvas.shape[1]
    known = torch.ones(1, total, dtype=torch.bool, device=device)
    known[0, start: start + new_frames] = False
    text = pad_text(phonemes[None].to(device), total)
    out = sample(model, canvas.T[None].to(device, dtype), known, text, torch.tensor([total], device=device), options)
    new = out[0, start: start + new_frames].T.float().cpu()
    return torch.cat([features[:, :start], new, features[:, end:]], dim=1)
