"""``DurationPredictor``: how many frames each phoneme symbol lasts, in the prompt's rhythm.

Shared by the aligned models (flow's ``text_conditioning: aligned``, MaskGCT's
``text_conditioning: aligned``), with :func:`fit_durations` and :func:`plan_durations`,
which turn a prompt's measured durations and a target text into the frames of both.

Voicebox's regression duration model (Dur-Regr, Le et al. 2023) in small: the
symbols of an utterance, with the durations of a known span (at inference: the
prompt's, from the phone aligner) given as context, and the log-durations of the
other symbols predicted with an L1 loss. Training masks a random contiguous span of
the symbols (and sometimes all of them, so that it also works without a prompt);
the known durations carry the speaker's speaking rate into the prediction.

Legend: b = batch, l = symbols, d = width. Durations are in frames; the model works
on ``log(1 + frames)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .sequences import lengths_to_mask


class DurationPredictor(nn.Module):
    """Per-symbol log-durations from the symbols and the known durations.

    Args:
        vocab_size: phoneme vocabulary size.
        dim, layers, heads: a small transformer encoder over the symbols.
        mask_min, mask_max: the predicted span covers this fraction of the symbols in training.
        drop_context_prob: probability of predicting every symbol with no context.
    """

    def __init__(self, vocab_size: int, dim: int = 128, layers: int = 3, heads: int = 2, mask_min: float = 0.3,
                 mask_max: float = 1.0, drop_context_prob: float = 0.1) -> None:
        super().__init__()
        self.mask_min, self.mask_max, self.drop_context_prob = mask_min, mask_max, drop_context_prob
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.context = nn.Linear(2, dim)  # (known log-duration, known flag)
        self.pos = nn.Conv1d(dim, dim, 5, padding=2, groups=dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, 0.1, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 1))

    def log_durations(self, ids: torch.Tensor, id_lens: torch.Tensor, durations: torch.Tensor,
                      known: torch.Tensor) -> torch.Tensor:
        """Predicted ``log(1 + frames)`` ``[b, l]``.

        Args:
            ids: ``[b, l]`` symbol ids (0-padded).
            durations: ``[b, l]`` frames; read only where ``known``.
            known: bool ``[b, l]``, the context symbols.
        """
        valid = lengths_to_mask(id_lens, ids.shape[1])
        log_d = torch.log1p(durations.float()) * known
        h = self.embed(ids) + self.context(torch.stack([log_d, known.float()], dim=-1))
        h = h + self.pos(h.transpose(1, 2)).transpose(1, 2)
        h = self.encoder(h * valid[..., None], src_key_padding_mask=~valid)
        return self.out(h).squeeze(-1)

    def span_mask(self, id_lens: torch.Tensor, n: int) -> torch.Tensor:
        """A random contiguous span of ``mask_min..mask_max`` of each item's symbols: bool ``[b, n]``."""
        frac = torch.empty(len(id_lens), device=id_lens.device).uniform_(self.mask_min, self.mask_max)
        span = (frac * id_lens).long().clamp(min=1)
        start = (torch.rand(len(id_lens), device=id_lens.device) * (id_lens - span + 1).float()).long()
        idx = torch.arange(n, device=id_lens.device)[None]
        masked = (idx >= start[:, None]) & (idx < (start + span)[:, None])
        drop = torch.rand(len(id_lens), device=id_lens.device) < self.drop_context_prob
        return masked | drop[:, None]

    def forward(self, ids: torch.Tensor, id_lens: torch.Tensor, durations: torch.Tensor,
                masked: torch.Tensor | None = None) -> torch.Tensor:
        """L1 loss on ``log(1 + frames)`` of the masked symbols (scalar); ``masked`` (bool
        ``[b, l]``) chooses them, or None draws spans (``span_mask``)."""
        valid = lengths_to_mask(id_lens, ids.shape[1])
        masked = (self.span_mask(id_lens, ids.shape[1]) if masked is None else masked) & valid
        pred = self.log_durations(ids, id_lens, durations, valid & ~masked)
        err = F.l1_loss(pred, torch.log1p(durations.float()), reduction="none")
        return (err * masked).sum() / masked.sum().clamp(min=1)

    @torch.no_grad()
    def predict(self, ids: torch.Tensor, id_lens: torch.Tensor, durations: torch.Tensor, known: torch.Tensor,
                speed: float = 1.0) -> torch.Tensor:
        """Frames ``[b, l]`` (>= 1 on real symbols, 0 on padding): the known durations as
        given, the others predicted and divided by ``speed``."""
        valid = lengths_to_mask(id_lens, ids.shape[1])
        pred = torch.expm1(self.log_durations(ids, id_lens, durations, known)) / speed
        frames = torch.where(known, durations.float(), pred.round().clamp(min=1))
        return (frames * valid).long()


def fit_durations(durations: torch.Tensor, total: int) -> torch.Tensor:
    """Rescale frame counts ``[l]`` to sum to ``total`` (>= l), each at least 1."""
    if total < len(durations):
        raise ValueError(f"{total} frames cannot hold {len(durations)} symbols")
    ends = (durations.double().cumsum(0) * total / durations.sum().double()).round().long()
    out = torch.diff(ends, prepend=ends.new_zeros(1)).clamp(min=1)
    out[-1] += total - out.sum()  # the clamp may add frames; the last symbols give them back
    for i in range(len(out) - 1, -1, -1):
        if out[i] >= 1:
            break
        out[i - 1] += out[i] - 1
        out[i] = 1
    return out


def plan_durations(predictor: DurationPredictor, prompt_phonemes: torch.Tensor, prompt_durations: torch.Tensor,
                   target_phonemes: torch.Tensor, speed: float = 1.0, frames: int | None = None,
                   space_id: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The aligned sequence and its durations: ``(ids [l], frames [l])`` (on the CPU) of the
    prompt's boundary-wrapped phonemes (durations given), then the target's and a closing
    word boundary (durations predicted in the prompt's rhythm, divided by ``speed`` or
    rescaled to sum to ``frames``)."""
    device = next(predictor.parameters()).device
    ids = torch.cat([prompt_phonemes.cpu(), target_phonemes.cpu(), torch.tensor([space_id])]).long()
    known = torch.arange(len(ids)) < len(prompt_phonemes)
    given = torch.zeros(len(ids), dtype=torch.long)
    given[: len(prompt_phonemes)] = prompt_durations.cpu().long()
    pred = predictor.predict(ids[None].to(device), torch.tensor([len(ids)], device=device),
                             given[None].to(device), known[None].to(device), speed)[0].cpu()
    if frames is not None:
        pred[~known] = fit_durations(pred[~known], max(int(frames), int((~known).sum())))
    return ids, pred
