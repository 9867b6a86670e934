"""``MaskGCTModule``: train :class:`codec_lm.maskgct.model.MaskGCT` (T2S + S2A together) on codec codes.

The codec folder fixes the codes (its ``n_codebooks``, ``codebook_size``,
``frame_rate`` and ``sample_rate`` become the model's), and the phoneme vocabulary
fixes ``vocab_size``; everything else comes from ``model.maskgct`` in the YAML.
Batches are whole utterances from :class:`recipes.maskgct.data.MaskGCTDataModule`;
the model draws each item's prompt prefix, mask ratio (cosine schedule), masked
frames, S2A codebook and guidance dropout itself, and scores masked frames only.

Logged: ``train/loss`` and its parts ``train/{t2s,s2a}_loss``, top-1 accuracies on
masked frames ``train/{t2s,s2a}_acc``, the same under ``val/`` (the checkpoint
metric is ``val_loss``), computed with a fixed seed so that the validation curve is
comparable across evaluations. EMA weights come from the ``WarmupEMA`` callback in
the YAML; they are what the checkpoint's ``state_dict`` and the export hold.

Shapes: B batch, L phonemes, Q codebooks, N frames.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightning as L
import torch

from ..common import AdamWCosineMixin, RecipeError
from ..probes import CodecProbes

LOGGED = ("loss", "t2s_loss", "t2s_acc", "s2a_loss", "s2a_acc")


class MaskGCTModule(CodecProbes, AdamWCosineMixin, L.LightningModule):
    """Args:
        codec: codec checkpoint folder (MelRVQ) or shipped codec name; the codes of the
            data must come from it (``tts prepare features --kind codes --codec``).
        maskgct: overrides of :class:`codec_lm.maskgct.MaskGCTConfig` (``dim``, ``heads``,
            ``t2s_layers``, ``s2a_layers``, ``ff_mult``, ``dropout``, prompt fractions,
            guidance dropout...).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the prompts, masks and dropout drawn for the validation loss.
    """

    def __init__(self, codec: str, maskgct: dict[str, Any] | None = None, learning_rate: float = 5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.98), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234):
        super().__init__()
        from codec_lm.maskgct import MaskGCT, MaskGCTConfig
        from text_frontend import PhonemeVocab
        from tts.codecs import load_codec

        self.save_hyperparameters()
        loaded = load_codec(codec)  # checks the folder and its vocoder now, not after training
        self.codec_dir = loaded.path
        self.vocab = PhonemeVocab.default()
        fixed = {"n_codebooks": int(loaded.n_codebooks), "codebook_size": int(loaded.codebook_size),
                 "frame_rate": float(loaded.frame_rate), "sample_rate": int(loaded.sample_rate),
                 "vocab_size": len(self.vocab)}
        del loaded  # only its description is needed; the codec is not part of the model
        overrides = dict(maskgct or {})
        known = {f.name for f in dataclasses.fields(MaskGCTConfig)} - set(fixed)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RecipeError(f"Unknown maskgct settings {unknown} in model.maskgct; known: "
                              f"{', '.join(sorted(known))}. ({', '.join(sorted(fixed))} come from the codec and "
                              "the vocabulary.)")
        try:
            self.config = MaskGCTConfig(**overrides, **fixed)
        except ValueError as err:
            raise RecipeError(f"Invalid model.maskgct: {err}") from err
        self.model = MaskGCT(self.config)
        self._checked = False

    def _check(self, batch: dict) -> None:
        """Fail clearly on the first batch when the data does not fit the model."""
        if "codes" not in batch:
            raise RecipeError("The maskgct recipe needs batches of codec codes (recipes.maskgct.data."
                              "MaskGCTDataModule, or TTSDataModule with features: codes); check the data section "
                              "of the config.")
        codes = batch["codes"]
        q, k = self.config.n_codebooks, self.config.codebook_size
        if codes.shape[1] != q or int(codes.max()) >= k:
            raise RecipeError(
                f"The codes in the manifest ({codes.shape[1]} codebooks, largest {int(codes.max())}) do not come "
                f"from codec '{self.codec_dir}' ({q} x {k}): run `tts prepare features --kind codes --codec "
                f"{self.codec_dir}` again, or pass the codec they came from as model.codec.")
        self._checked = True

    def _losses(self, batch: dict) -> dict[str, torch.Tensor]:
        if not self._checked:
            self._check(batch)
        return self.model(batch["phonemes"], batch["phoneme_lens"], batch["codes"], batch["code_lens"])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self._losses(batch)
        b = batch["codes"].shape[0]
        for key in LOGGED:
            if key in out:
                self.log(f"train/{key}", out[key].detach(), prog_bar=key in ("loss", "t2s_acc"), batch_size=b)
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        codes = batch["codes"]
        devices = [codes.device] if codes.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the same prompts, masks and dropout at every evaluation
            torch.manual_seed(self.hparams.val_seed + batch_idx)
            out = self._losses(batch)
        b = codes.shape[0]
        for key in LOGGED:
            if key in out:
                self.log(f"val/{key}", out[key], batch_size=b, sync_dist=True)
        self.log("val_loss", out["loss"], batch_size=b, sync_dist=True, logger=False)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("phonemes", "phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        return self._losses(batch)["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        from codec_lm.maskgct import MaskGCTSampling, synthesize

        prompts, texts, targets = self._probe_inputs(batch, n)
        if len(prompts) < 2:
            return [], []
        training = self.model.training
        try:
            out = synthesize(self.model, prompts, texts, targets, MaskGCTSampling(seed=seed, steps=8))
        finally:
            self.model.train(training)
        return self._probe_mels(out), targets
