"""``AlignerModule``: train :class:`aligner.PhoneAligner` on a prepared corpus.

Batches come from :class:`recipes.data.TTSDataModule` with ``features: audio``; the
Vocos log-mels (official 24 kHz settings: 100 bins, hop 256) are computed here, on the
training device. The phoneme sequence of each cut is wrapped in word boundaries for
the aligner, and its phone symbols are the recognizer's CTC targets.

Logged: ``train/loss`` (and its ``ctc`` and ``align`` parts); on validation
``val/loss``, ``val/ctc``, ``val/align``, ``val/per`` (greedy-CTC phone error rate) and
``val/align_score`` (mean log-probability per frame of the aligned path, without the
prior). ``val_loss`` is the checkpoint metric.

Shapes: B batch, T samples, C mel bins, N frames, L symbols, P phones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from aligner import AlignerConfig, PhoneAligner, edit_distance, phone_ids, phone_table, with_boundaries
from text_frontend import PhonemeVocab
from tts.mel import VOCOS_MEL_24K, MelFeatures

from ..augment import band_limit, random_band_limits, random_warp_factors, warp_mels
from ..cards import Card, millions
from ..common import RecipeError, merged_config
from ..export import Exportable
from ..features import MelRecipe
from ..finetune import init_from_setting
from ..optim import AdamWCosineMixin


def pad_lists(seqs: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, max len]`` zero-padded LongTensor and ``[B]`` lengths."""
    lens = torch.tensor([len(s) for s in seqs], dtype=torch.long, device=device)
    out = torch.zeros(len(seqs), max(1, int(lens.max())), dtype=torch.long, device=device)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long, device=device)
    return out, lens


class AlignerModule(AdamWCosineMixin, MelRecipe, Exportable, L.LightningModule):
    """Args:
        aligner: overrides of :class:`aligner.AlignerConfig` (``dim``, ``layers``...).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        init_from: start from these weights (a checkpoint folder, a shipped name such as
            ``tiny-aligner``, or a run's ``.ckpt``): fine-tuning on a new corpus
            (``recipes.finetune``). The config in ``model.aligner`` must be theirs.
        mel_warp: training items' mel frequency axes are scaled by a factor drawn
            log-uniformly from ``[1 / (1 + mel_warp), 1 + mel_warp]`` (VTLP,
            ``recipes.augment``): voices the corpus does not have. 0 = off.
        mel_warp_prob: the share of training items that are warped.
        band_limit_prob: the share of training items resampled to one of
            ``band_limit_rates`` (Hz) and back (``recipes.augment.band_limit``), so that
            telephone and 16 kHz recordings are not heard as a few voices' timbre. 0 = off.
        band_limit_rates: the sample rates a band-limited item is taken through.
    """

    family = "aligner"

    def __init__(self, aligner: dict[str, Any] | None = None, learning_rate: float = 1e-3,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.98), warmup_steps: int = 500,
                 grad_clip: float | None = 1.0, init_from: str | None = None, mel_warp: float = 0.0,
                 mel_warp_prob: float = 0.5, band_limit_prob: float = 0.0,
                 band_limit_rates: tuple[int, ...] = (8000, 16000)):
        super().__init__()
        self.save_hyperparameters()
        if not (mel_warp >= 0 and 0 <= mel_warp_prob <= 1 and 0 <= band_limit_prob <= 1):
            raise RecipeError(f"model.mel_warp must be >= 0, model.mel_warp_prob and model.band_limit_prob in [0, 1] "
                              f"(got {mel_warp}, {mel_warp_prob}, {band_limit_prob}): e.g. mel_warp: 0.15, "
                              "band_limit_prob: 0.3.")
        if not band_limit_rates or any(not 0 < int(r) < VOCOS_MEL_24K["sample_rate"] for r in band_limit_rates):
            raise RecipeError(f"model.band_limit_rates must be sample rates below {VOCOS_MEL_24K['sample_rate']} Hz "
                              f"(got {band_limit_rates}): e.g. [8000, 16000].")
        self.vocab = PhonemeVocab.default()
        fixed = {"vocab_size": len(self.vocab), "n_mels": VOCOS_MEL_24K["n_mels"],
                 "sample_rate": VOCOS_MEL_24K["sample_rate"], "hop_length": VOCOS_MEL_24K["hop_length"]}
        self.config = merged_config(AlignerConfig, aligner, fixed, section="aligner", label="aligner",
                                    source="the official Vocos mel settings and the vocabulary")
        self.model = PhoneAligner(self.config)
        self.features = MelFeatures().extractor.requires_grad_(False)
        self.is_phone = phone_table(self.vocab.symbols)

    def setup(self, stage: str) -> None:
        init_from_setting(self, stage)

    def prepare(self, batch: dict, augment: bool = False) -> dict[str, torch.Tensor]:
        """Mels, boundary-wrapped ids and phone targets of a ``TTSDataset`` batch (``augment``:
        band limits and mel warps as the module's options say; training only)."""
        if "audio" not in batch:
            raise RecipeError("The aligner recipe needs batches with 'audio' (data.features: audio).")
        audio, hp = batch["audio"], self.hparams
        if augment and hp.band_limit_prob > 0:
            audio = band_limit(audio, self.config.sample_rate,
                               random_band_limits(audio.shape[0], tuple(hp.band_limit_rates), hp.band_limit_prob))
        mel = self._audio_mels(audio)
        if augment and hp.mel_warp > 0:
            mel = warp_mels(mel, random_warp_factors(mel.shape[0], hp.mel_warp, hp.mel_warp_prob),
                            self.config.sample_rate)
        mel_lens = (batch["audio_lens"] // self.config.hop_length + 1).clamp(max=mel.shape[-1])  # "center" padding
        seqs = [batch["phonemes"][b, :n].tolist() for b, n in enumerate(batch["phoneme_lens"].tolist())]
        ids, id_lens = pad_lists([with_boundaries(s, self.vocab.space_id) for s in seqs], mel.device)
        phones, phone_lens = pad_lists([phone_ids(s, self.is_phone) for s in seqs], mel.device)
        return {"mel": mel, "mel_lens": mel_lens, "ids": ids, "id_lens": id_lens, "phones": phones,
                "phone_lens": phone_lens}

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        x = self.prepare(batch, augment=True)
        out = self.model(**x)
        n = x["mel"].shape[0]
        self.log("train/loss", out["loss"].detach(), prog_bar=True, batch_size=n)
        self.log("train/ctc", out["ctc"].detach(), batch_size=n)
        self.log("train/align", out["align"].detach(), batch_size=n)
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        x = self.prepare(batch)
        n = x["mel"].shape[0]
        out = self.model(**x)
        for key in ("loss", "ctc", "align"):
            self.log(f"val/{key}", out[key], batch_size=n, sync_dist=True)
        self.log("val_loss", out["loss"], batch_size=n, sync_dist=True, logger=False)
        hyps = self.model.recognize(x["mel"], x["mel_lens"])
        refs = [x["phones"][b, :k].tolist() for b, k in enumerate(x["phone_lens"].tolist())]
        edits = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
        # Weighted by reference length, so the epoch mean is the corpus-level PER.
        total = sum(len(r) for r in refs)
        self.log("val/per", edits / max(1, total), batch_size=total, sync_dist=True)
        _, scores = self.model.align(x["mel"], x["mel_lens"], x["ids"], x["id_lens"])
        self.log("val/align_score", sum(scores) / len(scores), batch_size=n, sync_dist=True)

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg = self.config
        return Card(
            title=f"Phone aligner ({directory.name})",
            summary=f"A {millions(self.model):.1f} M-parameter phone aligner over {cfg.n_mels}-bin Vocos log-mels at "
                    f"{cfg.frame_rate:g} frames/s, trained with `recipes/aligner` for {steps} steps: a CTC phone "
                    "recognizer and a RAD-TTS-style attention aligner on one speech encoder. "
                    "`tts prepare align` writes its per-phoneme durations into a corpus's manifests.",
            usage=f"tts prepare align --cuts DATA/cuts_train.jsonl.gz --aligner {directory}",
            facts={"steps": steps})
