"""``VallEModule``: train :class:`codec_lm.valle.model.VallE` (AR + NAR together) on codec codes.

The codec folder fixes the codes (its ``n_codebooks``, ``codebook_size``,
``frame_rate`` and ``sample_rate`` become the model's), and the phoneme vocabulary
fixes ``vocab_size``; everything else comes from ``model.valle`` in the YAML.
Batches come from :class:`recipes.valle.data.VallEDataModule`, which splits each
utterance into a prompt and a target (or takes the prompt from another utterance
of the speaker); only target tokens and EOS are scored.

With ``model.valle.alignment: monotonic`` (VALL-E R) the batches carry phone durations
(``data.alignment: monotonic`` on ``*_aligned`` code manifests), the AR also learns to
stay on a phoneme or move to the next, and ``model.aligner`` names the phone aligner
that synthesis measures a prompt's durations with (it becomes a dependency of the
exported folder, as for the aligned flow model).

Logged: ``train/loss`` and its parts ``train/{ar,nar}_loss`` (monotonic: and
``train/advance_loss``, with ``train/advance_acc``), top-1 and top-10 accuracies
``train/{ar,nar}_{acc,top10}``, the same under ``val/`` (the checkpoint
metric is ``val_loss``), computed with a fixed seed for the NAR stages so that the
validation curve is comparable across evaluations. EMA weights come from the
``WarmupEMA`` callback in the YAML; they are what the checkpoint's ``state_dict``
and the export hold.

Shapes: B batch, L phonemes, Q codebooks, P prompt frames, T target frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from codec_lm.valle import VallE, VallEConfig, VallESampling, synthesize

from ..cards import Card, millions
from ..common import RecipeError, aligner_dependency, log_metrics
from ..export import Exportable
from ..features import CodecRecipe
from ..finetune import init_from_setting
from ..optim import AdamWCosineMixin
from ..probes import CodecProbes, evaluating

LOGGED = ("loss", "ar_loss", "ar_acc", "ar_top10", "advance_loss", "advance_acc", "nar_loss", "nar_acc", "nar_top10")


class VallEModule(CodecProbes, AdamWCosineMixin, CodecRecipe, Exportable, L.LightningModule):
    """Args:
        codec: codec checkpoint folder (MelRVQ) or shipped codec name; the codes of the
            data must come from it (``tts prepare features --kind codes --codec``).
        valle: overrides of :class:`codec_lm.valle.VallEConfig` (``dim``, ``heads``,
            ``ar_layers``, ``nar_layers``, ``ff_mult``, ``dropout``, ``separator_id``,
            ``alignment``, ``group_size``).
        aligner: the phone aligner (checkpoint folder or shipped name) a monotonic model
            measures prompts with at synthesis; required when ``alignment`` is ``monotonic``.
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the NAR stages drawn for the validation loss.
        init_from: start from these weights (a checkpoint folder, a shipped name, or a
            run's ``.ckpt``) instead of random ones: fine-tuning (``recipes.finetune``).
        train_parts: ``"all"`` (AR and NAR), or ``"nar"``: the AR is frozen and not run, and
            the loss is the NAR's alone (a new NAR for the AR of ``init_from``; the AR's
            validation metrics are then absent).
    """

    family = "valle"
    dependency = "codec"

    def __init__(self, codec: str, valle: dict[str, Any] | None = None, learning_rate: float = 5e-4,
                 weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.95), warmup_steps: int = 1000,
                 grad_clip: float | None = 1.0, val_seed: int = 1234, aligner: str | None = None,
                 init_from: str | None = None, train_parts: str = "all"):
        super().__init__()
        if train_parts not in ("all", "nar"):
            raise RecipeError(f"model.train_parts must be 'all' or 'nar', got {train_parts!r}")
        self.save_hyperparameters()
        self._build_on_codec(codec, VallE, VallEConfig, valle, section="valle")
        if train_parts == "nar":
            if self.model.nar is None:
                raise RecipeError("model.train_parts: nar needs a codec with more than one codebook (a NAR model).")
            self.model.ar.requires_grad_(False)
        self.aligner_dir = aligner_dependency(aligner, self.config.monotonic, "model.valle.alignment: monotonic")

    def export_dependencies(self):
        deps = super().export_dependencies()
        return {**deps, "aligner": self.aligner_dir} if self.aligner_dir is not None else deps

    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        sep = getattr(dm, "separator_id", None)
        if sep is not None and sep != self.config.separator_id:
            raise RecipeError(f"data.separator_id ({sep}) differs from model.valle.separator_id "
                              f"({self.config.separator_id}): set both to the same phoneme id.")
        for key in ("alignment", "group_size"):
            value = getattr(dm, key, None)
            if value is not None and value != getattr(self.config, key):
                raise RecipeError(f"data.{key} ({value}) differs from model.valle.{key} "
                                  f"({getattr(self.config, key)}): set both to the same value.")
        init_from_setting(self, stage)

    def _check(self, batch: dict) -> None:
        """Fail clearly on the first batch when the data does not fit the model."""
        if "target_codes" not in batch:
            raise RecipeError("The valle recipe needs batches from recipes.valle.data.VallEDataModule "
                              "(prompt/target split of codec codes); check the data section of the config.")
        for key in ("prompt_codes", "target_codes"):
            self._check_codes(batch[key])
        self._checked = True

    def _losses(self, batch: dict, stage: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if not self._checked:
            self._check(batch)
        aligned = {}
        if self.config.monotonic:
            if "lm_durations" not in batch:
                raise RecipeError("A monotonic VALL-E trains on phone alignments: set data.alignment: monotonic "
                                  "and train on the codes of the *_aligned manifests of `tts prepare align`.")
            aligned = {"durations": batch["lm_durations"], "prompt_phoneme_lens": batch["lm_prompt_phoneme_lens"]}
        return self.model(batch["lm_phonemes"], batch["lm_phoneme_lens"], batch["prompt_codes"],
                          batch["prompt_lens"], batch["target_codes"], batch["target_lens"], stage, **aligned,
                          parts=self.hparams.train_parts)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        out = self._losses(batch)
        log_metrics(self, "train", out, LOGGED, batch["target_codes"].shape[0], prog_bar=("loss", "ar_top10"))
        return out["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        codes = batch["target_codes"]
        b, q = codes.shape[0], self.config.n_codebooks
        stage = None
        if q > 1:  # the same NAR stages at every evaluation
            gen = torch.Generator().manual_seed(self.hparams.val_seed + batch_idx)
            stage = torch.randint(1, q, (b,), generator=gen).to(codes.device)
        out = self._losses(batch, stage)
        log_metrics(self, "val", out, LOGGED, b)
        self.log("val_loss", out["loss"], batch_size=b, sync_dist=True, logger=False)

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("lm_phonemes", "lm_phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        b, q = batch["target_codes"].shape[0], self.config.n_codebooks
        stage = torch.randint(1, q, (b,)).to(batch["target_codes"].device) if q > 1 else None
        return self._losses(batch, stage)["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        prompts, texts, targets = self._probe_inputs(batch, n)
        if len(prompts) < 2:
            return [], []
        durations = None
        if self.config.monotonic:  # aligned texts are boundary-wrapped: the target is the next one's inner part
            durations = [batch["durations"][i, : len(t)] for i, t in enumerate(texts)]
            targets = [t[1:-1] for t in targets]
        with evaluating(self.model):
            out = synthesize(self.model, prompts, texts, targets, VallESampling(seed=seed), prompt_durations=durations)
        return self._probe_mels([g.codes for g in out]), targets

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg, total, ar = self.config, millions(self.model), millions(self.model.ar)
        return self._codec_card(
            directory, steps, "VALL-E",
            f"A {total:.1f} M-parameter VALL-E ({ar:.1f} M AR, {total - ar:.1f} M NAR; {cfg.dim} wide, "
            f"{cfg.ar_layers} + {cfg.nar_layers} layers) over {cfg.n_codebooks} x {cfg.codebook_size} codec codes at "
            f"{cfg.frame_rate:g} frames/s, trained with `recipes/valle` for {steps} steps. The AR model writes "
            f"codebook 1 with a KV cache, the NAR model codebooks 2..{cfg.n_codebooks}; audio comes from the codec "
            "named in model.yaml." + (
                f" Monotonic phone alignment (VALL-E R): {cfg.group_size} frames per AR step "
                f"({cfg.steps_per_second:g} steps per second of audio), a phoneme pointer that stays or moves on "
                "by one, prompt durations from the phone aligner named in model.yaml." if cfg.monotonic else ""))
