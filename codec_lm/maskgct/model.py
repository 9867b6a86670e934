"""``MaskGCT``: masked generative codec transformer, non-autoregressive, in two stages.

Legend: b = batch, l = phonemes, n = code frames, q = codebooks, a = acoustic
codebooks (those S2A predicts), k = codebook entries, d = width, s = packed length.

Stage 1, **T2S** (text to semantic): a bidirectional transformer reads
``[phonemes, prompt tokens, target tokens]`` packed per item and predicts the masked
target tokens of the semantic stream. MaskGCT's semantic stream is w2v-BERT 2.0
features quantized to 8192 entries. Here it is either **the codec's first codebook**
(``semantic_source="codebook1"``, the coarsest stream of the residual quantizer, one
token per code frame), or the tokens of a **semantic tokenizer**
(``semantic_source="aligner"``: k-means of the phone aligner's speech features, one
token per ``semantic_hop`` code frames, given with the batch).

Stage 2, **S2A** (semantic to acoustic, SoundStorm-like): a second bidirectional
transformer over code frames, whose input per frame is the sum of the semantic token's
embedding (each token repeated ``semantic_hop`` times, plus the frame's place within
its token when ``semantic_hop > 1``) and the embeddings of the codebooks known so far,
predicts the acoustic codebooks one at a time (2..Q for ``codebook1``, 1..Q for
``aligner``), each conditioned on all lower ones; the prompt's frames carry every codebook.

Training is MaskGIT's objective: the prompt is a random prefix of the utterance
(a whole number of semantic tokens, so that both stages split it at the same time),
a share ``cos(pi/2 * u)``, ``u ~ U(0, 1)``, of the remaining target frames is
replaced by a [MASK] token, and the loss is the cross-entropy on masked positions
only. Text and prompt are dropped at random for classifier-free guidance. No
durations or alignments: the length is given at inference.

**Aligned** (``text_conditioning="aligned"``, "alignment first"): the batches carry the
phone aligner's durations; each code frame's phoneme is embedded and added to the
inputs of both stages (T2S: the mean over a token's ``semantic_hop`` frames; S2A: per
frame), so that T2S no longer reads a phoneme prefix nor has to find the alignment,
and a duration model (:class:`nn_common.duration.DurationPredictor`, trained beside
with an L1 loss on log-durations) gives the target's durations at inference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import MaskGCTConfig
from nn_common import expand_by_durations, lengths_to_mask
from nn_common.duration import DurationPredictor

from .modules import Encoder, init_weights, pack, unpack

TEXT, PROMPT, TARGET = 0, 1, 2  # segment kinds


class TextToSemantic(nn.Module):
    """Stage 1: phonemes + prompt semantic tokens + partly masked target -> target logits.

    One embedding table holds phonemes (ids ``0..V-1``), semantic tokens
    (``V..V+K-1``) and [MASK] (``V+K``), plus a segment embedding (text, prompt, target).
    Aligned (``config.aligned``): no phoneme prefix; a second table embeds the phoneme of
    each code frame, and each token adds the mean over its ``semantic_hop`` frames.
    """

    def __init__(self, config: MaskGCTConfig) -> None:
        super().__init__()
        c = config
        self.vocab_size, self.size = c.vocab_size, c.semantic_size
        self.mask_id = c.semantic_size  # in token space (before the phoneme offset)
        self.embed = nn.Embedding(c.vocab_size + c.semantic_size + 1, c.dim)
        self.kind = nn.Embedding(3, c.dim)
        self.encoder = Encoder(c.dim, c.heads, c.t2s_layers, c.ff_mult, c.dropout)
        self.head = nn.Linear(c.dim, c.semantic_size)
        self.stretched = c.text_positions == "stretched"
        self.hop = c.semantic_hop
        self.phones = nn.Embedding(c.vocab_size, c.dim, padding_idx=0) if c.aligned else None

    def forward(self, text: torch.Tensor, text_lens: torch.Tensor, tokens: torch.Tensor, lens: torch.Tensor,
                prompt_lens: torch.Tensor, frame_text: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of every frame.

        Args:
            text: ``[b, l]`` phoneme ids (padding anything); ``text_lens [b]`` (0 = no text).
                Aligned: unused (pass ``frame_text``).
            tokens: ``[b, n]`` semantic tokens, ``mask_id`` where masked (padding anything).
            lens: ``[b]`` frames (prompt + target) per item.
            prompt_lens: ``[b]`` prompt frames at the start of ``tokens`` (0 = no prompt).
            frame_text: aligned only: ``[b, f]`` the phoneme id of each code frame
                (``f >= hop * n`` is cut, shorter is padded; 0 = no phoneme: padding, or
                text dropped).

        Returns:
            ``[b, n, k]`` logits (meaningful on target frames).
        """
        n = tokens.shape[1]
        frame = torch.arange(n, device=tokens.device)[None]
        speech = tokens.clamp(0, self.mask_id) + self.vocab_size
        kinds = torch.where(frame < prompt_lens[:, None], PROMPT, TARGET)
        if self.phones is not None:
            if frame_text is None:
                raise ValueError("An aligned T2S needs the phoneme of each code frame (frame_text)")
            f = frame_text[:, : n * self.hop].clamp(0, self.phones.num_embeddings - 1)
            f = F.pad(f, (0, n * self.hop - f.shape[1]))
            phones = self.phones(f).view(len(tokens), n, self.hop, -1).mean(2)
            x = self.embed(speech) + self.kind(kinds) + phones
            return self.head(self.encoder(x, lengths_to_mask(lens, n)))
        text = text.clamp(0, self.vocab_size - 1)
        ids, total = pack(text, text_lens, speech, lens)
        segs, _ = pack(torch.zeros_like(text), text_lens, kinds.expand(len(tokens), -1), lens)
        positions = None
        if self.stretched:  # phonemes spread over the tokens' span (MaskGCTConfig.text_positions)
            j = torch.arange(text.shape[1], device=text.device)[None] + 0.5
            spread = j * (lens / text_lens.clamp(min=1))[:, None] - 0.5
            positions, _ = pack(spread, text_lens, frame.float().expand(len(tokens), -1), lens)
        h = self.encoder(self.embed(ids) + self.kind(segs), lengths_to_mask(total, ids.shape[1]), positions)
        return self.head(unpack(h, text_lens, n))


class SemanticToAcoustic(nn.Module):
    """Stage 2: semantic tokens + known codebooks -> logits of one acoustic codebook.

    Acoustic codebook ``j`` (0-based among the ``a`` acoustic ones) owns the rows
    ``j * (K + 1) .. j * (K + 1) + K`` of one table (its K entries and its [MASK]);
    the last row is a zero "absent" entry for codebooks not known at a frame.
    """

    def __init__(self, config: MaskGCTConfig) -> None:
        super().__init__()
        c = config
        self.n_acoustic = len(c.acoustic_codebooks)
        self.size = c.codebook_size
        self.mask_id = c.codebook_size
        self.absent = self.n_acoustic * (c.codebook_size + 1)
        self.semantic = nn.Embedding(c.semantic_size, c.dim)
        # Where a frame sits within its semantic token: without it, the frames of a run of
        # equal tokens look alike to S2A (rotary attention sees only relative positions).
        self.phase = nn.Embedding(c.semantic_hop, c.dim) if c.semantic_hop > 1 else None
        self.acoustic = nn.Embedding(self.absent + 1, c.dim, padding_idx=self.absent)
        self.layer = nn.Embedding(self.n_acoustic, c.dim)
        self.kind = nn.Embedding(2, c.dim)
        self.phones = nn.Embedding(c.vocab_size, c.dim, padding_idx=0) if c.aligned else None
        self.encoder = Encoder(c.dim, c.heads, c.s2a_layers, c.ff_mult, c.dropout)
        self.head_weight = nn.Parameter(torch.empty(self.n_acoustic, c.dim, c.codebook_size).normal_(std=0.02))
        self.head_bias = nn.Parameter(torch.zeros(self.n_acoustic, c.codebook_size))
        self.register_buffer("offsets", torch.arange(self.n_acoustic) * (c.codebook_size + 1), persistent=False)

    def forward(self, semantic: torch.Tensor, acoustic: torch.Tensor, lens: torch.Tensor,
                prompt_lens: torch.Tensor, layer: torch.Tensor, frame_text: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of acoustic codebook ``layer[i]`` at every frame.

        Args:
            semantic: ``[b, n]`` semantic tokens at the code frame rate (each token repeated
                ``semantic_hop`` times; padding anything).
            acoustic: ``[b, a, n]`` acoustic codes; ``mask_id`` = masked, ``-1`` = absent.
            lens: ``[b]`` frames (prompt + target).
            prompt_lens: ``[b]`` prompt frames at the start.
            layer: ``[b]`` index (0-based among the acoustic codebooks) to predict.
            frame_text: aligned only: ``[b, n]`` the phoneme id of each frame (0 = none).

        Returns:
            ``[b, n, k]`` logits.
        """
        n = semantic.shape[1]
        ids = torch.where(acoustic < 0, self.absent, acoustic.clamp(max=self.mask_id) + self.offsets[:, None])
        target = torch.arange(n, device=semantic.device)[None] >= prompt_lens[:, None]
        x = (self.semantic(semantic.clamp(0, self.semantic.num_embeddings - 1)) + self.acoustic(ids).sum(1)
             + self.layer(layer)[:, None] + self.kind(target.long()))
        if self.phase is not None:
            x = x + self.phase(torch.arange(n, device=semantic.device) % self.phase.num_embeddings)[None]
        if self.phones is not None:
            if frame_text is None:
                raise ValueError("An aligned S2A needs the phoneme of each frame (frame_text)")
            x = x + self.phones(frame_text[:, :n].clamp(0, self.phones.num_embeddings - 1))
        h = self.encoder(x, lengths_to_mask(lens, n))
        return torch.einsum("bnd,bdk->bnk", h, self.head_weight[layer]) + self.head_bias[layer][:, None]


def random_mask(start: torch.Tensor, end: torch.Tensor, n: int, ratio: torch.Tensor) -> torch.Tensor:
    """Mask ``max(1, ceil(ratio * span))`` random frames of each span ``[start, end)``: bool ``[b, n]``."""
    frame = torch.arange(n, device=start.device)[None]
    inside = (frame >= start[:, None]) & (frame < end[:, None])
    count = (ratio * (end - start)).ceil().long().clamp(min=1)
    score = torch.rand(len(start), n, device=start.device).masked_fill(~inside, 2.0)
    rank = score.argsort(dim=1).argsort(dim=1)  # rank of each frame's score within its item
    return inside & (rank < count[:, None])


def cosine_ratio(b: int, device) -> torch.Tensor:
    """MaskGIT's mask ratio ``cos(pi/2 * u)``, ``u ~ U(0, 1)``: ``[b]``."""
    return torch.cos(0.5 * math.pi * torch.rand(b, device=device))


def masked_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and top-1 accuracy over ``mask``-ed positions of ``logits [b, n, k]``."""
    sel = logits[mask].float()
    gold = target[mask]
    if gold.numel() == 0:  # cannot happen with >= 1 masked frame per item; keep the graph alive anyway
        return logits.sum() * 0.0, logits.new_zeros(())
    loss = F.cross_entropy(sel, gold)
    return loss, (sel.argmax(-1) == gold).float().mean()


class MaskGCT(nn.Module):
    """T2S and S2A together, trained with one summed loss."""

    def __init__(self, config: MaskGCTConfig) -> None:
        super().__init__()
        self.config = config
        self.t2s = TextToSemantic(config)
        self.s2a = SemanticToAcoustic(config) if config.acoustic_codebooks else None
        self.apply(init_weights)
        # After init_weights: the duration model keeps PyTorch's own init, as in the flow model.
        self.duration = (DurationPredictor(config.vocab_size, config.duration_dim, config.duration_layers)
                         if config.aligned else None)

    def frame_text(self, phonemes: torch.Tensor, durations: torch.Tensor | None, n: int) -> torch.Tensor:
        """Aligned models: the phoneme of each of ``n`` code frames, ``[b, n]`` (0 after the end),
        from ``phonemes [b, l]`` repeated by ``durations [b, l]`` (code frames).

        Raises:
            ValueError: no durations.
        """
        if durations is None:
            raise ValueError("An aligned MaskGCT (text_conditioning: aligned) needs the phone durations of each "
                             "utterance (the manifests of `tts prepare align`, data.durations: true)")
        return expand_by_durations(phonemes, durations, n)

    def semantic_tokens(self, codes: torch.Tensor, semantic: torch.Tensor | None = None) -> torch.Tensor:
        """The semantic stream ``[b, s]``: the codec's first codebook of ``codes [b, q, n]``
        (``codebook1``, ``s = n``), or the tokenizer's tokens ``semantic`` (``aligner``).

        Raises:
            ValueError: ``aligner`` without ``semantic``, or ``codebook1`` with it.
        """
        if self.config.semantic_source == "codebook1":
            if semantic is not None:
                raise ValueError("semantic_source 'codebook1' takes its tokens from the codes; do not pass semantic")
            return codes[:, 0]
        if semantic is None:
            raise ValueError("semantic_source 'aligner' needs the semantic tokens [b, s] of each utterance "
                             "(tts prepare features --kind semantic)")
        return semantic

    def semantic_lengths(self, code_lens: torch.Tensor) -> torch.Tensor:
        """Semantic tokens of utterances of ``code_lens [b]`` code frames: ``ceil(n / semantic_hop)``."""
        hop = self.config.semantic_hop
        return torch.div(code_lens + hop - 1, hop, rounding_mode="floor")

    def upsample(self, semantic: torch.Tensor, n: int) -> torch.Tensor:
        """Semantic tokens ``[b, s]`` at the code frame rate: each repeated ``semantic_hop`` times, ``[b, n]``."""
        hop = self.config.semantic_hop
        up = semantic if hop == 1 else semantic.repeat_interleave(hop, dim=1)
        if up.shape[1] < n:
            up = torch.nn.functional.pad(up, (0, n - up.shape[1]), value=-1)
        return up[:, :n]

    def acoustic_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """The codebooks S2A predicts: ``[b, q, n]`` -> ``[b, a, n]``."""
        return codes[:, self.config.first_acoustic:]

    def _layer_weights(self, device) -> torch.Tensor:
        a = self.s2a.n_acoustic
        if self.config.s2a_layer_weights == "linear":
            return torch.arange(a, 0, -1, device=device, dtype=torch.float)
        if self.config.s2a_layer_weights == "quadratic":
            return torch.arange(a, 0, -1, device=device, dtype=torch.float) ** 2
        return torch.ones(a, device=device)

    def forward(self, phonemes: torch.Tensor, phoneme_lens: torch.Tensor, codes: torch.Tensor,
                code_lens: torch.Tensor, semantic: torch.Tensor | None = None,
                durations: torch.Tensor | None = None,
                prompt_frames: torch.Tensor | None = None, s2a_layer: int | None = None,
                s2a_full: bool = False) -> dict[str, torch.Tensor]:
        """MaskGIT losses of a batch of whole utterances.

        Args:
            phonemes: ``[b, l]`` phoneme ids of each utterance, padded with 0.
            phoneme_lens: ``[b]``.
            codes: ``[b, q, n]`` codec codes, padded with -1.
            code_lens: ``[b]``.
            semantic: ``[b, s]`` semantic tokens (``semantic_source="aligner"`` only), at
                least ``ceil(code_lens / semantic_hop)`` per item, padded with -1.
            durations: aligned only: ``[b, l]`` code frames of each phoneme (summing to
                ``code_lens``; ``phonemes`` are then the aligned, boundary-wrapped sequence).
            prompt_frames: ``[b]`` an item's prompt, in code frames (a multiple of
                ``semantic_hop``, below ``code_lens``): a speaker prompt joined before it
                (``recipes.maskgct.pairs``); -1 (or None for all): a random prefix of
                ``prompt_min_fraction``..``prompt_max_fraction`` of the item.
            s2a_layer: every item's S2A codebook (0-based among the acoustic ones) instead
                of a drawn one; s2a_full: mask it on the whole target (as one-step decoding
                predicts it). Both for probes: training draws them (``s2a_full_mask_prob``).

        Returns:
            ``loss`` (T2S + S2A, plus the weighted duration loss when aligned),
            ``t2s_loss``, ``t2s_acc``, ``s2a_loss``, ``s2a_acc`` (accuracies: top-1 on
            masked frames), and ``dur_loss`` when aligned.
        """
        c = self.config
        b, _, n = codes.shape
        device = codes.device
        sem = self.semantic_tokens(codes, semantic)
        sem_lens = self.semantic_lengths(code_lens)
        if sem.shape[1] < int(sem_lens.max()):
            raise ValueError(f"{sem.shape[1]} semantic tokens for {n} code frames: at least {int(sem_lens.max())} "
                             f"are needed (one per {c.semantic_hop} frames)")
        s = sem.shape[1]
        # Guidance dropout: one draw per item picks "drop text and prompt", "drop prompt" or neither.
        u = torch.rand(b, device=device)
        drop_all = u < c.drop_all_prob
        drop_prompt = u < c.drop_all_prob + c.drop_prompt_prob
        frac = torch.empty(b, device=device).uniform_(c.prompt_min_fraction, c.prompt_max_fraction)
        # The prompt is a whole number of semantic tokens (code frames: hop times that, < code_lens).
        sem_prompt = torch.minimum((frac * sem_lens).long(), sem_lens - 1).clamp(min=0)
        if prompt_frames is not None:  # speaker prompts: the joined prompt, in whole tokens
            given = prompt_frames >= 0
            if bool((prompt_frames[given] % c.semantic_hop).any()):
                raise ValueError(f"prompt_frames must be whole semantic tokens ({c.semantic_hop} frames each), "
                                 f"got {prompt_frames.tolist()}")
            sem_prompt = torch.where(given, torch.minimum(prompt_frames // c.semantic_hop, sem_lens - 1), sem_prompt)
        sem_prompt = sem_prompt.masked_fill(drop_prompt, 0)
        prompt_lens = sem_prompt * c.semantic_hop
        text_lens = phoneme_lens.masked_fill(drop_all, 0)
        valid = lengths_to_mask(code_lens, n)

        frames = None
        if c.aligned:
            frames = self.frame_text(phonemes, durations, n).masked_fill(~valid, 0)
        mask = random_mask(sem_prompt, sem_lens, s, cosine_ratio(b, device))
        tokens = sem.masked_fill(mask, self.t2s.mask_id)
        t2s_text = None if frames is None else frames.masked_fill(drop_all[:, None], 0)
        logits = self.t2s(phonemes, text_lens, tokens, sem_lens, sem_prompt, t2s_text)
        t2s_loss, t2s_acc = masked_loss(logits, sem, mask)
        out = {"t2s_loss": t2s_loss, "t2s_acc": t2s_acc}
        loss = t2s_loss
        if c.aligned:
            out["dur_loss"] = self.duration(phonemes, phoneme_lens, durations)
            loss = loss + c.duration_weight * out["dur_loss"]
        if self.s2a is not None:
            semantic = self.upsample(sem, n)
            acoustic = self.acoustic_codes(codes)
            layer = torch.multinomial(self._layer_weights(device), b, replacement=True)
            if s2a_layer is not None:
                layer = torch.full_like(layer, s2a_layer)
            ratio = cosine_ratio(b, device)
            if c.s2a_full_mask_prob > 0:  # drawn only then: without it, the random stream is as before
                ratio = ratio.masked_fill(torch.rand(b, device=device) < c.s2a_full_mask_prob, 1.0)
            if s2a_full:
                ratio = torch.ones_like(ratio)
            mask = random_mask(prompt_lens, code_lens, n, ratio)
            idx = torch.arange(self.s2a.n_acoustic, device=device)[None, :, None]
            in_target = (~lengths_to_mask(prompt_lens, n) & valid)[:, None]  # [b, 1, n]
            above = idx > layer[:, None, None]
            current = idx == layer[:, None, None]
            x = acoustic.masked_fill(above & in_target, -1)
            x = x.masked_fill(current & mask[:, None], self.s2a.mask_id)
            logits = self.s2a(semantic, x.masked_fill(~valid[:, None], -1), code_lens, prompt_lens, layer, frames)
            gold = acoustic.gather(1, layer[:, None, None].expand(-1, 1, n))[:, 0]
            s2a_loss, s2a_acc = masked_loss(logits, gold, mask)
            out.update(s2a_loss=s2a_loss, s2a_acc=s2a_acc)
            loss = loss + s2a_loss
        out["loss"] = loss
        return out
