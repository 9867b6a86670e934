"""``MelRVQModule``: train :class:`codec_lm.codecs.MelRVQ` on the log-mels of a Vocos vocoder.

The vocoder folder is fixed (its mel settings become the codec's); only the
quantizer's encoder/decoder learn by gradient, the codebooks by EMA with k-means
initialisation and dead-code replacement. Logged: ``train/loss``, ``train/recon_l1``
(log-mel L1), ``train/commit``, and on validation ``val/recon_l1`` (the checkpoint
metric ``val_loss``) and ``val/codebook_usage`` (fraction of codes used, averaged
over codebooks).

``phone_weight > 0`` (with ``--data.phones true`` on aligned manifests) adds a linear
phoneme classifier on the first codebook's vectors, trained with the encoder through
the straight-through gradient (the distillation idea of SpeechTokenizer, with aligned
phonemes as the teacher): the codebook an AR model writes then carries what is said,
and the later ones more of how. Logged: ``train/phone_ce``, ``{train,val}/phone_acc``.
The classifier is not exported.

Shapes: ``B`` batch, ``T`` samples, ``M`` mel bins, ``N`` frames, ``Q`` codebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from codec_lm.codecs import MelRVQ, MelRVQConfig
from text_frontend import PhonemeVocab
from tts.codecs import save_melrvq

from ..cards import Card
from ..common import RecipeError, merged_config
from ..crops import IGNORE
from ..export import Exportable
from ..features import MelRecipe
from ..optim import AdamWCosineMixin


class MelRVQModule(AdamWCosineMixin, MelRecipe, Exportable, L.LightningModule):
    """Args:
        vocoder: Vocos mel folder (official layout) or shipped vocoder name.
        codec: overrides of :class:`codec_lm.codecs.MelRVQConfig` (``n_codebooks``,
            ``codebook_size``, ``dim``...); ``n_mels``/``sample_rate``/``hop_length``
            come from the vocoder.
        learning_rate: peak AdamW LR of the encoder/decoder.
        weight_decay: AdamW weight decay (on weight matrices only, see ``recipes.optim``).
        warmup_steps: linear warm-up steps.
        grad_clip: gradient-norm clipping (applied by the Trainer).
        phone_weight: weight of the first codebook's phoneme cross-entropy (0: off).
    """

    family = "melrvq"
    dependency = "vocoder"
    # float16 storage rounds the codebooks, so a few near-tie frames pick the neighbouring code;
    # the decoded mels barely move (docs/architecture.md, "Checkpoint folder", has the figures).
    half_storage = True

    def __init__(self, vocoder: str, codec: dict[str, Any] | None = None, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, warmup_steps: int = 100, grad_clip: float | None = 1.0,
                 phone_weight: float = 0.0):
        super().__init__()
        self.save_hyperparameters()
        voc = self._use_vocoder(vocoder)
        fixed = {"n_mels": voc.n_mels, "sample_rate": voc.sample_rate, "hop_length": voc.hop_length}
        self.config = merged_config(MelRVQConfig, codec, fixed, section="codec", label="MelRVQ", source="the vocoder")
        self.model = MelRVQ(self.config)
        if phone_weight < 0:
            raise RecipeError(f"model.phone_weight must be >= 0 (0: off), got {phone_weight}.")
        if phone_weight > 0:
            self.phone_head = torch.nn.Linear(self.config.dim, len(PhonemeVocab.default()))

    def optimized(self) -> torch.nn.Module:
        return torch.nn.ModuleList([self.model, self.phone_head]) if self.hparams.phone_weight > 0 else self.model

    def _split(self, batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``audio [B, T]`` or ``(audio, frame phoneme ids [B, N'])`` -> both (labels None if absent)."""
        audio, labels = batch if isinstance(batch, (list, tuple)) else (batch, None)
        if self.hparams.phone_weight > 0 and labels is None:
            raise RecipeError("model.phone_weight > 0 needs phoneme labels: add --data.phones true and train on "
                              "aligned manifests (--data.train_split train_aligned --data.val_split dev_aligned).")
        return audio, labels

    def _phones(self, first: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy and accuracy of the phoneme classifier on ``first [B, N, D]``."""
        if abs(first.shape[1] - labels.shape[1]) > 1:
            raise RecipeError(f"{labels.shape[1]} phoneme labels for {first.shape[1]} mel frames: set "
                              f"--data.hop_length to the vocoder's hop ({self.config.hop_length}).")
        n = min(first.shape[1], labels.shape[1])  # the mel may drop the last partial frame
        logits, labels = self.phone_head(first[:, :n]), labels[:, :n]
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE)
        known = labels != IGNORE
        acc = (logits.argmax(-1) == labels)[known].float().mean() if known.any() else ce.new_zeros(())
        return ce, acc.detach()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        audio, labels = self._split(batch)
        out = self.model(self._audio_mels(audio))
        loss = out["loss"]
        logs = {"train/recon_l1": out["recon_l1"], "train/recon_mse": out["recon_mse"], "train/commit": out["commit"]}
        if self.hparams.phone_weight > 0:
            ce, acc = self._phones(out["first"], labels)
            loss = loss + self.hparams.phone_weight * ce
            logs.update({"train/phone_ce": ce.detach(), "train/phone_acc": acc})
        self.log_dict({"train/loss": loss.detach(), **logs}, prog_bar=True, batch_size=audio.shape[0])
        return loss

    def on_validation_epoch_start(self) -> None:
        self._used = torch.zeros(self.config.n_codebooks, self.config.codebook_size, dtype=torch.bool,
                                 device=self.device)

    def validation_step(self, batch, batch_idx: int) -> None:
        audio, labels = self._split(batch)
        mel = self._audio_mels(audio)
        codes = self.model.encode(mel)  # eval path: no EMA update from validation data
        mel_hat = self.model.decode(codes)
        recon = torch.nn.functional.l1_loss(mel_hat, mel)
        for q in range(codes.shape[1]):
            self._used[q, codes[:, q].flatten()] = True
        self.log("val/recon_l1", recon, sync_dist=True, batch_size=audio.shape[0])
        self.log("val_loss", recon, sync_dist=True, batch_size=audio.shape[0], prog_bar=True)
        if self.hparams.phone_weight > 0:
            first = torch.nn.functional.embedding(codes[:, 0], self.model.rvq.codebooks[0])
            self.log("val/phone_acc", self._phones(first, labels)[1], sync_dist=True, batch_size=audio.shape[0])

    def on_validation_epoch_end(self) -> None:
        self.log("val/codebook_usage", self._used.float().mean(-1).mean(), sync_dist=True)

    def export_card(self, directory: Path, steps: int) -> Card:
        cfg = self.config
        return Card(
            title=f"MelRVQ codec ({directory.name})",
            summary=f"A residual VQ over Vocos log-mels: {cfg.n_codebooks} codebooks x {cfg.codebook_size} at "
                    f"{cfg.frame_rate:g} frames/s ({cfg.bitrate / 1000:.1f} kbps), trained with `recipes/melrvq` "
                    f"for {steps} steps. It decodes through the vocoder named in model.yaml.",
            usage=f'from tts.codecs import load_codec\ncodec = load_codec("{directory}")\n'
                  "wav_hat = codec.decode(codec.encode(wav))",
            facts={"vocoder": self.vocoder_dir, "steps": steps})

    def write_export(self, directory: Path, *, card: str, training: dict, overwrite: bool,
                     dtype: str | None) -> Path:
        return save_melrvq(directory, self.model, self.vocoder_dir, card=card, overwrite=overwrite,
                           meta={"training": training}, dtype=dtype)
