"""``VallEModule``: train :class:`codec_lm.valle.model.VallE` (AR + NAR together) on codec codes.

The codec folder fixes the codes (its ``n_codebooks``, ``codebook_size``,
``frame_rate`` and ``sample_rate`` become the model's), and the phoneme vocabulary
fixes ``vocab_size``; everything else comes from ``model.valle`` in the YAML.
Batches come from :class:`recipes.valle.data.VallEDataModule`, which splits each
utterance into a prompt and a target (or takes the prompt from another utterance
of the speaker); only target tokens and EOS are scored.

Logged: ``train/loss`` and its parts ``train/{ar,nar}_loss``, top-1 and top-10
accuracies ``train/{ar,nar}_{acc,top10}``, the same under ``val/`` (the checkpoint
metric is ``val_loss``), computed with a fixed seed for the NAR stages so that the
validation curve is comparable across evaluations. EMA weights come from the
``WarmupEMA`` callback in the YAML; they are what the checkpoint's ``state_dict``
and the export hold.

Shapes: B batch, L phonemes, Q codebooks, P prompt frames, T target frames.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightning as L
import torch

from ..common import AdamWCosineMixin, RecipeError
from ..probes import CodecProbes

LOGGED = ("loss", "ar_loss", "ar_acc", "ar_top10", "nar_loss", "nar_acc", "nar_top10")


class VallEModule(CodecProbes, AdamWCosineMixin, L.LightningModule):
    """Args:
        codec: codec checkpoint folder (MelRVQ) or shipped codec name; the codes of the
            data must come from it (``tts prepare features --kind codes --codec``).
        valle: overrides of :class:`codec_lm.valle.VallEConfig` (``dim``, ``heads``,
            ``ar_layers``, ``nar_layers``, ``ff_mult``, ``dropout``, ``separator_id``).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the NAR stages drawn for the validation loss.
    """

    def __init__(self, codec: str, valle: dict[str, Any] | None = None, learning_rate: float = 5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.95), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234):
        super().__init__()
        from codec_lm.valle import VallE, VallEConfig
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
        overrides = dict(valle or {})
        known = {f.name for f in dataclasses.fields(VallEConfig)} - set(fixed)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RecipeError(f"Unknown valle settings {unknown} in model.valle; known: {', '.join(sorted(known))}. "
                              f"({', '.join(sorted(fixed))} come from the codec and the vocabulary.)")
        try:
            self.config = VallEConfig(**overrides, **fixed)
        except ValueError as err:
            raise RecipeError(f"Invalid model.valle: {err}") from err
        self.model = VallE(self.config)
        self._checked = False

    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        sep = getattr(dm, "separator_id", None)
        if sep is not None and sep != self.config.separator_id:
            raise RecipeError(f"data.separator_id ({sep}) differs from model.valle.separator_id "
                              f"({self.config.separator_id}): set both to the same phoneme id.")

    def _check(self, batch: dict) -> None:
        """Fail clearly on the first batch when the data does not fit the model."""
        if "target_codes" not in batch:
            raise RecipeError("The valle recipe needs batches from recipes.valle.data.VallEDataModule "
                              "(prompt/target split of codec codes); check the data section of the config.")
        q, k = self.config.n_codebooks, self.config.codebook_size
        for key in ("prompt_codes", "target_codes"):
            codes = batch[key]
            if codes.shape[1] != q or int(codes.max()) >= k:
                raise RecipeError(
                    f"The codes in the manifest ({codes.shape[1]} codebooks, largest {int(codes.max())}) do not come "
                    f"from codec '{self.codec_dir}' ({q} x {k}): run `tts prepare features --kind codes --codec "
                    f"{self.codec_dir}` again, or pass the codec they came from as model.codec.")
        self._checked = True

    def _losses(self, batch: dict, stage: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if not self._checked:
            self._check(batch)
        return self.model(batch["lm_phonemes"], batch["lm_phoneme_lens"], batch["prompt_codes"],
                          batch["prompt_lens"], batch["target_codes"], batch["target_lens"], stage)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self._losses(batch)
        b = batch["target_codes"].shape[0]
        for key in LOGGED:
            if key in out:
                self.log(f"train/{key}", out[key].detach(), prog_bar=key in ("loss", "ar_top10"), batch_size=b)
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        codes = batch["target_codes"]
        b, q = codes.shape[0], self.config.n_codebooks
        stage = None
        if q > 1:  # the same NAR stages at every evaluation
            gen = torch.Generator().manual_seed(self.hparams.val_seed + batch_idx)
            stage = torch.randint(1, q, (b,), generator=gen).to(codes.device)
        out = self._losses(batch, stage)
        for key in LOGGED:
            if key in out:
                self.log(f"val/{key}", out[key], batch_size=b, sync_dist=True)
        self.log("val_loss", out["loss"], batch_size=b, sync_dist=True, logger=False)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("lm_phonemes", "lm_phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        b, q = batch["target_codes"].shape[0], self.config.n_codebooks
        stage = torch.randint(1, q, (b,)).to(batch["target_codes"].device) if q > 1 else None
        return self._losses(batch, stage)["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        from codec_lm.valle import VallESampling, synthesize

        prompts, texts, targets = self._probe_inputs(batch, n)
        if len(prompts) < 2:
            return [], []
        training = self.model.training
        try:
            out = synthesize(self.model, prompts, texts, targets, VallESampling(seed=seed))
        finally:
            self.model.train(training)
        return self._probe_mels([g.codes for g in out]), targets
