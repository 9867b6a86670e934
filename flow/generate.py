"""Zero-shot synthesis and infilling with a trained :class:`flow.model.FlowTTS`.

Legend: b = batch, n = frames, c = mel bins.

Synthesis: the prompt's frames are the context at the start of an ``n``-frame
canvas, the text is the prompt's phonemes followed by the target's, and the ODE
from noise (t = 0) to speech (t = 1) fills the rest. With filler text, the target
length comes from the prompt's speaking rate (frames per phoneme) times the target's
phoneme count, divided by ``speed``, unless a duration is given. An aligned model
instead reads the prompt's durations (from the phone aligner) and predicts the
target's with its duration model, in the prompt's rhythm; ``speed`` divides and
``frames`` rescales the predicted ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nn_common import estimate_frames, expand_by_durations, lengths_to_mask
from nn_common.duration import plan_durations

from .model import FlowTTS, pad_text
from .solvers import integrate, steps_for_nfe, time_grid


@dataclass
class FlowSampling:
    """Sampling options.

    Attributes:
        nfe: velocity evaluations per sample (16 is the default trade-off).
        solver: ``"euler"`` or ``"midpoint"``.
        cfg: classifier-free guidance scale (0 = conditional prediction only).
        cfg_audio: guidance scale of the prompt's audio, apart from the text's. The field is
            ``v(text, audio) + cfg_audio * (v(text, audio) - v(text, no audio))
            + cfg * (v(text, no audio) - v(none))``; None (default) takes ``cfg``, which is
            classic CFG (``v(text, audio) + cfg * (v(text, audio) - v(none))``, F5-TTS and
            Voicebox) in two batched predictions per step; another value takes three
            (1.5x the work). The no-audio prediction is the model's audio-dropped mode
            from training.
        sway: sway-sampling coefficient (None or 0 = uniform time steps).
        speed: speaking-rate factor for the estimated duration (>1 = faster).
        seed: seed of the initial noise (None = random).
    """

    nfe: int = 16
    solver: str = "euler"
    cfg: float = 2.0
    cfg_audio: float | None = None
    sway: float | None = -1.0
    speed: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        steps_for_nfe(self.nfe, self.solver)  # validates both
        if self.cfg < 0:
            raise ValueError(f"cfg must be >= 0, got {self.cfg}")
        if self.cfg_audio is not None and self.cfg_audio < 0:
            raise ValueError(f"cfg_audio must be >= 0 (or None: as cfg), got {self.cfg_audio}")
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
    _, n, c = context.shape
    mask = lengths_to_mask(lens, n)
    ctx = context.masked_fill(~known[..., None], 0.0)
    y0 = _noise(lens, n, c, options.seed, context.device, context.dtype)
    # The text path does not depend on the ODE state: encode it once (both CFG halves), not
    # at every step. And with no padding (one item, or equal lengths) attention needs no mask,
    # which keeps it on the fused kernel.
    attn_mask = None if bool(mask.all()) else mask
    # Predictions per item and step, batched: (text, audio) [, (text, no audio)] [, (nothing)].
    split = options.cfg_audio is not None and options.cfg_audio != options.cfg
    k = 3 if split else 2 if options.cfg > 0 else 1
    if k > 1:
        none_text, none_ctx = torch.zeros_like(text), torch.zeros_like(ctx)
        if split:
            text, ctx = torch.cat([text, text, none_text]), torch.cat([ctx, none_ctx, none_ctx])
        else:
            text, ctx = torch.cat([text, none_text]), torch.cat([ctx, none_ctx])
        attn_mask = None if attn_mask is None else attn_mask.repeat(k, 1)
    features = model.text_encoder(text, attn_mask)

    def field(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        tt = t.reshape(1)  # one time for every item: the blocks then modulate with fused layer norms
        v = model.velocity(y if k == 1 else y.repeat(k, 1, 1), ctx, text, tt, attn_mask, text_features=features)
        if k == 1:
            return v
        if k == 2:
            v_cond, v_uncond = v.chunk(2)
            return v_cond + options.cfg * (v_cond - v_uncond)
        v_cond, v_text, v_uncond = v.chunk(3)
        return v_cond + options.cfg_audio * (v_cond - v_text) + options.cfg * (v_text - v_uncond)

    grid = time_grid(steps_for_nfe(options.nfe, options.solver), options.sway, device=context.device)
    y = integrate(field, y0, grid.to(context.dtype), options.solver)
    return torch.where(known[..., None], context, y)


def target_durations(model: FlowTTS, prompt_phonemes: torch.Tensor, prompt_durations: torch.Tensor,
                     target_phonemes: torch.Tensor, speed: float = 1.0, frames: int | None = None,
                     space_id: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`nn_common.duration.plan_durations` with the model's duration model."""
    return plan_durations(model.duration, prompt_phonemes, prompt_durations, target_phonemes, speed, frames,
                          space_id)


def synthesize(model: FlowTTS, prompts: Sequence[torch.Tensor], prompt_phonemes: Sequence[torch.Tensor],
               target_phonemes: Sequence[torch.Tensor], options: FlowSampling | None = None,
               frames: Sequence[int | None] | None = None, space_id: int = 4,
               prompt_durations: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Generate speech for a batch of (prompt, text) pairs.

    Args:
        prompts: prompt features, each ``[c, n_p]``.
        prompt_phonemes: phoneme ids of each prompt's transcript ``[l_p]``; for an aligned
            model, the boundary-wrapped sequence its ``prompt_durations`` are for.
        target_phonemes: phoneme ids of each text to speak ``[l_t]``.
        options: sampling options.
        frames: frames to generate per item (None: from the prompt's rate, or predicted).
        space_id: word-boundary id between prompt and target text.
        prompt_durations: aligned models only: frames per prompt symbol ``[l_p]``,
            summing to ``n_p`` (from the phone aligner).

    Returns:
        Generated features (prompt excluded), each ``[c, n_t]``.
    """
    options = options or FlowSampling()
    frames = list(frames) if frames is not None else [None] * len(prompts)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    if model.aligned:
        if prompt_durations is None:
            raise ValueError("An aligned flow model needs the prompt's durations (from the phone aligner).")
        plans = [target_durations(model, pp, pd, tp, options.speed, f, space_id)
                 for pp, pd, tp, f in zip(prompt_phonemes, prompt_durations, target_phonemes, frames)]
        n_gen = [int(d.sum()) - p.shape[-1] for p, (_, d) in zip(prompts, plans)]
    else:
        n_gen = [f if f is not None else estimate_frames(p.shape[-1], len(pp), len(tp), options.speed)
                 for p, pp, tp, f in zip(prompts, prompt_phonemes, target_phonemes, frames)]
    lens = torch.tensor([p.shape[-1] + g for p, g in zip(prompts, n_gen)], device=device)
    n = int(lens.max())
    c = prompts[0].shape[0]
    context = torch.zeros(len(prompts), n, c, device=device, dtype=dtype)
    known = torch.zeros(len(prompts), n, dtype=torch.bool, device=device)
    for i, p in enumerate(prompts):
        context[i, : p.shape[-1]] = model.normalize(p.T.to(device, dtype))
        known[i, : p.shape[-1]] = True
    if model.aligned:
        ids = torch.nn.utils.rnn.pad_sequence([ids for ids, _ in plans], batch_first=True).to(device)
        durs = torch.nn.utils.rnn.pad_sequence([d for _, d in plans], batch_first=True).to(device)
        text = expand_by_durations(ids, durs, n)
    else:
        texts = [torch.cat([pp.to(device), torch.tensor([space_id], device=device), tp.to(device)])
                 for pp, tp in zip(prompt_phonemes, target_phonemes)]
        text = pad_text(torch.nn.utils.rnn.pad_sequence(texts, batch_first=True, padding_value=0), n)
    out = model.denormalize(sample(model, context, known, text, lens, options))
    return [out[i, p.shape[-1]: p.shape[-1] + g].T.float().cpu() for i, (p, g) in enumerate(zip(prompts, n_gen))]


def infill(model: FlowTTS, features: torch.Tensor, start: int, end: int, new_frames: int,
           phonemes: torch.Tensor, options: FlowSampling | None = None,
           durations: torch.Tensor | None = None) -> torch.Tensor:
    """Replace frames ``[start, end)`` of ``features [c, n]`` by ``new_frames`` generated frames.

    ``phonemes`` is the full new transcript; for an aligned model, its boundary-wrapped
    sequence with ``durations [l]`` summing to the new length (``n - (end - start) +
    new_frames``). Every frame outside the span is copied from the input unchanged: the
    result is ``features[:, :start]``, the new frames, ``features[:, end:]``.
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
    text = model.frame_text(phonemes[None].to(device), total, None if durations is None else durations[None].to(device))
    context = model.normalize(canvas.T[None].to(device, dtype))
    out = model.denormalize(sample(model, context, known, text, torch.tensor([total], device=device), options))
    new = out[0, start: start + new_frames].T.float().cpu()
    return torch.cat([features[:, :start], new, features[:, end:]], dim=1)
