"""``MelRVQModule``: train :class:`codec_lm.codecs.MelRVQ` on the log-mels of a Vocos vocoder.

The vocoder folder is fixed (its mel settings become the codec's); only the
quantizer's encoder/decoder learn by gradient, the codebooks by EMA with k-means
initialisation and dead-code replacement. Logged: ``train/loss``, ``train/recon_l1``
(log-mel L1), ``train/commit``, and on validation ``val/recon_l1`` (the checkpoint
metric ``val_loss``) and ``val/codebook_usage`` (fraction of codes used, averaged
over codebooks).

Shapes: ``B`` batch, ``T`` samples, ``M`` mel bins, ``N`` frames, ``Q`` codebooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from ..common import merged_config
from ..cards import Card
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
    """

    family = "melrvq"
    dependency = "vocoder"
    half_storage = False  # codebooks need full precision

    def __init__(self, vocoder: str, codec: dict[str, Any] | None = None, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, warmup_steps: int = 100, grad_clip: float | None = 1.0):
        super().__init__()
        from codec_lm.codecs import MelRVQ, MelRVQConfig

        self.save_hyperparameters()
        voc = self._use_vocoder(vocoder)
        fixed = {"n_mels": voc.n_mels, "sample_rate": voc.sample_rate, "hop_length": voc.hop_length}
        self.config = merged_config(MelRVQConfig, codec, fixed, section="codec", label="MelRVQ", source="the vocoder")
        self.model = MelRVQ(self.config)

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        out = self.model(self._audio_mels(batch))
        self.log_dict({"train/loss": out["loss"].detach(), "train/recon_l1": out["recon_l1"],
                       "train/recon_mse": out["recon_mse"], "train/commit": out["commit"]},
                      prog_bar=True, batch_size=batch.shape[0])
        return out["loss"]

    def on_validation_epoch_start(self) -> None:
        self._used = torch.zeros(self.config.n_codebooks, self.config.codebook_size, dtype=torch.bool,
                                 device=self.device)

    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        mel = self._audio_mels(batch)
        codes = self.model.encode(mel)  # eval path: no EMA update from validation data
        mel_hat = self.model.decode(codes)
        recon = torch.nn.functional.l1_loss(mel_hat, mel)
        for q in range(codes.shape[1]):
            self._used[q, codes[:, q].flatten()] = True
        self.log("val/recon_l1", recon, sync_dist=True, batch_size=batch.shape[0])
        self.log("val_loss", recon, sync_dist=True, batch_size=batch.shape[0], prog_bar=True)

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
        from tts.codecs import save_melrvq  # leaves out the EMA sums, names the vocoder

        return save_melrvq(directory, self.model, self.vocoder_dir, card=card, overwrite=overwrite,
                           meta={"training": training})
