"""``FlowModule``: train :class:`flow.model.FlowTTS` on Vocos log-mels of a prepared corpus.

The vocoder folder fixes the features (its mel settings become ``mel_dim``,
``sample_rate`` and ``hop_length`` of the model), and the phoneme vocabulary fixes
``vocab_size``; everything else comes from ``model.flow`` in the YAML. Batches come
from :class:`recipes.data.TTSDataModule` with ``features: audio`` (mels computed
here, on the training device) or ``features: mel`` (from ``tts prepare features``).

With ``model.flow.text_conditioning: aligned`` (Voicebox style) the batches must carry
phone alignments (``data.durations: true`` on ``*_aligned`` manifests from
``tts prepare align``), the duration model trains alongside, and ``model.aligner``
names the phone aligner that synthesis uses to measure a prompt's durations (it
becomes a dependency of the exported folder).

Logged: ``train/loss`` (``train/flow_loss``, ``train/duration_loss`` when aligned) and, on
validation, the same under ``val/`` (``val/loss`` is the checkpoint metric
``val_loss``), computed with a fixed seed so that its curve is comparable across
evaluations. EMA weights come from the ``WarmupEMA`` callback in the YAML; they are
what the checkpoint's ``state_dict`` and the export hold.

Shapes: B batch, T samples, C mel bins, N frames, L phonemes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from flow import FlowConfig, FlowSampling, FlowTTS, synthesize
from text_frontend import PhonemeVocab

from ..augment import random_warp_factors, warp_mels
from ..cards import Card, millions, synthesizer_usage
from ..common import RecipeError, aligner_dependency, merged_config, seeded
from ..export import Exportable
from ..features import MelRecipe
from ..finetune import init_from_setting
from ..optim import AdamWCosineMixin
from ..probes import evaluating
from .pairs import join_prompts


class FlowModule(AdamWCosineMixin, MelRecipe, Exportable, L.LightningModule):
    """Args:
        vocoder: Vocos mel folder (official layout) or shipped vocoder name.
        flow: overrides of :class:`flow.FlowConfig` (``dim``, ``depth``, ``text_conditioning``...).
        aligner: the phone aligner (checkpoint folder or shipped name) an aligned model
            measures prompts with; required when ``text_conditioning`` is ``aligned``.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the noise, times and masks of the validation loss.
        init_from: start from these weights (a checkpoint folder, a shipped name such as
            ``tiny-flow``, or a run's ``.ckpt``) instead of random ones: fine-tuning
            (``recipes.finetune``). The config in ``model.flow`` must be theirs.
        mel_warp: training items' mel frequency axes are scaled by a factor drawn
            log-uniformly from ``[1 / (1 + mel_warp), 1 + mel_warp]`` (VTLP,
            ``recipes.augment``): more voices from the same corpus. 0 = off.
        mel_warp_prob: the share of training items that are warped.
    """

    family = "flow"
    dependency = "vocoder"

    def __init__(self, vocoder: str, flow: dict[str, Any] | None = None, learning_rate: float = 7.5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.99), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234, aligner: str | None = None,
                 init_from: str | None = None, mel_warp: float = 0.0, mel_warp_prob: float = 0.5):
        super().__init__()
        self.save_hyperparameters()
        voc = self._use_vocoder(vocoder)
        self.vocab = PhonemeVocab.default()
        fixed = {"mel_dim": voc.n_mels, "sample_rate": voc.sample_rate, "hop_length": voc.hop_length,
                 "vocab_size": len(self.vocab)}
        self.config = merged_config(FlowConfig, flow, fixed, section="flow", label="flow",
                                    source="the vocoder and the vocabulary")
        self.model = FlowTTS(self.config)
        self.aligner_dir = aligner_dependency(aligner, self.model.aligned, "model.flow.text_conditioning: aligned")
        if not (mel_warp >= 0 and 0 <= mel_warp_prob <= 1):
            raise RecipeError(f"model.mel_warp must be >= 0 and model.mel_warp_prob in [0, 1] (got {mel_warp}, "
                              f"{mel_warp_prob}): e.g. mel_warp: 0.2, mel_warp_prob: 0.5.")

    def setup(self, stage: str) -> None:
        init_from_setting(self, stage)

    def export_dependencies(self):
        deps = super().export_dependencies()
        return {**deps, "aligner": self.aligner_dir} if self.aligner_dir is not None else deps

    def _losses(self, batch: dict, augment: bool = False) -> dict[str, torch.Tensor]:
        mel, lens = self._mels(batch)
        if augment and self.hparams.mel_warp > 0:
            factors = random_warp_factors(mel.shape[0], self.hparams.mel_warp, self.hparams.mel_warp_prob)
            mel = warp_mels(mel, factors, self.config.sample_rate)
        if self.model.aligned and "durations" not in batch:
            raise RecipeError("An aligned flow model trains on phone alignments: set data.durations: true and "
                              "train on the *_aligned manifests of `tts prepare align`.")
        if "prompt_batch" in batch:
            return self._prompted_losses(batch, mel, lens)
        return self.model(mel, lens, batch["phonemes"], batch["phoneme_lens"], batch.get("durations"))

    def _prompted_losses(self, batch: dict, mel: torch.Tensor, lens: torch.Tensor) -> dict[str, torch.Tensor]:
        """Items with a speaker prompt (``recipes.flow.data``) are trained as synthesis runs: that
        prompt, then the whole item to predict; the others keep the random spans."""
        if not self.model.aligned:
            raise RecipeError("data.speaker_prompt_prob needs model.flow.text_conditioning: aligned.")
        if self.hparams.mel_warp > 0:  # the prompt would keep its voice while its target's is warped
            raise RecipeError("data.speaker_prompt_prob and model.mel_warp do not go together: set one of them to 0.")
        prompts = batch["prompt_batch"]
        pmel, plens = self._mels(prompts)
        j = join_prompts(mel, lens, batch["phonemes"], batch["phoneme_lens"], batch["durations"],
                         batch["prompt_index"], pmel, plens, prompts["phonemes"], prompts["phoneme_lens"],
                         prompts["durations"])
        infill = torch.where(j.paired[:, None], j.infill, self.model.infill_mask(j.lens, j.mel.shape[-1]))
        spans = self.model.duration.span_mask(j.phoneme_lens, j.phonemes.shape[1])
        duration_mask = torch.where(j.paired[:, None], j.duration_mask, spans)
        return self.model(j.mel, j.lens, j.phonemes, j.phoneme_lens, j.durations, infill=infill,
                          duration_mask=duration_mask)

    def _mels(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, C, N]`` log-mels and ``[B]`` frame counts, from stored mels or from audio."""
        if "mel" in batch:
            return batch["mel"], batch["mel_lens"]
        if "audio" not in batch:
            raise RecipeError("The flow recipe needs batches with 'audio' or 'mel' (data.features: audio or mel).")
        mel = self._audio_mels(batch["audio"])
        hop = self.config.hop_length
        lens = (batch["audio_lens"] // hop + 1).clamp(max=mel.shape[-1])  # Vocos pads "center": T // hop + 1
        return mel, lens

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self._losses(batch, augment=True)
        b = batch["phonemes"].shape[0]
        self.log("train/loss", out["loss"].detach(), prog_bar=True, batch_size=b)
        for key in ("flow_loss", "duration_loss"):
            if key in out and self.model.aligned:
                self.log(f"train/{key}", out[key].detach(), batch_size=b)
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        b = batch["phonemes"].shape[0]
        with seeded(self.hparams.val_seed + batch_idx, batch["phonemes"].device):
            out = self._losses(batch)
        self.log("val/loss", out["loss"], batch_size=b, sync_dist=True)
        self.log("val_loss", out["loss"], batch_size=b, sync_dist=True, logger=False)
        for key in ("flow_loss", "duration_loss"):
            if key in out and self.model.aligned:
                self.log(f"val/{key}", out[key], batch_size=b, sync_dist=True)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("phonemes", "phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        # The flow loss only: with the text rolled, the duration model would be scored on
        # another item's durations, which says nothing about reading the text.
        return self._losses(batch)["flow_loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        """Item ``i``'s audio as the prompt, item ``i + 1``'s transcript as the text (8 Euler steps)."""
        mel, lens = self._mels(batch)
        k = min(n, mel.shape[0])
        if k < 2:
            return [], []
        prompts = [mel[i, :, : lens[i]] for i in range(k)]
        texts = [batch["phonemes"][i, : batch["phoneme_lens"][i]] for i in range(k)]
        durations = None
        if self.model.aligned:  # the texts are boundary-wrapped: the target is the next one's inner part
            durations = [batch["durations"][i, : batch["phoneme_lens"][i]] for i in range(k)]
            targets = [texts[(i + 1) % k][1:-1] for i in range(k)]
        else:
            targets = [texts[(i + 1) % k] for i in range(k)]
        with evaluating(self.model):
            out = synthesize(self.model, prompts, texts, targets, FlowSampling(nfe=8, seed=seed),
                             prompt_durations=durations)
        return out, [t.tolist() for t in targets]

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg = self.config
        if cfg.text_conditioning == "aligned":
            style = ("Voicebox style: phonemes repeated by the phone aligner's durations, with a "
                     f"{millions(self.model.duration):.1f} M-parameter duration model")
        else:
            style = "F5-TTS style: phonemes padded with a filler, alignment learned implicitly"
        facts = {"vocoder": self.vocoder_dir, "steps": steps}
        if cfg.text_conditioning == "aligned":
            facts["aligner"] = self.hparams.aligner
        return Card(
            title=f"Flow-matching TTS ({directory.name})",
            summary=f"A {millions(self.model):.1f} M-parameter DiT flow-matching model ({style}) over "
                    f"{cfg.mel_dim}-bin Vocos log-mels at {cfg.frame_rate:g} frames/s, trained with `recipes/flow` "
                    f"for {steps} steps. It decodes through the vocoder named in model.yaml.",
            usage=synthesizer_usage(directory),
            facts=facts)
