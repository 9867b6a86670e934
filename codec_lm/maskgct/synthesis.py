"""Zero-shot synthesis entry points of :class:`codec_lm.maskgct.model.MaskGCT`: checked,
batched prompts and texts in, codes out (the stages themselves are in :mod:`.generate`).

Legend: b = batch, l = phonemes, q = codebooks, n = frames, s = semantic tokens.

- **Length.** The target's frames are the prompt's frames per phoneme times the
  target's phoneme count, divided by ``speed`` (or given per item: a duration). With a
  semantic tokenizer (``semantic_source="aligner"``) it is counted in semantic tokens
  (``semantic_hop`` code frames each) and the prompt is cut to whole tokens.
- **Aligned** models (``text_conditioning="aligned"``) read the prompt's phone
  durations (from the phone aligner) instead of a speaking rate: their duration model
  predicts the target's in the prompt's rhythm (divided by ``speed``, or rescaled to a
  given length), and both stages read the phoneme of every code frame of prompt and
  target (:func:`aligned_frames`).
- :func:`synthesize_acoustic` runs S2A alone from given semantic tokens (the S2A check:
  resynthesis from the tokens of real speech).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nn_common import estimate_frames, expand_by_durations, join_phonemes
from nn_common.duration import plan_durations

from .generate import MaskGCTSampling, _acoustic_from_semantic, _canvas, generate
from .model import MaskGCT
from .sampling import make_generators


def whole_prompt_frames(model: MaskGCT, frames: int, semantic_tokens: int | None = None) -> int:
    """The prompt code frames synthesis uses, which the generated frames follow: with a
    semantic tokenizer (``semantic_source="aligner"``) the prompt cut to whole tokens (and to
    the ``semantic_tokens`` its audio gave), else all ``frames``."""
    if model.config.semantic_source != "aligner":
        return frames
    hop = model.config.semantic_hop
    tokens = frames // hop if semantic_tokens is None else min(frames // hop, semantic_tokens)
    return tokens * hop


def _batch(model: MaskGCT, prompts: Sequence[torch.Tensor], prompt_semantic: Sequence[torch.Tensor] | None):
    """Checked prompts as a padded batch: ``(prompts [b, q, p], prompt_lens [b], semantic [b, ps] or None,
    the prompts' tokens [b], the prompts as used)``; with a tokenizer (``aligner``) each prompt is
    cut to whole semantic tokens (at most ``hop - 1`` frames, 32 ms at 93.75 Hz, are dropped)."""
    c = model.config
    device = next(model.parameters()).device
    for pr in prompts:
        if pr.dim() != 2 or pr.shape[0] != c.n_codebooks:
            raise ValueError(f"Each prompt must be codes [{c.n_codebooks}, frames], got {list(pr.shape)}")
    sem = None
    if c.semantic_source == "aligner":
        if prompt_semantic is None or len(prompt_semantic) != len(prompts):
            raise ValueError("semantic_source 'aligner' needs prompt_semantic: one 1-D tensor of semantic tokens per "
                             "prompt (tts.semantic.tokenize_audio of the prompt's audio)")
        whole = [whole_prompt_frames(model, pr.shape[-1], len(s)) // c.semantic_hop
                 for pr, s in zip(prompts, prompt_semantic)]
        prompts = [pr[:, : k * c.semantic_hop] for pr, k in zip(prompts, whole)]
        sem = torch.full((len(prompts), max(max(whole), 1)), -1, dtype=torch.long, device=device)
        for i, (s, k) in enumerate(zip(prompt_semantic, whole)):
            sem[i, :k] = s[:k].to(device)
        tokens = torch.tensor(whole, device=device)
    p = max(pr.shape[-1] for pr in prompts)
    batch = torch.full((len(prompts), c.n_codebooks, max(p, 1)), -1, dtype=torch.long, device=device)
    for i, pr in enumerate(prompts):
        batch[i, :, : pr.shape[-1]] = pr.to(device)
    prompt_lens = torch.tensor([pr.shape[-1] for pr in prompts], device=device)
    if sem is None:
        tokens = prompt_lens
    return batch, prompt_lens, sem, tokens, prompts


def aligned_frames(model: MaskGCT, prompt_phonemes: Sequence[int], prompt_durations: torch.Tensor,
                   target_phonemes: Sequence[int], prompt_frames: int, frames: int | None = None,
                   speed: float = 1.0, space_id: int = 4) -> tuple[torch.Tensor, int]:
    """An aligned model's text at the code frame rate for one item: ``(phoneme of each frame
    [prompt_frames + hop * ceil(t / hop)], t)``, ``t`` the target's frames.

    The model's duration model predicts the target's durations (plus a closing word
    boundary) in the rhythm of the prompt's, divided by ``speed`` or rescaled to ``frames``
    (:func:`nn_common.duration.plan_durations`). The prompt was cut to whole semantic tokens
    (``prompt_frames``), so its last frames leave its last symbols; the target's last
    symbol lasts to the end of its last token.

    Args:
        prompt_phonemes: the prompt's boundary-wrapped ids (the phone aligner's sequence).
        prompt_durations: ``[l_p]`` code frames of each, summing to at least ``prompt_frames``.

    Raises:
        ValueError: durations that do not cover the prompt's frames.
    """
    hop = model.config.semantic_hop
    k = len(prompt_phonemes)
    if len(prompt_durations) != k or int(prompt_durations.sum()) < prompt_frames:
        raise ValueError(f"The prompt's durations ({len(prompt_durations)} symbols, {int(prompt_durations.sum())} "
                         f"frames) do not cover its {k} symbols and {prompt_frames} frames: align the prompt's own "
                         "transcript")
    ids, durs = plan_durations(model.duration, torch.as_tensor(list(prompt_phonemes)), prompt_durations,
                               torch.as_tensor(list(target_phonemes)), speed, frames, space_id)
    excess = int(durs[:k].sum()) - prompt_frames
    for i in range(k - 1, -1, -1):  # the frames cut off the prompt's end leave its last symbols
        take = min(int(durs[i]), excess)
        durs[i] -= take
        excess -= take
    t = int(durs[k:].sum())
    total = prompt_frames + hop * -(-t // hop)
    durs[-1] += total - prompt_frames - t
    return expand_by_durations(ids[None], durs[None], total)[0], t


def synthesize(model: MaskGCT, prompts: Sequence[torch.Tensor], prompt_phonemes: Sequence[Sequence[int]],
               target_phonemes: Sequence[Sequence[int]], options: MaskGCTSampling | None = None,
               frames: Sequence[int | None] | None = None,
               prompt_semantic: Sequence[torch.Tensor] | None = None,
               prompt_durations: Sequence[torch.Tensor] | None = None, space_id: int = 4) -> list[torch.Tensor]:
    """Generate codes for a batch of (prompt, text) pairs.

    Args:
        prompts: prompt codes, each ``[q, p_i]`` (from the model's codec).
        prompt_phonemes: phoneme ids of each prompt's transcript.
        target_phonemes: phoneme ids of each text to speak.
        options: sampling options (``speed`` applies to estimated lengths only).
        frames: frames to generate per item (None: estimated from the prompt's rate).
        prompt_semantic: ``semantic_source="aligner"`` only: each prompt's semantic tokens
            ``[s_i]`` (``tts.semantic.tokenize_audio`` of its audio); the prompt is cut to
            whole tokens and the estimated length is counted in tokens.
        prompt_durations: aligned models only: code frames of each prompt symbol ``[l_p]``
            (the phone aligner's, summing to the prompt's frames); ``prompt_phonemes`` are
            then the boundary-wrapped sequence they are for. The target's length is the sum
            of its predicted durations (or ``frames``).
        space_id: aligned models: the word boundary closing the target.

    Returns:
        Generated codes (prompt excluded), each ``[q, n_i]`` on the CPU.
    """
    options = options or MaskGCTSampling()
    if not (len(prompts) == len(prompt_phonemes) == len(target_phonemes)):
        raise ValueError("prompts, prompt_phonemes and target_phonemes need one entry per item")
    frames = list(frames) if frames is not None else [None] * len(prompts)
    c = model.config
    prompt, prompt_lens, sem, tokens, prompts = _batch(model, prompts, prompt_semantic)
    device = prompt.device
    frame_text = None
    if c.aligned:
        if prompt_durations is None or len(prompt_durations) != len(prompts):
            raise ValueError("An aligned MaskGCT needs prompt_durations: the phone aligner's durations of each "
                             "prompt's symbols")
        planned = [aligned_frames(model, pp, pd, tp, pr.shape[-1], f, options.speed, space_id)
                   for pp, pd, tp, pr, f in zip(prompt_phonemes, prompt_durations, target_phonemes, prompts, frames)]
        n_gen = [t for _, t in planned]
        frame_text = torch.nn.utils.rnn.pad_sequence([f for f, _ in planned], batch_first=True).to(device)
    else:
        # Estimated in the unit T2S generates (code frames, or semantic tokens of hop frames each).
        n_gen = [int(f) if f is not None else c.semantic_hop * estimate_frames(int(k), len(pp), len(tp),
                                                                               options.speed)
                 for k, pp, tp, f in zip(tokens, prompt_phonemes, target_phonemes, frames)]
    if min(n_gen) < 1:
        raise ValueError(f"Every item needs at least one frame to generate, got {n_gen}")
    texts = [torch.tensor(join_phonemes(pp, tp, c.separator_id), dtype=torch.long)
             for pp, tp in zip(prompt_phonemes, target_phonemes)]
    text = torch.nn.utils.rnn.pad_sequence(texts, batch_first=True).to(device)
    text_lens = torch.tensor([len(t) for t in texts], device=device)
    out = generate(model, text, text_lens, prompt, prompt_lens, torch.tensor(n_gen, device=device), options,
                   prompt_semantic=sem, frame_text=frame_text)
    return [out[i, :, pr.shape[-1]: pr.shape[-1] + g].cpu() for i, (pr, g) in enumerate(zip(prompts, n_gen))]


@torch.inference_mode()
def synthesize_acoustic(model: MaskGCT, prompts: Sequence[torch.Tensor], targets: Sequence[torch.Tensor],
                        options: MaskGCTSampling | None = None,
                        prompt_semantic: Sequence[torch.Tensor] | None = None,
                        frame_text: Sequence[torch.Tensor] | None = None,
                        given_codes: Sequence[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Stage 2 alone: the codes of given target semantic tokens in each prompt's voice.

    The S2A check: with the semantic tokens of real speech as ``targets``, the output says
    what that speech said, so its WER and speaker similarity measure S2A (and the codec)
    without T2S.

    Args:
        prompts: prompt codes, each ``[q, p_i]``.
        targets: the target's semantic tokens, each ``[s_i]`` (``codebook1``: the codec's
            first codebook, one per frame).
        options: sampling options (``s2a_steps``, ``s2a_cfg``, ``temperature``, ``top_k``, ``seed``).
        prompt_semantic: ``aligner``: each prompt's semantic tokens (``codebook1``: unused,
            the prompt's first codebook is its semantic stream).
        frame_text: aligned models only: the phoneme of each code frame of each prompt (all
            its ``p_i`` frames, as given) and then of its target, ``[p_i + hop * s_i]``
            (longer is cut); the frames of the prompt's cut-off end are dropped here.
        given_codes: a diagnostic: each target's first ``k`` acoustic codebooks (the same ``k``
            for all, ``k <= `` the S2A codebooks), ``[k, f_i]``, used as they are instead of
            generated; a last frame is repeated to fill ``hop * s_i`` frames (longer is cut).
            The output then shows what S2A loses in the codebooks above them.

    Returns:
        Codes of each target (prompt excluded), ``[q, hop * s_i]`` on the CPU.
    """
    options = options or MaskGCTSampling()
    if len(prompts) != len(targets):
        raise ValueError("prompts and targets need one entry per item")
    if model.s2a is None:
        raise ValueError("This model has no S2A stage (one codebook): there is nothing to resynthesize")
    if min(len(t) for t in targets) < 1:
        raise ValueError("Every target needs at least one semantic token")
    hop = model.config.semantic_hop
    given = [pr.shape[-1] for pr in prompts]  # before _batch cuts them to whole tokens
    prompt, prompt_lens, sem, tokens, prompts = _batch(model, prompts, prompt_semantic)
    if sem is None:  # codebook1: the prompt's own first codebook
        sem = prompt[:, 0]
    sem_target = torch.tensor([len(t) for t in targets], device=prompt.device)
    semantic = _canvas(sem, tokens, int((tokens + sem_target).max()))
    for i, t in enumerate(targets):
        semantic[i, int(tokens[i]): int(tokens[i]) + len(t)] = t.to(prompt.device)
    text = None
    if model.config.aligned:
        if frame_text is None or len(frame_text) != len(prompts):
            raise ValueError("An aligned MaskGCT needs frame_text: the phoneme of each code frame of each prompt and "
                             "target")
        text = torch.zeros(len(prompts), int((prompt_lens + hop * sem_target).max()), dtype=torch.long,
                           device=prompt.device)
        for i, f in enumerate(frame_text):
            p = int(prompt_lens[i])
            f = torch.cat([f[:p], f[given[i]: given[i] + hop * int(sem_target[i])]])
            text[i, : len(f)] = f.to(prompt.device)
    known = None
    if given_codes is not None:
        known = _given_canvas(model, given_codes, prompt_lens, hop * sem_target)
    gens = make_generators(options.seed, len(prompts), prompt.device)
    out = _acoustic_from_semantic(model, semantic, prompt, prompt_lens, sem_target, options, gens, text, known)
    return [out[i, :, pr.shape[-1]: pr.shape[-1] + hop * len(t)].cpu()
            for i, (pr, t) in enumerate(zip(prompts, targets))]


def _given_canvas(model: MaskGCT, given: Sequence[torch.Tensor], prompt_lens: torch.Tensor,
                  target_lens: torch.Tensor) -> torch.Tensor:
    """``[b, k, n]``: each item's given codebooks ``[k, f_i]`` on its target frames (the last frame
    repeated up to ``target_lens``), zeros elsewhere."""
    if len(given) != len(prompt_lens):
        raise ValueError("given_codes needs one entry per item")
    ks = {g.shape[0] for g in given}
    k = ks.pop()
    if ks or not 1 <= k <= model.s2a.n_acoustic or min(g.shape[-1] for g in given) < 1:
        raise ValueError(f"given_codes must be [k, frames] with the same k in 1..{model.s2a.n_acoustic} for every "
                         f"item, got shapes {[tuple(g.shape) for g in given]}")
    n = int((prompt_lens + target_lens).max())
    out = torch.zeros(len(given), k, n, dtype=torch.long, device=prompt_lens.device)
    for i, g in enumerate(given):
        p, t = int(prompt_lens[i]), int(target_lens[i])
        g = g[:, :t].to(out.device)
        out[i, :, p: p + g.shape[-1]] = g
        out[i, :, p + g.shape[-1]: p + t] = g[:, -1:]
    return out
