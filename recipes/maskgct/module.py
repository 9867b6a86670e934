"""``MaskGCTModule``: train :class:`codec_lm.maskgct.model.MaskGCT` (T2S + S2A together) on codec codes.

The codec folder fixes the codes (its ``n_codebooks``, ``codebook_size``,
``frame_rate`` and ``sample_rate`` become the model's), and the phoneme vocabulary
fixes ``vocab_size``; everything else comes from ``model.maskgct`` in the YAML.
With ``model.maskgct.semantic_source: aligner`` the semantic tokenizer folder
(``model.semantic_tokenizer``) fixes ``semantic_clusters`` and ``semantic_hop`` (code
frames per token), the batches carry its stored tokens (``data.semantic: true``, the
manifests of ``tts prepare features --kind semantic``), and the export names it as the
dependency ``semantic`` (synthesis tokenizes the prompt's audio with it). With
``model.maskgct.text_conditioning: aligned`` the batches carry the phone aligner's
durations (``data.durations: true``, manifests made from ``*_aligned`` ones), the model
also trains its duration model (``train/dur_loss``), and the export names the phone
aligner (``model.aligner``) that measures a prompt's durations at synthesis.
Batches are whole utterances from :class:`recipes.data.CodesDataModule`; the model
draws each item's prompt prefix, mask ratio (cosine schedule), masked frames, S2A
codebook and guidance dropout itself, and scores masked frames only.

Logged: ``train/loss`` and its parts ``train/{t2s,s2a}_loss``, top-1 accuracies on
masked frames ``train/{t2s,s2a}_acc``, the same under ``val/`` (the checkpoint
metric is ``val_loss``), computed with a fixed seed so that the validation curve is
comparable across evaluations; and ``val/s2a1_{full_loss,full_acc}``, S2A's first codebook
with its whole target masked (what one-step S2A decoding predicts), under the same seed (a
second pass over each validation batch; with ``s2a_full_mask_prob`` > 0, ``val/loss``
counts such items too, so compare runs by these). EMA weights come from the ``WarmupEMA``
callback in the YAML; they are what the checkpoint's ``state_dict`` and the export hold.

Shapes: B batch, L phonemes, Q codebooks, N frames, S semantic tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from codec_lm.maskgct import MaskGCT, MaskGCTConfig, MaskGCTSampling, synthesize
from tts.semantic import load_semantic_tokenizer

from ..cards import Card, millions
from ..common import RecipeError, aligner_dependency, log_metrics, seeded
from ..export import Exportable
from ..features import CodecRecipe
from ..finetune import init_from_setting
from ..optim import AdamWCosineMixin
from ..probes import CodecProbes, evaluating
from .pairs import join_code_prompts

LOGGED = ("loss", "t2s_loss", "t2s_acc", "s2a_loss", "s2a_acc", "dur_loss")


class MaskGCTModule(CodecProbes, AdamWCosineMixin, CodecRecipe, Exportable, L.LightningModule):
    """Args:
        codec: codec checkpoint folder (MelRVQ) or shipped codec name; the codes of the
            data must come from it (``tts prepare features --kind codes --codec``).
        semantic_tokenizer: ``semantic_source: aligner`` only: the semantic tokenizer
            folder or shipped name whose tokens the data holds (``tts prepare features
            --kind semantic --tokenizer``).
        maskgct: overrides of :class:`codec_lm.maskgct.MaskGCTConfig` (``dim``, ``heads``,
            ``t2s_layers``, ``s2a_layers``, ``ff_mult``, ``dropout``, prompt fractions,
            guidance dropout...).
        learning_rate: peak AdamW learning rate.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        betas: AdamW betas.
        warmup_steps: linear warm-up steps before the cosine decay.
        grad_clip: gradient-norm clipping.
        val_seed: seed of the prompts, masks and dropout drawn for the validation loss.
        init_from: start from these weights (a checkpoint folder, a shipped name, or a
            run's ``.ckpt``) instead of random ones: fine-tuning (``recipes.finetune``).
        aligner: ``text_conditioning: aligned`` only: the phone aligner (folder or shipped
            name) whose durations the data holds; synthesis measures prompts with it.
    """

    family = "maskgct"
    dependency = "codec"

    def __init__(self, codec: str, semantic_tokenizer: str | None = None, maskgct: dict[str, Any] | None = None,
                 learning_rate: float = 5e-4, weight_decay: float = 0.01, betas: tuple[float, float] = (0.9, 0.98),
                 warmup_steps: int = 1000, grad_clip: float | None = 1.0, val_seed: int = 1234,
                 init_from: str | None = None, aligner: str | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.semantic_dir = None
        aligned = (maskgct or {}).get("text_conditioning", "prefix") == "aligned"
        self.aligner_dir = aligner_dependency(aligner, aligned, "model.maskgct.text_conditioning: aligned")
        source = (maskgct or {}).get("semantic_source", "codebook1")
        if source != "aligner":
            if semantic_tokenizer:
                raise RecipeError("model.semantic_tokenizer is read only with model.maskgct.semantic_source: aligner "
                                  f"(this config says {source!r}): remove it or set the source.")
            self._build_on_codec(codec, MaskGCT, MaskGCTConfig, maskgct, section="maskgct")
            return
        if not semantic_tokenizer:
            raise RecipeError("model.maskgct.semantic_source: aligner needs model.semantic_tokenizer (a folder made by "
                              "`tts prepare semantic-tokenizer`, e.g. tiny-semantic).")
        self._build_on_codec(codec, MaskGCT, MaskGCTConfig, maskgct, section="maskgct",
                             more_fixed=lambda loaded: self._use_tokenizer(semantic_tokenizer, loaded),
                             source="the codec, the semantic tokenizer and the vocabulary")

    def setup(self, stage: str) -> None:
        init_from_setting(self, stage)

    def _use_tokenizer(self, name: str, codec) -> dict[str, int]:
        """Check the tokenizer folder now (not after training); its vocabulary and rate fix the model's."""
        tokenizer = load_semantic_tokenizer(name)
        self.semantic_dir = tokenizer.path
        hop = float(codec.frame_rate) / tokenizer.frame_rate
        if abs(hop - round(hop)) > 1e-6 or round(hop) < 1:
            raise RecipeError(f"Semantic tokenizer '{tokenizer.path}' makes {tokenizer.frame_rate:g} tokens/s, which "
                              f"is not a whole number of the codec's {float(codec.frame_rate):g} frames/s: fit it "
                              "with a --pool that divides them (4 for a 93.75 Hz codec).")
        return {"semantic_clusters": int(tokenizer.config.clusters), "semantic_hop": int(round(hop))}

    def export_dependencies(self) -> dict[str, Path]:
        deps = super().export_dependencies()
        if self.semantic_dir is not None:
            deps["semantic"] = self.semantic_dir
        if self.aligner_dir is not None:
            deps["aligner"] = self.aligner_dir
        return deps

    def _check(self, batch: dict) -> None:
        """Fail clearly on the first batch when the data does not fit the model."""
        if "codes" not in batch:
            raise RecipeError("The maskgct recipe needs batches of codec codes (recipes.data.CodesDataModule, "
                              "or TTSDataModule with features: codes); check the data section of the config.")
        self._check_codes(batch["codes"])
        if self.config.semantic_source == "aligner":
            self._check_semantic(batch)
        if self.config.aligned and "durations" not in batch:
            raise RecipeError("model.maskgct.text_conditioning: aligned trains on phone durations: set data.durations: "
                              "true and train on manifests made from the `*_aligned` ones of `tts prepare align` "
                              "(recipes/maskgct/configs/tiny_aligned.yaml does).")
        self._checked = True

    def _check_semantic(self, batch: dict) -> None:
        """Semantic tokens of this tokenizer: one per ``semantic_hop`` code frames, entries below its
        cluster count."""
        if "semantic" not in batch:
            raise RecipeError("model.maskgct.semantic_source: aligner trains on stored semantic tokens: set "
                              "data.semantic: true and train on the manifests of `tts prepare features --kind "
                              "semantic` (recipes/maskgct/configs/tiny_semantic.yaml does).")
        need = self.model.semantic_lengths(batch["code_lens"])
        have, k = batch["semantic_lens"], self.config.semantic_clusters
        if not torch.equal(have, need) or int(batch["semantic"].max()) >= k:
            raise RecipeError(
                f"The semantic tokens in the manifest ({have.tolist()} tokens for {batch['code_lens'].tolist()} code "
                f"frames, largest {int(batch['semantic'].max())}) do not come from tokenizer '{self.semantic_dir}' "
                f"({k} clusters, one token per {self.config.semantic_hop} frames): run `tts prepare features --kind "
                f"semantic --tokenizer {self.semantic_dir}` again, or pass the tokenizer they came from.")

    def _losses(self, batch: dict, **probe) -> dict[str, torch.Tensor]:
        """The model's losses; ``probe``: ``s2a_layer`` / ``s2a_full`` of ``MaskGCT.forward``."""
        if not self._checked:
            self._check(batch)
        if "prompt_batch" in batch:
            return self._prompted_losses(batch, **probe)
        semantic = batch["semantic"] if self.config.semantic_source == "aligner" else None
        durations = batch["durations"] if self.config.aligned else None
        return self.model(batch["phonemes"], batch["phoneme_lens"], batch["codes"], batch["code_lens"], semantic,
                          durations, **probe)

    def _prompted_losses(self, batch: dict, **probe) -> dict[str, torch.Tensor]:
        """Items with a speaker prompt (``data.speaker_prompt_prob``) train as synthesis runs: that
        prompt (whole tokens), then the item; the others keep their random prefix prompts."""
        if not (self.config.aligned and self.config.semantic_source == "aligner"):
            raise RecipeError("data.speaker_prompt_prob needs an aligned MaskGCT over semantic tokens "
                              "(model.maskgct.text_conditioning: aligned, semantic_source: aligner; "
                              "recipes/maskgct/configs/tiny_aligned.yaml).")
        j = join_code_prompts(batch, self.config.semantic_hop)
        return self.model(j.phonemes, j.phoneme_lens, j.codes, j.code_lens, j.semantic, j.durations,
                          prompt_frames=j.prompt_frames, **probe)

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
        if self.model.s2a is not None:
            # S2A's first codebook with nothing of it known on the whole target: what one-step
            # decoding predicts (the cosine-masked val/s2a_acc mostly sees some of it).
            with seeded(self.hparams.val_seed + batch_idx, codes.device):
                full = self._losses(batch, s2a_layer=0, s2a_full=True)
            log_metrics(self, "val", {"s2a1_full_loss": full["s2a_loss"], "s2a1_full_acc": full["s2a_acc"]},
                        ("s2a1_full_loss", "s2a1_full_acc"), codes.shape[0])

    # ------------------------------------------------------------------ probes (recipes.probes.TextProbe)
    text_keys = ("phonemes", "phoneme_lens")

    def probe_loss(self, batch: dict) -> torch.Tensor:
        return self._losses(batch)["loss"]

    def probe_synthesize(self, batch: dict, n: int, seed: int) -> tuple[list[torch.Tensor], list[list[int]]]:
        prompts, texts, targets = self._probe_inputs(batch, n)
        if len(prompts) < 2:
            return [], []
        semantic = durations = None
        if self.config.semantic_source == "aligner":  # each prompt's own tokens, as synthesis computes them
            semantic = [batch["semantic"][i, : batch["semantic_lens"][i]] for i in range(len(prompts))]
        if self.config.aligned:  # aligned texts are boundary-wrapped: the target is the next one's inner part
            durations = [batch["durations"][i, : len(t)] for i, t in enumerate(texts)]
            targets = [t[1:-1] for t in targets]
        with evaluating(self.model):
            out = synthesize(self.model, prompts, texts, targets, MaskGCTSampling(seed=seed, steps=8),
                             prompt_semantic=semantic, prompt_durations=durations)
        return self._probe_mels(out), targets

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg, total, t2s = self.config, millions(self.model), millions(self.model.t2s)
        if cfg.semantic_source == "aligner":
            stages = (f"T2S fills the semantic tokens of `{Path(self.semantic_dir).name}` ({cfg.semantic_clusters} "
                      f"k-means clusters of the phone aligner's speech features, one per {cfg.semantic_hop} code "
                      f"frames) by iterative unmasking, S2A all {cfg.n_codebooks} codebooks")
        else:
            stages = ("T2S fills codebook 1 (standing in for MaskGCT's semantic tokens) by iterative unmasking, S2A "
                      f"codebooks 2..{cfg.n_codebooks}")
        dur = millions(self.model.duration) if cfg.aligned else 0.0
        parts = f"{t2s:.1f} M T2S, {total - t2s - dur:.1f} M S2A" + (f", {dur:.1f} M duration model" if dur else "")
        length = ("each code frame's phoneme goes to both stages, and the target's durations (so its length) come "
                  "from the duration model, in the rhythm of the prompt's as the phone aligner measures them, or "
                  "from a given duration" if cfg.aligned else
                  "the length comes from the prompt's speaking rate or a given duration")
        card = self._codec_card(
            directory, steps, "MaskGCT",
            f"A {total:.1f} M-parameter MaskGCT-style masked generative model ({parts}; {cfg.dim} wide, "
            f"{cfg.t2s_layers} + {cfg.s2a_layers} layers) over {cfg.n_codebooks} x {cfg.codebook_size} codec codes "
            f"at {cfg.frame_rate:g} frames/s, trained with `recipes/maskgct` for {steps} steps. {stages}; {length}; "
            "audio comes from the codec named in model.yaml.")  # the Use snippet: the folder's own option defaults
        if self.semantic_dir is not None:
            card.facts["semantic tokenizer"] = self.semantic_dir
        if cfg.aligned:
            card.facts["text"] = ("aligned: each code frame's phoneme in both stages (phone aligner durations in "
                                  "training, the duration model's at synthesis)")
            card.facts["phone aligner"] = self.hparams.aligner  # as given (a shipped name stays a name)
        return card
