"""VALL-E: an autoregressive (AR) and a non-autoregressive (NAR) transformer over codec codes.

Legend (einops style): b = batch, l = phonemes, p = prompt frames, t = target frames,
q = codebooks (Q), k = codebook entries (K), d = width, s = l + p + t.

**AR** (decoder-only, prefix LM): the sequence is ``[phonemes ; prompt codes (codebook
1) ; BOS, target codes (codebook 1)]``, each segment with its own embedding table and
its own positions from 0. The prefix (phonemes and prompt) attends bidirectionally,
target positions causally; the head predicts the next codebook-1 token or EOS
(``K + 1`` classes). Why separate tables and positions: the model always knows which
frames are the prompt and where the new speech starts, which keeps it from reading
the prompt's text again ("prompt leakage"), and an item's inputs do not depend on the
padding of the batch, so batched decoding equals one-by-one decoding.

**NAR**: for stage ``j`` in ``1..Q-1`` it predicts codebook ``j + 1`` of every target
frame at once from the phonemes, the prompt (all ``Q`` codebooks summed) and the sum
of the target's codebooks ``1..j``, with full attention and stage-adaptive LayerNorm
(VALL-E's AdaLN). Each stage has its own output projection.

**Monotonic alignment** (``config.alignment == "monotonic"``, VALL-E R): the AR works on
steps of ``g = group_size`` codebook-1 frames (VALL-E 2's grouped codes: one input and
``g`` predictions per step, ``[b, n, g]`` tokens). Every prompt and target step also adds
the embedding of the phoneme it is aligned to (from the phone aligner's durations, on
the step grid: :mod:`.alignment`), the head predicts the step's ``g`` codes (no EOS),
and a second head says whether the next step stays on this phoneme or moves to the next
(after the last one: the end). The NAR adds each frame's phoneme too. Decoding moves a
pointer over the phonemes with that head (:mod:`.generate_aligned`).

Padding: phonemes 0, codes any value (masked by the lengths; the data uses -1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nn_common import lengths_to_mask

from .alignment import AlignedBatch, align_batch, frame_phones, group_codes
from .config import VallEConfig
from .decode import StepWeights, can_fuse, fused_step
from .masks import over, prefix_lm_mask, segment
from .modules import AdaLayerNorm, Block, CodeStackEmbedding, KVCache, SegmentEmbedding

IGNORE = -100


def _need_phones(phones: torch.Tensor | None, what: str) -> torch.Tensor:
    if phones is None:
        raise ValueError(f"A monotonic VALL-E needs the aligned phoneme of every {what} step")
    return phones


class VallEAR(nn.Module):
    """The AR transformer: codebook 1 of the target, one step at a time.

    ``alignment="none"``: one frame per step, then EOS. ``"monotonic"``: ``g`` frames per
    step (tokens ``[b, n, g]``), each step also reads its aligned phoneme (``*_phones``;
    with ``lookahead`` L, also the L phonemes after it),
    and the outputs are ``(codes [.., g, K], advance [..])`` logits instead of ``[.., K + 1]``.
    """

    def __init__(self, config: VallEConfig) -> None:
        super().__init__()
        c = self.config = config
        g = c.group_size
        self.text = SegmentEmbedding(c.vocab_size, c.dim)
        self.prompt = SegmentEmbedding(c.codebook_size, c.dim, slots=g)
        self.target = SegmentEmbedding(c.codebook_size + 2, c.dim, slots=g)  # codes, EOS, BOS
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.ff_mult, c.dropout) for _ in range(c.ar_layers))
        self.norm = nn.LayerNorm(c.dim)
        if c.monotonic:
            self.phone = nn.Embedding(c.vocab_size, c.dim)  # the phoneme each prompt / target step is aligned to
            # the next `lookahead` phonemes of the text, one table for each distance
            self.ahead = nn.ModuleList(nn.Embedding(c.vocab_size, c.dim) for _ in range(c.lookahead))
            self.head = nn.Linear(c.dim, g * c.codebook_size)  # g codes per step, no EOS
            self.advance = nn.Linear(c.dim, 1)  # logit of "the next step moves to the next phoneme"
        else:
            self.head = nn.Linear(c.dim, c.codebook_size + 1)  # codes, EOS
        self._step_weights: StepWeights | None = None  # pre-transposed copies for decoding (.decode)

    def _run(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, mask, cache, i)
        if cache is not None:
            cache.advance(x.shape[1])
        return x

    def outputs(self, h: torch.Tensor):
        """Hidden states ``[b, t, d]`` -> logits ``[b, t, K + 1]``; monotonic: ``([b, t, g, K], [b, t])``."""
        h = self.norm(h)
        if not self.config.monotonic:
            return self.head(h)
        codes = self.head(h).unflatten(-1, (self.config.group_size, self.config.codebook_size))
        return codes, self.advance(h)[..., 0]

    def _phones(self, phones: torch.Tensor | None, what: str) -> torch.Tensor:
        """Ids ``[b, t]`` (``lookahead`` 0) or windows ``[b, t, 1 + L]`` -> ``[b, t, d]``."""
        phones = _need_phones(phones, what)
        want = 1 + self.config.lookahead
        if (phones.dim() == 3 and phones.shape[-1] != want) or (phones.dim() == 2 and want > 1):
            raise ValueError(f"The {what} phonemes of a model with lookahead {self.config.lookahead} are windows "
                             f"[b, t, {want}] (align_batch / phone_windows), got {tuple(phones.shape)}")
        if phones.dim() == 2:
            return self.phone(phones)
        x = self.phone(phones[..., 0])
        for j, table in enumerate(self.ahead):
            x = x + table(phones[..., j + 1])
        return x

    def _target(self, tokens: torch.Tensor, start: int, phones: torch.Tensor | None) -> torch.Tensor:
        x = self.target(tokens, start=start)
        if self.config.monotonic:
            x = x + self._phones(phones, "target")
        return x

    def embed_prefix(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor,
                     prompt_lens: torch.Tensor, prompt_phones: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Phonemes ``[b, l]`` and prompt codebook-1 codes ``[b, p]`` (monotonic: steps ``[b, p, g]``
        and their phonemes ``prompt_phones [b, p]``) -> ``x [b, l + p, d]``, valid ``[b, l + p]``."""
        text, text_valid = segment(text, text_lens)
        prompt, prompt_valid = segment(prompt, prompt_lens)
        x_prompt = self.prompt(prompt)
        if self.config.monotonic:
            phones = _need_phones(prompt_phones, "prompt")
            x_prompt = x_prompt + self._phones(phones.masked_fill(~over(prompt_valid, phones), 0), "prompt")
        x = torch.cat([self.text(text), x_prompt], dim=1)
        return x, torch.cat([text_valid, prompt_valid], dim=1)

    def logits(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
               target_in: torch.Tensor, target_in_lens: torch.Tensor | None = None,
               prompt_phones: torch.Tensor | None = None, target_phones: torch.Tensor | None = None):
        """Full (uncached) forward: next-token logits at every target position.

        Args:
            text: phoneme ids ``[b, l]``; text_lens ``[b]`` (each >= 1).
            prompt: codebook-1 prompt codes ``[b, p]`` (monotonic: ``[b, p, g]``); prompt_lens ``[b]``.
            target_in: ``[b, t]`` (monotonic: ``[b, t, g]``) = BOS followed by the target tokens so far.
            target_in_lens: ``[b]`` valid target inputs (None: all).
            prompt_phones, target_phones: monotonic only: ``[b, p]`` / ``[b, t]`` the phoneme id
                each prompt step / each target step is aligned to (the one its output belongs to);
                with ``lookahead`` L > 0, windows ``[b, p, 1 + L]`` / ``[b, t, 1 + L]`` of that id
                and the L after it (:func:`.alignment.phone_windows`).

        Returns:
            ``[b, t, K + 1]``: logits of the token after each target input; monotonic:
            ``(codes [b, t, g, K], advance [b, t])``.
        """
        x, valid = self.embed_prefix(text, text_lens, prompt, prompt_lens, prompt_phones)
        prefix = x.shape[1]
        if target_in_lens is None:
            target_valid = torch.ones(target_in.shape[:2], dtype=torch.bool, device=target_in.device)
        else:
            target_valid = lengths_to_mask(target_in_lens, target_in.shape[1])
        keep = over(target_valid, target_in)
        if target_phones is not None:
            target_phones = target_phones.masked_fill(~over(target_valid, target_phones), 0)
        x = torch.cat([x, self._target(target_in.masked_fill(~keep, 0), 0, target_phones)], dim=1)
        valid = torch.cat([valid, target_valid], dim=1)
        h = self._run(x, prefix_lm_mask(valid, prefix, x.shape[1]), None)
        return self.outputs(h[:, prefix:])

    def prefill(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
                cache: KVCache, prompt_phones: torch.Tensor | None = None) -> torch.Tensor:
        """Run the prefix into ``cache``; return its key validity ``[b, l + p]`` for the steps."""
        x, valid = self.embed_prefix(text, text_lens, prompt, prompt_lens, prompt_phones)
        self._run(x, prefix_lm_mask(valid, x.shape[1], x.shape[1]), cache)
        if can_fuse(self.blocks):  # once per utterance: new weights since the last one are seen here
            self._step_weights = StepWeights.of(self.blocks, self._step_weights)
        return valid

    def step(self, tokens: torch.Tensor, position: int, valid: torch.Tensor, cache: KVCache,
             phones: torch.Tensor | None = None):
        """One cached step.

        Without autograd and in eval mode it runs :func:`.decode.fused_step` on pre-transposed
        copies of the weights (refreshed at :meth:`prefill`): the same computation, nearer
        the memory-bandwidth bound at batch 1.

        Args:
            tokens: the latest target input ``[b]`` (monotonic: ``[b, g]``; BOS at ``position`` 0).
            position: its index in the target segment.
            valid: bool ``[b, s]`` key validity including this token (``s = cache.length + 1``).
            cache: the cache after the prefix and the previous steps.
            phones: monotonic only: ``[b]`` the phoneme this step is aligned to (``[b, 1 + L]``
                with that phoneme and the L after it, for ``lookahead`` L > 0).

        Returns:
            ``[b, K + 1]`` logits of the next token; monotonic: ``(codes [b, g, K], advance [b])``.
        """
        x = self._target(tokens[:, None], position, None if phones is None else phones[:, None])
        if can_fuse(self.blocks):
            if self._step_weights is None:
                self._step_weights = StepWeights(self.blocks)
            mask = None if bool(valid.all()) else valid[:, None, None, :]
            h = fused_step(self._step_weights, x[:, 0], mask, cache)[:, None]
        else:
            h = self._run(x, valid[:, None, None, :], cache)
        if not self.config.monotonic:
            return self.head(self.norm(h[:, -1]))
        codes, advance = self.outputs(h[:, -1:])
        return codes[:, 0], advance[:, 0]


class VallENAR(nn.Module):
    """The NAR transformer: codebook ``j + 1`` of all target frames given codebooks ``1..j``."""

    def __init__(self, config: VallEConfig) -> None:
        super().__init__()
        c = self.config = config
        stages = c.n_codebooks - 1
        self.text = SegmentEmbedding(c.vocab_size, c.dim)
        self.prompt = CodeStackEmbedding(c.n_codebooks, c.codebook_size, c.dim)
        self.target = CodeStackEmbedding(stages, c.codebook_size, c.dim)
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.ff_mult, c.dropout, stages=stages)
                                    for _ in range(c.nar_layers))
        self.norm = AdaLayerNorm(c.dim, stages)
        bound = 1.0 / math.sqrt(c.dim)  # nn.Linear's default init, one projection per stage
        self.head_weight = nn.Parameter(torch.empty(stages, c.codebook_size, c.dim).uniform_(-bound, bound))
        self.head_bias = nn.Parameter(torch.empty(stages, c.codebook_size).uniform_(-bound, bound))
        if c.monotonic:
            self.phone = nn.Embedding(c.vocab_size, c.dim)  # the phoneme each prompt / target frame is aligned to

    def forward(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
                target: torch.Tensor, target_lens: torch.Tensor, stage: torch.Tensor | int,
                prompt_phones: torch.Tensor | None = None, target_phones: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of codebook ``stage + 1`` (1-based) for every target frame.

        Args:
            text: phoneme ids ``[b, l]``; text_lens ``[b]``.
            prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
            target: target codes ``[b, >= stage, t]``; only codebooks ``1..stage`` are read.
            target_lens: ``[b]``.
            stage: ``[b]`` or an int in ``1..Q-1``: how many codebooks are known.
            prompt_phones, target_phones: monotonic only: ``[b, p]`` / ``[b, t]`` each frame's phoneme id.

        Returns:
            ``[b, t, K]``.
        """
        b = text.shape[0]
        stage = torch.as_tensor(stage, device=text.device).expand(b)
        text, text_valid = segment(text, text_lens)
        prompt_valid = lengths_to_mask(prompt_lens, prompt.shape[-1])
        target_valid = lengths_to_mask(target_lens, target.shape[-1])
        x_prompt, x_target = self.prompt(prompt, self.config.n_codebooks), self.target(target, stage)
        if self.config.monotonic:
            x_prompt = x_prompt + self.phone(_need_phones(prompt_phones, "prompt").masked_fill(~prompt_valid, 0))
            x_target = x_target + self.phone(_need_phones(target_phones, "target").masked_fill(~target_valid, 0))
        x = torch.cat([self.text(text), x_prompt, x_target], 1)
        valid = torch.cat([text_valid, prompt_valid, target_valid], dim=1)
        mask = valid[:, None, None, :]
        g = stage - 1  # stage-table index
        for block in self.blocks:
            x = block(x, mask, stage=g)
        h = self.norm(x[:, -target.shape[-1]:], g)
        return torch.einsum("btd,bkd->btk", h, self.head_weight[g]) + self.head_bias[g][:, None]


def _accuracy(logits: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """Share of non-ignored positions whose target is among the ``k`` best logits."""
    keep = target != IGNORE
    top = logits.topk(min(k, logits.shape[-1]), dim=-1).indices
    hit = (top == target.clamp(min=0)[..., None]).any(-1) & keep
    return hit.sum() / keep.sum().clamp(min=1)


class VallE(nn.Module):
    """AR + NAR and their training losses (the two are trained together)."""

    def __init__(self, config: VallEConfig) -> None:
        super().__init__()
        self.config = config
        self.ar = VallEAR(config)
        self.nar = VallENAR(config) if config.n_codebooks > 1 else None

    def forward(self, phonemes: torch.Tensor, phoneme_lens: torch.Tensor, prompt: torch.Tensor,
                prompt_lens: torch.Tensor, target: torch.Tensor, target_lens: torch.Tensor,
                stage: torch.Tensor | None = None, durations: torch.Tensor | None = None,
                prompt_phoneme_lens: torch.Tensor | None = None, parts: str = "all") -> dict[str, torch.Tensor]:
        """Losses of a batch; only target tokens (and EOS) are scored, never the prompt.

        Args:
            phonemes: ``[b, l]`` the prompt's and the target's phonemes, 0-padded.
            phoneme_lens: ``[b]`` (each >= 1).
            prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
            target: target codes ``[b, Q, t]``; target_lens ``[b]`` (each >= 1).
            stage: NAR stage per item in ``1..Q-1`` (None: drawn by ``config.nar_stage_weights``).
            durations: monotonic only: ``[b, l]`` frames of each phoneme (the prompt's sum
                to its frames, the target's to the target's; see :func:`.alignment.align_batch`).
            prompt_phoneme_lens: monotonic only: ``[b]`` how many phonemes are the prompt's.
            parts: ``"all"``, or ``"nar"`` for the NAR's losses alone (the AR is not run: training
                a NAR for a finished AR).

        Returns:
            ``loss`` (AR + NAR), ``ar_loss``, ``ar_acc``, ``ar_top10``, and with ``Q > 1``
            ``nar_loss``, ``nar_acc``, ``nar_top10``; monotonic also ``advance_loss`` (part of
            ``loss``) and ``advance_acc``; all scalars.
        """
        c = self.config
        if parts not in ("all", "nar"):
            raise ValueError(f"parts must be 'all' or 'nar', got {parts!r}")
        if parts == "nar" and self.nar is None:
            raise ValueError("parts='nar' needs a NAR model (n_codebooks > 1)")
        q = target.shape[1]
        if q != c.n_codebooks or prompt.shape[1] != c.n_codebooks:
            raise ValueError(f"Codes have {q} (target) / {prompt.shape[1]} (prompt) codebooks; "
                             f"the model was built for {c.n_codebooks}")
        phones = (None, None)
        if c.monotonic:
            if durations is None or prompt_phoneme_lens is None:
                raise ValueError("A monotonic VALL-E trains on phone alignments: pass durations and "
                                 "prompt_phoneme_lens (the data's `durations` from `tts prepare align`)")
            aligned = align_batch(phonemes, phoneme_lens, prompt_phoneme_lens, durations, prompt, prompt_lens,
                                  target, target_lens, c.group_size, c.lookahead)
            out = {} if parts == "nar" else self._ar_monotonic(phonemes, phoneme_lens, aligned)
            loss = out["ar_loss"] + out["advance_loss"] if out else 0.0
            prompt, prompt_lens, target, target_lens = aligned.prompt, aligned.prompt_lens, aligned.target, \
                aligned.target_lens
            phones = (frame_phones(aligned.prompt_phones, c.group_size), frame_phones(aligned.target_phones,
                                                                                     c.group_size))
        else:
            out = {} if parts == "nar" else self._ar_implicit(phonemes, phoneme_lens, prompt, prompt_lens, target,
                                                               target_lens)
            loss = out["ar_loss"] if out else 0.0
        if self.nar is not None:
            b, t = target.shape[0], target.shape[-1]
            valid = lengths_to_mask(target_lens, t)
            if stage is None and c.nar_stage_weights == "uniform":
                stage = torch.randint(1, c.n_codebooks, (b,), device=target.device)
            elif stage is None:
                weights = torch.tensor(c.stage_weights(), device=target.device)
                stage = torch.multinomial(weights, b, replacement=True) + 1
            nar_logits = self.nar(phonemes, phoneme_lens, prompt, prompt_lens, target, target_lens, stage, *phones)
            nar_target = target.gather(1, stage.view(b, 1, 1).expand(b, 1, t))[:, 0].masked_fill(~valid, IGNORE)
            nar_loss = F.cross_entropy(nar_logits.float().transpose(1, 2), nar_target, ignore_index=IGNORE)
            out.update(nar_loss=nar_loss, nar_acc=_accuracy(nar_logits, nar_target, 1),
                       nar_top10=_accuracy(nar_logits, nar_target, 10))
            loss = loss + nar_loss
        out["loss"] = loss
        return out

    def _ar_implicit(self, phonemes, phoneme_lens, prompt, prompt_lens, target, target_lens) -> dict:
        """VALL-E's AR loss: every target frame of codebook 1, then EOS."""
        c = self.config
        b, _, t = target.shape
        valid = lengths_to_mask(target_lens, t)
        first = target[:, 0].masked_fill(~valid, 0)
        bos = torch.full((b, 1), c.bos_id, dtype=target.dtype, device=target.device)
        target_in = torch.cat([bos, first], dim=1)  # [b, t + 1]
        ar_target = F.pad(first.masked_fill(~valid, IGNORE), (0, 1), value=IGNORE)
        ar_target[torch.arange(b, device=target.device), target_lens] = c.eos_id
        logits = self.ar.logits(phonemes, phoneme_lens, prompt[:, 0], prompt_lens, target_in, target_lens + 1)
        ar_loss = F.cross_entropy(logits.float().transpose(1, 2), ar_target, ignore_index=IGNORE)
        return {"ar_loss": ar_loss, "ar_acc": _accuracy(logits, ar_target, 1),
                "ar_top10": _accuracy(logits, ar_target, 10)}

    def _ar_monotonic(self, phonemes, phoneme_lens, a: AlignedBatch) -> dict:
        """VALL-E R's AR losses: the ``g`` codes of every target step, and stay / advance after it."""
        c = self.config
        g = c.group_size
        prompt_steps, target_steps = a.prompt_lens // g, a.target_lens // g
        prompt = group_codes(a.prompt[:, 0], g)  # [b, mp, g]
        target = group_codes(a.target[:, 0], g)  # [b, mt, g]
        b, mt = target.shape[:2]
        valid = lengths_to_mask(target_steps, mt)
        clean = target.masked_fill(~valid[..., None], 0)
        bos = torch.full((b, 1, g), c.bos_id, dtype=target.dtype, device=target.device)
        target_in = torch.cat([bos, clean[:, :-1]], dim=1)  # step s reads the codes of step s - 1
        prompt_phones, target_phones = a.prompt_phones, a.target_phones
        scored = valid  # the steps whose stay / advance is scored
        if self.training and c.phone_dropout > 0:
            # Classifier-free guidance: these rows learn the voice's codes without any phoneme.
            drop = torch.rand(b, device=target.device) < c.phone_dropout
            phonemes = phonemes.masked_fill(drop[:, None], 0)
            prompt_phones = prompt_phones.masked_fill(drop.view(b, *[1] * (prompt_phones.dim() - 1)), 0)
            target_phones = target_phones.masked_fill(drop.view(b, *[1] * (target_phones.dim() - 1)), 0)
            scored = valid & ~drop[:, None]  # without phonemes there is nothing to advance over
            if c.drop_prompt:  # nor the voice: the prompt's steps are masked out like padding
                prompt_steps = prompt_steps.masked_fill(drop, 0)
        codes, advance = self.ar.logits(phonemes, phoneme_lens, prompt, prompt_steps, target_in, target_steps,
                                        prompt_phones, target_phones)
        code_target = target.masked_fill(~valid[..., None], IGNORE)
        ar_loss = F.cross_entropy(codes.float().flatten(0, 2), code_target.flatten(), ignore_index=IGNORE)
        # sum / count rather than mean: a batch whose rows were all dropped scores 0, not NaN
        adv_loss = F.binary_cross_entropy_with_logits(advance.float(), a.advance.float(), reduction="none")
        count = scored.sum().clamp(min=1)
        hit = ((advance > 0).float() == a.advance).float()
        return {"ar_loss": ar_loss, "ar_acc": _accuracy(codes, code_target, 1),
                "ar_top10": _accuracy(codes, code_target, 10),
                "advance_loss": (adv_loss * scored).sum() / count,
                "advance_acc": (hit * scored).sum() / count}
