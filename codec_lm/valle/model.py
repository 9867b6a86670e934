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

Padding: phonemes 0, codes any value (masked by the lengths; the data uses -1).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import VallEConfig
from nn_common import lengths_to_mask

from .modules import AdaLayerNorm, Block, CodeStackEmbedding, KVCache, SegmentEmbedding

IGNORE = -100


def prefix_lm_mask(valid: torch.Tensor, prefix: int, queries: int) -> torch.Tensor:
    """Attention mask for the last ``queries`` of ``s = valid.shape[1]`` positions.

    Query at absolute position ``i`` may see key ``j`` when ``valid[b, j]`` and
    (``j < prefix`` or ``j <= i``): the prefix is bidirectional, the rest causal, and
    prefix queries never see the target.

    Args:
        valid: bool ``[b, s]``, real (non-padding) keys.
        prefix: length of the bidirectional prefix (phonemes + prompt, padded).
        queries: number of query positions (the last ones).

    Returns:
        bool ``[b, 1, queries, s]``.
    """
    s = valid.shape[1]
    i = torch.arange(s - queries, s, device=valid.device)[:, None]
    j = torch.arange(s, device=valid.device)[None]
    allowed = (j < prefix) | (j <= i)
    return allowed[None, None] & valid[:, None, None, :]


def _segment(tokens: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids ``[b, n]`` -> (ids with padding replaced by 0, bool valid ``[b, n]``)."""
    valid = lengths_to_mask(lens, tokens.shape[1])
    return tokens.masked_fill(~valid, 0), valid


class VallEAR(nn.Module):
    """The AR transformer: codebook 1 of the target, one frame at a time, then EOS."""

    def __init__(self, config: VallEConfig) -> None:
        super().__init__()
        c = self.config = config
        self.text = SegmentEmbedding(c.vocab_size, c.dim)
        self.prompt = SegmentEmbedding(c.codebook_size, c.dim)
        self.target = SegmentEmbedding(c.codebook_size + 2, c.dim)  # codes, EOS, BOS
        self.blocks = nn.ModuleList(Block(c.dim, c.heads, c.ff_mult, c.dropout) for _ in range(c.ar_layers))
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.codebook_size + 1)  # codes, EOS

    def _run(self, x: torch.Tensor, mask: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, mask, cache, i)
        if cache is not None:
            cache.advance(x.shape[1])
        return x

    def embed_prefix(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor,
                     prompt_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Phonemes ``[b, l]`` and prompt codebook-1 codes ``[b, p]`` -> ``x [b, l + p, d]``, valid ``[b, l + p]``."""
        text, text_valid = _segment(text, text_lens)
        prompt, prompt_valid = _segment(prompt, prompt_lens)
        x = torch.cat([self.text(text), self.prompt(prompt)], dim=1)
        return x, torch.cat([text_valid, prompt_valid], dim=1)

    def logits(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
               target_in: torch.Tensor, target_in_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Full (uncached) forward: next-token logits at every target position.

        Args:
            text: phoneme ids ``[b, l]``; text_lens ``[b]`` (each >= 1).
            prompt: codebook-1 prompt codes ``[b, p]``; prompt_lens ``[b]``.
            target_in: ``[b, t]`` = BOS followed by the target tokens so far.
            target_in_lens: ``[b]`` valid target inputs (None: all).

        Returns:
            ``[b, t, K + 1]``: logits of the token after each target input.
        """
        x, valid = self.embed_prefix(text, text_lens, prompt, prompt_lens)
        prefix = x.shape[1]
        if target_in_lens is None:
            target_valid = torch.ones_like(target_in, dtype=torch.bool)
        else:
            target_valid = lengths_to_mask(target_in_lens, target_in.shape[1])
        x = torch.cat([x, self.target(target_in.masked_fill(~target_valid, 0))], dim=1)
        valid = torch.cat([valid, target_valid], dim=1)
        h = self._run(x, prefix_lm_mask(valid, prefix, x.shape[1]), None)
        return self.head(self.norm(h[:, prefix:]))

    def prefill(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
                cache: KVCache) -> torch.Tensor:
        """Run the prefix into ``cache``; return its key validity ``[b, l + p]`` for the steps."""
        x, valid = self.embed_prefix(text, text_lens, prompt, prompt_lens)
        self._run(x, prefix_lm_mask(valid, x.shape[1], x.shape[1]), cache)
        return valid

    def step(self, tokens: torch.Tensor, position: int, valid: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """One cached step.

        Args:
            tokens: the latest target input ``[b]`` (BOS at ``position`` 0).
            position: its index in the target segment.
            valid: bool ``[b, s]`` key validity including this token (``s = cache.length + 1``).
            cache: the cache after the prefix and the previous steps.

        Returns:
            ``[b, K + 1]`` logits of the next token.
        """
        x = self.target(tokens[:, None], start=position)
        h = self._run(x, valid[:, None, None, :], cache)
        return self.head(self.norm(h[:, -1]))


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

    def forward(self, text: torch.Tensor, text_lens: torch.Tensor, prompt: torch.Tensor, prompt_lens: torch.Tensor,
                target: torch.Tensor, target_lens: torch.Tensor, stage: torch.Tensor | int) -> torch.Tensor:
        """Logits of codebook ``stage + 1`` (1-based) for every target frame.

        Args:
            text: phoneme ids ``[b, l]``; text_lens ``[b]``.
            prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
            target: target codes ``[b, >= stage, t]``; only codebooks ``1..stage`` are read.
            target_lens: ``[b]``.
            stage: ``[b]`` or an int in ``1..Q-1``: how many codebooks are known.

        Returns:
            ``[b, t, K]``.
        """
        b = text.shape[0]
        stage = torch.as_tensor(stage, device=text.device).expand(b)
        text, text_valid = _segment(text, text_lens)
        prompt_valid = lengths_to_mask(prompt_lens, prompt.shape[-1])
        target_valid = lengths_to_mask(target_lens, target.shape[-1])
        x = torch.cat([self.text(text), self.prompt(prompt, self.config.n_codebooks), self.target(target, stage)], 1)
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
                stage: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Losses of a batch; only target tokens (and EOS) are scored, never the prompt.

        Args:
            phonemes: ``[b, l]`` the prompt's and the target's phonemes, 0-padded.
            phoneme_lens: ``[b]`` (each >= 1).
            prompt: prompt codes ``[b, Q, p]``; prompt_lens ``[b]``.
            target: target codes ``[b, Q, t]``; target_lens ``[b]`` (each >= 1).
            stage: NAR stage per item in ``1..Q-1`` (None: uniform at random).

        Returns:
            ``loss`` (AR + NAR), ``ar_loss``, ``ar_acc``, ``ar_top10``, and with ``Q > 1``
            ``nar_loss``, ``nar_acc``, ``nar_top10``; all scalars.
        """
        c = self.config
        b, q, t = target.shape
        if q != c.n_codebooks or prompt.shape[1] != c.n_codebooks:
            raise ValueError(f"Codes have {q} (target) / {prompt.shape[1]} (prompt) codebooks; "
                             f"the model was built for {c.n_codebooks}")
        valid = lengths_to_mask(target_lens, t)
        first = target[:, 0].masked_fill(~valid, 0)
        bos = torch.full((b, 1), c.bos_id, dtype=target.dtype, device=target.device)
        target_in = torch.cat([bos, first], dim=1)  # [b, t + 1]
        ar_target = F.pad(first.masked_fill(~valid, IGNORE), (0, 1), value=IGNORE)
        ar_target[torch.arange(b, device=target.device), target_lens] = c.eos_id
        logits = self.ar.logits(phonemes, phoneme_lens, prompt[:, 0], prompt_lens, target_in, target_lens + 1)
        ar_loss = F.cross_entropy(logits.float().transpose(1, 2), ar_target, ignore_index=IGNORE)
        out = {"ar_loss": ar_loss, "ar_acc": _accuracy(logits, ar_target, 1),
               "ar_top10": _accuracy(logits, ar_target, 10)}
        loss = ar_loss
        if self.nar is not None:
            if stage is None:
                stage = torch.randint(1, c.n_codebooks, (b,), device=target.device)
            nar_logits = self.nar(phonemes, phoneme_lens, prompt, prompt_lens, target, target_lens, stage)
            nar_target = target.gather(1, stage.view(b, 1, 1).expand(b, 1, t))[:, 0].masked_fill(~valid, IGNORE)
            nar_loss = F.cross_entropy(nar_logits.float().transpose(1, 2), nar_target, ignore_index=IGNORE)
            out.update(nar_loss=nar_loss, nar_acc=_accuracy(nar_logits, nar_target, 1),
                       nar_top10=_accuracy(nar_logits, nar_target, 10))
            loss = loss + nar_loss
        out["loss"] = loss
        return out
