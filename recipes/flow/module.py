"""``FlowModule``: train :class:`flow.model.FlowTTS` on Vocos log-mels of a prepared corpus.

The vocoder folder fixes the features (its mel settings become ``mel_dim``,
``sample_rate`` and ``hop_length`` of the model), and the phoneme vocabulary fixes
``vocab_size``; everything else comes from ``model.flow`` in the YAML. Batches come
from :class:`recipes.data.TTSDataModule` with ``features: audio`` (mels computed
here, on the training device) or ``features: mel`` (from ``tts prepare features``).

Logged: ``train/loss`` and, on validation, ``val/loss`` (the checkpoint metric
``val_loss``), computed with a fixed seed so that its curve is comparable across
evaluations. EMA weights come from Lightning's ``EMAWeightAveraging`` callback in the
YAML; they are what the checkpoint's ``state_dict`` and the export hold.

Shapes: B batch, T samples, C mel bins, N frames, L phonemes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightning as L
import torch

from ..common import AdamWCosineMixin, RecipeError


class FlowModule(AdamWCosineMixin, L.LightningModule):
    """Args:
        vocoder: Vocos mel folder (official layout) or shipped vocoder name.
        flow: overrides of :class:`flow.FlowConfig` (``dim``, ``depth``, ``heads``...).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the noise, times and masks of the validation loss.
    """

    def __init__(self, vocoder: str, flow: dict[str, Any] | None = None, learning_rate: float = 7.5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.99), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234):
        super().__init__()
        from flow import FlowConfig, FlowTTS
        from text_frontend import PhonemeVocab
        from tts.vocoder import Vocoder

        self.save_hyperparameters()
        voc = Vocoder.from_pretrained(vocoder, kind="mel")
        self.vocoder_dir = voc.path
        self.vocab = PhonemeVocab.default()
        fixed = {"mel_dim": voc.n_mels, "sample_rate": voc.sample_rate, "hop_length": voc.hop_length,
                 "vocab_size": len(self.vocab)}
        overrides = dict(flow or {})
        known = {f.name for f in dataclasses.fields(FlowConfig)} - set(fixed)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RecipeError(f"Unknown flow settings {unknown} in model.flow; known: {', '.join(sorted(known))}.")
        try:
            self.config = FlowConfig(**overrides, **fixed)
        except ValueError as err:
            raise RecipeError(f"Invalid model.flow: {err}") from err
        self.model = FlowTTS(self.config)
        self.features = voc.model.feature_extractor.requires_grad_(False)

    @torch.no_grad()
    def _mels(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, N]`` log-mels and ``[B]`` frame counts, from stored mels or from audio."""
        if "mel" in batch:
            return batch["mel"], batch["mel_lens"]
        if "audio" not in batch:
            raise RecipeError("The flow recipe needs batches with 'audio' or 'mel' (data.features: audio or mel).")
        with torch.autocast(device_type=batch["audio"].device.type, enabled=False):
            mel = self.features(batch["audio"].float())
        hop = self.config.hop_length
        lens = (batch["audio_lens"] // hop + 1).clamp(max=mel.shape[-1])  # Vocos pads "center": T // hop + 1
        return mel, lens

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        mel, lens = self._mels(batch)
        out = self.model(mel, lens, batch["phonemes"])
        self.log("train/loss", out["loss"].detach(), prog_bar=True, batch_size=mel.shape[0])
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        mel, lens = self._mels(batch)
        devices = [mel.device] if mel.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.hparams.val_seed + batch_idx)
            out = self.model(mel, lens, batch["phonemes"])
        self.log("val/loss", out["loss"], batch_size=mel.shape[0], sync_dist=True)
        self.log("val_loss", out["loss"], batch_size=mel.shape[0], sync_dist=True, logger=False)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("phonemes", "phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        mel, lens = self._mels(batch)
        return self.model(mel, lens, batch["phonemes"])["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        """Item ``i``'s audio as the prompt, item ``i + 1``'s transcript as the text (8 Euler steps)."""
        from flow import FlowSampling, synthesize

        mel, lens = self._mels(batch)
        k = min(n, mel.shape[0])
        if k < 2:
            return [], []
        prompts = [mel[i, :, : lens[i]] for i in range(k)]
        texts = [batch["phonemes"][i, : batch["phoneme_lens"][i]] for i in range(k)]
        targets = [texts[(i + 1) % k] for i in range(k)]
        training = self.model.training
        try:
            out = synthesize(self.model, prompts, texts, targets, FlowSampling(nfe=8, seed=seed))
        finally:
            self.model.train(training)
        return out, [t.tolist() for t in targets]
