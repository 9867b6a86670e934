"""``PhoneAligner``: a speech encoder with two heads.

* a CTC **recognizer** of phone symbols (at half the mel frame rate), the phone-error
  probe of every TTS recipe and, later, the source of phonetic speech features;
* an **attention aligner** in the manner of RAD-TTS ("One TTS Alignment To Rule Them
  All", Badlani et al. 2021): each mel frame (query) scores every symbol of the
  boundary-wrapped phoneme sequence (keys) by a negative squared distance; the
  forward-sum loss sums over all monotonic paths; monotonic alignment search turns
  the scores into contiguous per-symbol durations that cover every frame.

Why not durations from the CTC spikes: CTC marks each phone with a one-frame spike
somewhere inside it, and pauses are blank; the attention aligner scores every frame
against every symbol, so boundaries and pauses fall out of one path.

    mel [B, C, N] -> conv blocks (full rate) ---------------------------+-> queries [B, N, A]
                  -> stride-2 conv -> transformer (half rate) -> ctx ---+   (ctx upsampled x2)
                                                                 ctx -> CTC log-probs [B, N2, V]
    ids [B, L] -> embedding -> conv blocks -> keys [B, L, A]
    queries x keys -> log P(symbol | frame) [B, N, L] (+ diagonal prior) -> MAS -> durations [L]

Shapes: B batch, C mel bins, N frames, N2 = ceil(N / 2), L symbols, V vocabulary,
D model width, A attention width.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nn_common import lengths_to_mask

from .config import AlignerConfig
from .search import beta_binomial_log_prior, monotonic_durations

NEG = -1e4  # a finite "impossible" score: -inf would turn into NaN gradients in the CTC losses


class ConvBlock(nn.Module):
    """Residual depthwise-separable conv block on ``[B, N, D]`` (padding kept at zero)."""

    def __init__(self, dim: int, kernel: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.pointwise = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.depthwise((self.norm(x) * mask).transpose(1, 2)).transpose(1, 2)
        return (x + self.pointwise(h)) * mask


class PhoneAligner(nn.Module):
    """See the module docstring. ``forward`` returns the training losses."""

    def __init__(self, config: AlignerConfig) -> None:
        super().__init__()
        self.config = c = config
        self.mel_in = nn.Linear(c.n_mels, c.dim)
        self.front = nn.ModuleList(ConvBlock(c.dim, 5) for _ in range(c.conv_layers))
        self.down = nn.Conv1d(c.dim, c.dim, 3, stride=2, padding=1)
        self.pos = nn.Conv1d(c.dim, c.dim, 15, padding=7, groups=c.dim)  # relative position, as in wav2vec 2.0
        layer = nn.TransformerEncoderLayer(c.dim, c.heads, c.ff_mult * c.dim, c.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.context = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False) if c.layers else None
        self.context_norm = nn.LayerNorm(c.dim)
        self.ctc_head = nn.Linear(c.dim, c.vocab_size)
        self.query = nn.Sequential(nn.Linear(2 * c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.attn_dim))
        self.embed = nn.Embedding(c.vocab_size, c.attn_dim, padding_idx=0)
        self.text = nn.ModuleList(ConvBlock(c.attn_dim, 3) for _ in range(c.text_conv_layers))
        self.key = nn.Linear(c.attn_dim, c.attn_dim)
        self._priors: dict[tuple[int, int], torch.Tensor] = {}

    # ------------------------------------------------------------------ encoders
    def _local(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> torch.Tensor:
        """``mel [B, C, N]`` -> the conv front's output ``[B, N, D]`` at the full frame rate (zero on padding)."""
        c = self.config
        mask = lengths_to_mask(mel_lens, mel.shape[-1])[..., None].to(mel.dtype)  # [B, N, 1]
        x = self.mel_in(((mel - c.mel_mean) / c.mel_std).transpose(1, 2)) * mask
        for block in self.front:
            x = block(x, mask)
        return x

    def _downsample(self, local: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                                   torch.Tensor]:
        """``local [B, N, D]`` -> the transformer's input ``[B, N2, D]``, its lengths ``[B]`` and mask ``[B, N2]``."""
        h = self.down(local.transpose(1, 2))  # [B, D, N2]
        ctx_lens = (mel_lens + 1) // 2
        ctx_mask = lengths_to_mask(ctx_lens, h.shape[-1])
        return (h + self.pos(h)).transpose(1, 2) * ctx_mask[..., None], ctx_lens, ctx_mask

    def encode_speech(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                                   torch.Tensor]:
        """``mel [B, C, N]`` -> ``(local [B, N, D], context [B, N2, D], context_lens [B])``."""
        x = self._local(mel, mel_lens)
        h, ctx_lens, ctx_mask = self._downsample(x, mel_lens)
        if self.context is not None:
            h = self.context(h, src_key_padding_mask=~ctx_mask)
        return x, self.context_norm(h) * ctx_mask[..., None], ctx_lens

    def speech_stages(self) -> list[str]:
        """Names of the speech encoder's stages, input to output: ``front`` (conv blocks, full
        rate), ``down`` (after the stride-2 conv, half rate), ``layer1``.. (each transformer
        layer's output, half rate; the residual stream, before the final norm) and
        ``context`` (the normalized output the heads read)."""
        return ["front", "down", *(f"layer{i + 1}" for i in range(self.config.layers)), "context"]

    def speech_hidden(self, mel: torch.Tensor, mel_lens: torch.Tensor, stage: str) -> tuple[torch.Tensor,
                                                                                                torch.Tensor]:
        """One stage of the speech encoder (see :meth:`speech_stages`): ``(hidden [B, M, D], lens [B])``,
        zero on padding; ``M = N`` for ``front``, ``ceil(N / 2)`` for the others.

        Why: the semantic tokenizer (``aligner.semantic``) quantizes an intermediate stage,
        chosen by how well its clusters predict the phones. Runs only as far as needed.

        Raises:
            ValueError: an unknown stage.
        """
        stages = self.speech_stages()
        if stage not in stages:
            raise ValueError(f"Unknown speech-encoder stage {stage!r}; this aligner has {', '.join(stages)}")
        x = self._local(mel, mel_lens)
        if stage == "front":
            return x, mel_lens
        h, ctx_lens, ctx_mask = self._downsample(x, mel_lens)
        layers = self.config.layers if stage == "context" else stages.index(stage) - stages.index("down")
        for i in range(layers):
            # The stack's own layers, one by one: the computation of self.context(h, ...).
            h = self.context.layers[i](h, src_key_padding_mask=~ctx_mask)
        if stage == "context":
            h = self.context_norm(h)
        return h * ctx_mask[..., None], ctx_lens

    def ctc_log_probs(self, context: torch.Tensor) -> torch.Tensor:
        """``[B, N2, V]`` log-probabilities of the phone symbols; id 0 is the blank."""
        return F.log_softmax(self.ctc_head(context).float(), dim=-1)

    def queries(self, local: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """``[B, N, A]``: local features with the half-rate context repeated to full rate."""
        up = context.repeat_interleave(2, dim=1)[:, : local.shape[1]]
        return self.query(torch.cat([local, up], dim=-1))

    def keys(self, ids: torch.Tensor, id_lens: torch.Tensor) -> torch.Tensor:
        """``ids [B, L]`` -> ``[B, L, A]``."""
        mask = lengths_to_mask(id_lens, ids.shape[1])[..., None].to(self.embed.weight.dtype)
        x = self.embed(ids) * mask
        for block in self.text:
            x = block(x, mask)
        return self.key(x)

    def _prior(self, n: int, length: int, device: torch.device) -> torch.Tensor:
        key = (n, length)
        if key not in self._priors:
            if len(self._priors) > 4096:  # a bounded cache: lengths vary with every utterance
                self._priors.clear()
            self._priors[key] = beta_binomial_log_prior(n, length, self.config.prior_scale)
        return self._priors[key].to(device)

    def attention(self, queries: torch.Tensor, keys: torch.Tensor, mel_lens: torch.Tensor,
                  id_lens: torch.Tensor, prior: bool = True) -> torch.Tensor:
        """``log P(symbol | frame)`` ``[B, N, L]``, normalized over each item's symbols;
        with ``prior``, the diagonal beta-binomial prior is folded in."""
        q, k = queries.float(), keys.float()
        dist = (q * q).sum(-1, keepdim=True) - 2 * q @ k.transpose(1, 2) + (k * k).sum(-1)[:, None, :]
        logits = -dist / self.config.attn_dim ** 0.5
        if prior and self.config.prior_scale > 0:
            log_prior = torch.zeros_like(logits)
            for b, (n, length) in enumerate(zip(mel_lens.tolist(), id_lens.tolist())):
                log_prior[b, :n, :length] = self._prior(n, length, logits.device)
            logits = logits + log_prior
        valid = lengths_to_mask(id_lens, keys.shape[1])[:, None, :]
        return F.log_softmax(logits.masked_fill(~valid, NEG), dim=-1)

    # ------------------------------------------------------------------ training
    def forward(self, mel: torch.Tensor, mel_lens: torch.Tensor, ids: torch.Tensor, id_lens: torch.Tensor,
                phones: torch.Tensor, phone_lens: torch.Tensor) -> dict[str, torch.Tensor]:
        """Losses of one batch.

        Args:
            mel, mel_lens: ``[B, C, N]`` log-mels and ``[B]`` frame counts.
            ids, id_lens: ``[B, L]`` boundary-wrapped phoneme ids (``symbols.with_boundaries``).
            phones, phone_lens: ``[B, P]`` the recognizer's phone-symbol targets.

        Returns:
            ``loss`` (weighted sum), ``ctc`` (recognizer) and ``align`` (forward-sum),
            each a mean over the batch of the per-item loss divided by its target length.
        """
        c = self.config
        local, context, ctx_lens = self.encode_speech(mel, mel_lens)
        ctc = F.ctc_loss(self.ctc_log_probs(context).transpose(0, 1), phones, ctx_lens, phone_lens, blank=0,
                         zero_infinity=True)
        attn = self.attention(self.queries(local, context), self.keys(ids, id_lens), mel_lens, id_lens)
        align = forward_sum_loss(attn, mel_lens, id_lens, c.blank_logprob)
        return {"loss": c.ctc_weight * ctc + c.align_weight * align, "ctc": ctc, "align": align}

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def align(self, mel: torch.Tensor, mel_lens: torch.Tensor, ids: torch.Tensor,
              id_lens: torch.Tensor) -> tuple[list[torch.Tensor], list[float]]:
        """Per-symbol durations in frames and a confidence per item.

        Returns:
            ``durations``: one LongTensor ``[L_b]`` per item (each >= 1, summing to
            ``mel_lens[b]``); ``scores``: the path's mean ``log P(symbol | frame)``
            per frame, without the prior (near 0 = confident; low = the transcript
            may not match the audio).
        """
        local, context, _ = self.encode_speech(mel, mel_lens)
        queries, keys = self.queries(local, context), self.keys(ids, id_lens)
        attn = self.attention(queries, keys, mel_lens, id_lens)
        plain = self.attention(queries, keys, mel_lens, id_lens, prior=False)
        durations, scores = [], []
        for b, (n, length) in enumerate(zip(mel_lens.tolist(), id_lens.tolist())):
            d = torch.from_numpy(monotonic_durations(attn[b, :n, :length]))
            frames = torch.repeat_interleave(torch.arange(length), d)
            scores.append(float(plain[b, torch.arange(n), frames.to(plain.device)].mean()))
            durations.append(d)
        return durations, scores

    @torch.no_grad()
    def phone_log_likelihood(self, mel: torch.Tensor, mel_lens: torch.Tensor, phones: torch.Tensor,
                             phone_lens: torch.Tensor) -> torch.Tensor:
        """How clearly each item says its phones: the recognizer's CTC log-likelihood of
        ``phones [B, P]`` (``phone_lens [B]``, each >= 1) given ``mel [B, C, N]``, divided by
        the phone count: ``[B]`` (higher is clearer; ``-inf`` where the audio is too short
        to hold the phones)."""
        _, context, ctx_lens = self.encode_speech(mel, mel_lens)
        nll = F.ctc_loss(self.ctc_log_probs(context).transpose(0, 1), phones, ctx_lens, phone_lens, blank=0,
                         reduction="none")
        return -nll / phone_lens.clamp(min=1).to(nll.dtype)

    @torch.no_grad()
    def recognize(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> list[list[int]]:
        """Greedy CTC decoding: the phone-symbol ids heard in each item."""
        _, context, ctx_lens = self.encode_speech(mel, mel_lens)
        best = self.ctc_log_probs(context).argmax(-1)
        out = []
        for b, n in enumerate(ctx_lens.tolist()):
            seq = torch.unique_consecutive(best[b, :n]).tolist()
            out.append([i for i in seq if i != 0])
        return out


def forward_sum_loss(attn: torch.Tensor, mel_lens: torch.Tensor, id_lens: torch.Tensor,
                     blank_logprob: float) -> torch.Tensor:
    """``-log`` of the summed probability of every monotonic path through ``attn [B, N, L]``
    that visits each symbol in order, normalized by the item's symbol count.

    Computed with the CTC loss: the symbols are the targets ``1..L`` and a weak blank
    (score ``blank_logprob``) is class 0, as in RAD-TTS.
    """
    b, _, length = attn.shape
    logp = F.log_softmax(F.pad(attn, (1, 0), value=blank_logprob), dim=-1)  # [B, N, L + 1]
    targets = torch.arange(1, length + 1, device=attn.device)[None].expand(b, length)
    return F.ctc_loss(logp.transpose(0, 1), targets, mel_lens, id_lens, blank=0, zero_infinity=True)
