"""``MaskGCTModule``: train :class:`codec_lm.maskgct.model.MaskGCT` (T2S + S2A together) on codec codes.

The codec folder fixes the codes (its ``n_codebooks``, ``codebook_size``,
``frame_rate`` and ``sample_rate`` become the model's), and the phoneme vocabulary
fixes ``vocab_size``; everything else comes from ``model.maskgct`` in the YAML.
Batches are whole utterances from :class:`recipes.data.CodesDataModule`; the model
draws each item's prompt prefix, mask ratio (cosine schedule), masked frames, S2A
codebook and guidance dropout itself, and scores masked frames only.

Logged: ``train/loss`` and its parts ``train/{t2s,s2a}_loss``, top-1 accuracies on
masked frames ``train/{t2s,s2a}_acc``, the same under ``val/`` (the checkpoint
metric is ``val_loss``), computed with a fixed seed so that the validation curve is
comparable across evaluations. EMA weights come from the ``WarmupEMA`` callback in
the YAML; they are what the checkpoint's ``state_dict`` and the export hold.

Shapes: B batch, L phonemes, Q codebooks, N frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from ..common import RecipeError, log_metrics, seeded
from ..cards import Card, millions
from ..export import Exportable
from ..features import CodecRecipe
from ..optim import AdamWCosineMixin
from ..probes import CodecProbes, evaluating

LOGGED = ("loss", "t2s_loss", "t2s_acc", "s2a_loss", "s2a_acc")


class MaskGCTModule(CodecProbes, AdamWCosineMixin, CodecRecipe, Exportable, L.LightningModule):
    """Args:
        codec: codec checkpoint folder (MelRVQ) or shipped codec name; the codes of the
            data must come from it (``tts prepare features --kind codes --codec``).
        maskgct: overrides of :class:`codec_lm.maskgct.MaskGCTConfig` (``dim``, ``heads``,
            ``t2s_layers``, ``s2a_layers``, ``ff_mult``, ``dropout``, prompt fractions,
            guidance dropout...).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the prompts, masks and dropout drawn for the validation loss.
    """

    family = "maskgct"
    dependency = "codec"

    def __init__(self, codec: str, maskgct: dict[str, Any] | None = None, learning_rate: float = 5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.98), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234):
        super().__init__()
        from codec_lm.maskgct import MaskGCT, MaskGCTConfig

        self.save_hyperparameters()
        self._build_on_codec(codec, MaskGCT, MaskGCTConfig, maskgct, section="maskgct")

    def _check(self, batch: dict) -> None:
        """Fail clearly on the first batch when the data does not fit the model."""
        if "codes" not in batch:
            raise RecipeError("The maskgct recipe needs batches of codec codes (recipes.data.CodesDataModule, "
                              "or TTSDataModule with features: codes); check the data section of the config.")
        self._check_codes(batch["codes"])
        self._checked = True

    def _losses(self, batch: dict) -> dict[str, torch.Tensor]:
        if not self._checked:
            self._check(batch)
        return self.model(batch["phonemes"], batch["phoneme_lens"], batch["codes"], batch["code_lens"])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self._losses(batch)
        log_metrics(self, "train", out, LOGGED, batch["codes"].shape[0], prog_bar=("loss", "t2s_acc"))
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        codes = batch["codes"]
        with seeded(self.hparams.val_seed + batch_idx, codes.device):  # the same prompts, masks and dropout
            out = self._losses(batch)
        log_metrics(self, "val", out, LOGGED, codes.shape[0])
        self.log("val_loss", out["loss"], batch_size=codes.shape[0], sync_dist=True, logger=False)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("phonemes", "phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        return self._losses(batch)["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        from codec_lm.maskgct import MaskGCTSampling, synthesize

        prompts, texts, targets = self._probe_inputs(batch, n)
        if len(prompts) < 2:
            return [], []
        with evaluating(self.model):
            out = synthesize(self.model, prompts, texts, targets, MaskGCTSampling(seed=seed, steps=8))
        return self._probe_mels(out), targets

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg, total, t2s = self.config, millions(self.model), millions(self.model.t2s)
        return self._codec_card(
            directory, steps, "MaskGCT",
            f"A {total:.1f} M-parameter MaskGCT-style masked generative model ({t2s:.1f} M T2S, {total - t2s:.1f} M "
            f"S2A; {cfg.dim} wide, {cfg.t2s_layers} + {cfg.s2a_layers} layers) over {cfg.n_codebooks} x "
            f"{cfg.codebook_size} codec codes at {cfg.frame_rate:g} frames/s, trained with `recipes/maskgct` for "
            f"{steps} steps. T2S fills codebook 1 (standing in for MaskGCT's semantic tokens) by iterative "
            f"unmasking, S2A codebooks 2..{cfg.n_codebooks}; the length comes from the prompt's speaking rate or a "
            "given duration; audio comes from the codec named in model.yaml.", options=", steps=25, cfg=2.5")
