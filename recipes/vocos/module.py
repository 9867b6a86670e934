"""``VocosModule``: the objective of ``vocos.experiment.VocosExp`` on the ``lightning`` namespace.

``VocosExp`` is written for ``pytorch_lightning`` 1.x (``optimizer_idx`` training
steps, ``validation_epoch_end``), and mixing that namespace with ``lightning`` in one
Trainer fails, so this module rebuilds the same objective from the package's own
parts -- ``vocos.models`` / ``vocos.heads`` / ``vocos.feature_extractors`` (the
generator, a ``vocos.Vocos``), ``vocos.discriminators`` (MPD + MRD) and
``vocos.loss`` -- with manual optimization:

    discriminator step:  hinge loss of MPD + mrd_loss_coeff * MRD on (real, G(real).detach())
    generator step:      adversarial + feature matching (MPD, mrd_loss_coeff * MRD)
                         + mel_loss_coeff * L1(log-mel(G(x)), log-mel(x))
                         + stft_loss_coeff * multi-resolution STFT loss (``stft_loss.py``; 0: off)
                         + phase_loss_coeff * phase-derivative loss (``phase_loss.py``; 0: off)

For the first ``pretrain_mel_steps`` batches only the mel loss trains the generator.
As in Vocos, both optimizers are AdamW (betas 0.8, 0.9) with a cosine schedule over the
steps each one takes (``max_steps // 2`` each without mel-only batches): Lightning counts
every optimizer step in ``global_step``, so ``trainer.max_steps`` counts generator +
discriminator steps (:meth:`VocosModule.optimizer_steps`).

Shapes: ``B`` batch, ``T`` samples, ``M`` mel bins, ``N`` frames.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import torch

from codec_lm.codecs.base import CodecError
from codec_lm.codecs.encodec import find_weights, load_encodec_weights
from codec_lm.codecs.vocos_io import build_vocos, save_vocos, vocos_kind

from ..cards import Card
from ..common import RecipeError
from ..export import Exportable
from ..optim import warmup_cosine
from .phase_loss import PhaseDerivativeLoss
from .stft_loss import MultiResolutionSTFTLoss


class VocosModule(Exportable, L.LightningModule):
    """Train a Vocos generator (mel or EnCodec variant) against MPD + MRD.

    Args:
        feature_extractor, backbone, head: ``{class_path, init_args}`` of the generator
            parts, exactly as in the official ``config.yaml`` (the export writes them back).
        sample_rate: audio rate of the data.
        initial_learning_rate: peak LR of both optimizers.
        num_warmup_steps: linear warm-up steps of both schedules.
        mel_loss_coeff: weight of the mel L1 loss (Vocos: 45).
        mrd_loss_coeff: weight of the multi-resolution discriminator terms (Vocos mel: 0.1).
        pretrain_mel_steps: batches trained with the mel loss only.
        decay_mel_coeff: decay ``mel_loss_coeff`` with the cosine schedule.
        stft_loss_coeff: weight of the multi-resolution STFT loss (:mod:`.stft_loss`), in
            every batch, mel-only ones included (0: off, as Vocos). It is what keeps a
            generator trained without the GAN from buzzing at the frame rate.
        phase_loss_coeff: weight of the phase-derivative loss (:mod:`.phase_loss`:
            instantaneous frequency and group delay against the target's), in every batch
            (0: off, as Vocos). Phase without the discriminators.
        mpd_periods: periods of the multi-period discriminator.
        mrd_fft_sizes: window sizes of the multi-resolution discriminator.
        grad_clip: clip each optimizer's gradient norm to this (``None``: no clipping, as Vocos).
        encodec_weights: EnCodec weight file, needed to train the EnCodec variant.
    """

    family = "vocos"
    half_storage = False  # the official layout is float32

    def __init__(
        self,
        feature_extractor: dict[str, Any],
        backbone: dict[str, Any],
        head: dict[str, Any],
        sample_rate: int = 24000,
        initial_learning_rate: float = 5e-4,
        num_warmup_steps: int = 0,
        mel_loss_coeff: float = 45.0,
        mrd_loss_coeff: float = 1.0,
        pretrain_mel_steps: int = 0,
        decay_mel_coeff: bool = False,
        stft_loss_coeff: float = 0.0,
        phase_loss_coeff: float = 0.0,
        mpd_periods: tuple[int, ...] = (2, 3, 5, 7, 11),
        mrd_fft_sizes: tuple[int, ...] = (2048, 1024, 512),
        grad_clip: float | None = None,
        encodec_weights: str | None = None,
    ):
        super().__init__()
        from vocos.discriminators import MultiPeriodDiscriminator, MultiResolutionDiscriminator
        from vocos.loss import DiscriminatorLoss, FeatureMatchingLoss, GeneratorLoss, MelSpecReconstructionLoss

        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator_config = {"feature_extractor": feature_extractor, "backbone": backbone, "head": head}
        try:
            self.kind = vocos_kind(self.generator_config)
            state = None
            if self.kind == "encodec":
                if encodec_weights is None:
                    raise RecipeError("The EnCodec variant trains on EnCodec codes: set --model.encodec_weights to "
                                      "the EnCodec 24 kHz weight file (encodec_24khz-d7cc33bc.th).")
                state = load_encodec_weights(find_weights(encodec_weights))
            self.generator = build_vocos(self.generator_config, encodec_weights=state)
        except CodecError as err:
            raise RecipeError(f"Cannot build the Vocos generator: {err}") from err
        # The EnCodec variant conditions the backbone and discriminators on the bandwidth.
        n_cond = len(self.generator.feature_extractor.bandwidths) if self.kind == "encodec" else None
        self.mpd = MultiPeriodDiscriminator(periods=tuple(mpd_periods), num_embeddings=n_cond)
        self.mrd = MultiResolutionDiscriminator(fft_sizes=tuple(mrd_fft_sizes), num_embeddings=n_cond)
        self.disc_loss = DiscriminatorLoss()
        self.gen_loss = GeneratorLoss()
        self.fm_loss = FeatureMatchingLoss()
        self.mel_loss = MelSpecReconstructionLoss(sample_rate=sample_rate)
        self.mel_loss_coeff = mel_loss_coeff
        self.stft_loss = MultiResolutionSTFTLoss() if stft_loss_coeff > 0 else None
        # On the head's own frame grid: that is where frames must agree in the overlap-add.
        head_args = head.get("init_args", {})
        self.phase_loss = PhaseDerivativeLoss(int(head_args.get("n_fft", 1024)), int(head_args.get("hop_length", 256))) \
            if phase_loss_coeff > 0 else None
        # Batches seen, saved with the weights so that pretrain_mel_steps survives a resume
        # (global_step counts optimizer steps, which differ before and after pre-training).
        self.register_buffer("batches_seen", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ generator
    def forward(self, audio: torch.Tensor, **kwargs) -> torch.Tensor:
        """Copy-synthesis with gradients: ``[B, T]`` -> ``[B, T']`` (``Vocos.forward`` is inference-only)."""
        g = self.generator
        features = g.feature_extractor(audio, **kwargs)
        return g.head(g.backbone(features, **kwargs))

    def _cond(self) -> dict[str, torch.Tensor]:
        if self.kind != "encodec":
            return {}
        n = len(self.generator.feature_extractor.bandwidths)
        return {"bandwidth_id": torch.randint(0, n, (1,), device=self.device)}

    @staticmethod
    def _pair(audio: torch.Tensor, audio_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The ISTFT head returns (N - 1) * hop ("center") or N * hop ("same") samples, which
        # differs from T unless the crop is a multiple of the hop: compare equal lengths.
        n = min(audio.shape[-1], audio_hat.shape[-1])
        return audio[..., :n], audio_hat[..., :n]

    # ------------------------------------------------------------------ training
    def configure_optimizers(self):
        hp = self.hparams
        disc = torch.optim.AdamW([*self.mpd.parameters(), *self.mrd.parameters()],
                                 lr=hp.initial_learning_rate, betas=(0.8, 0.9))
        gen = torch.optim.AdamW([p for p in self.generator.parameters() if p.requires_grad],
                                lr=hp.initial_learning_rate, betas=(0.8, 0.9))
        disc_steps, gen_steps = self.optimizer_steps()
        return ([disc, gen], [{"scheduler": warmup_cosine(o, hp.num_warmup_steps, n), "interval": "step"}
                              for o, n in ((disc, disc_steps), (gen, gen_steps))])

    def optimizer_steps(self) -> tuple[int, int]:
        """How many steps the (discriminator, generator) optimizers take in this run: the
        length of each one's schedule. ``trainer.max_steps`` counts both optimizers' steps:
        one generator step per mel-only batch, then one of each per GAN batch. (Halving
        max_steps for both, as when every batch is a GAN batch, ran a mel-only run's cosine
        to 0 half-way and back up to the peak LR by its end.)"""
        max_steps = self.trainer.max_steps
        if max_steps <= 0:
            return 0, 0
        mel_only = min(self.hparams.pretrain_mel_steps, max_steps)
        gan = (max_steps - mel_only) // 2
        return gan, mel_only + gan

    def _step(self, optimizer, scheduler, loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.hparams.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.grad_clip, gradient_clip_algorithm="norm")
        optimizer.step()
        scheduler.step()

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        hp = self.hparams
        audio = batch  # [B, T]
        opt_disc, opt_gen = self.optimizers()
        sch_disc, sch_gen = self.lr_schedulers()
        cond = self._cond()
        train_disc = int(self.batches_seen) >= hp.pretrain_mel_steps

        if train_disc:
            with torch.no_grad():
                real, audio_hat = self._pair(audio, self(audio, **cond))
            real_mp, fake_mp, _, _ = self.mpd(y=real, y_hat=audio_hat, **cond)
            real_mrd, fake_mrd, _, _ = self.mrd(y=real, y_hat=audio_hat, **cond)
            loss_mp, r_mp, _ = self.disc_loss(disc_real_outputs=real_mp, disc_generated_outputs=fake_mp)
            loss_mrd, r_mrd, _ = self.disc_loss(disc_real_outputs=real_mrd, disc_generated_outputs=fake_mrd)
            loss_mp, loss_mrd = loss_mp / len(r_mp), loss_mrd / len(r_mrd)
            loss_d = (loss_mp + hp.mrd_loss_coeff * loss_mrd).squeeze()
            self._step(opt_disc, sch_disc, loss_d)
            self.log_dict({"discriminator/total": loss_d, "discriminator/multi_period_loss": loss_mp.squeeze(),
                           "discriminator/multi_res_loss": loss_mrd.squeeze()}, prog_bar=False)

        real, audio_hat = self._pair(audio, self(audio, **cond))
        mel_loss = self.mel_loss(audio_hat, real)
        loss_g = self.mel_loss_coeff * mel_loss
        if self.stft_loss is not None:
            stft_loss = self.stft_loss(audio_hat, real)
            loss_g = loss_g + hp.stft_loss_coeff * stft_loss
            self.log("generator/stft_loss", stft_loss)
        if self.phase_loss is not None:
            phase_loss = self.phase_loss(audio_hat, real)
            loss_g = loss_g + hp.phase_loss_coeff * phase_loss
            self.log("generator/phase_loss", phase_loss)
        if train_disc:
            _, fake_mp, fmap_r_mp, fmap_g_mp = self.mpd(y=real, y_hat=audio_hat, **cond)
            _, fake_mrd, fmap_r_mrd, fmap_g_mrd = self.mrd(y=real, y_hat=audio_hat, **cond)
            adv_mp, l_mp = self.gen_loss(disc_outputs=fake_mp)
            adv_mrd, l_mrd = self.gen_loss(disc_outputs=fake_mrd)
            adv_mp, adv_mrd = adv_mp / len(l_mp), adv_mrd / len(l_mrd)
            fm_mp = self.fm_loss(fmap_r=fmap_r_mp, fmap_g=fmap_g_mp) / len(fmap_r_mp)
            fm_mrd = self.fm_loss(fmap_r=fmap_r_mrd, fmap_g=fmap_g_mrd) / len(fmap_r_mrd)
            loss_g = loss_g + (adv_mp + hp.mrd_loss_coeff * adv_mrd + fm_mp + hp.mrd_loss_coeff * fm_mrd).squeeze()
            self.log_dict({"generator/multi_period_loss": adv_mp.squeeze(), "generator/multi_res_loss": adv_mrd.squeeze(),
                           "generator/feature_matching_mp": fm_mp.squeeze(),
                           "generator/feature_matching_mrd": fm_mrd.squeeze()})
        self._step(opt_gen, sch_gen, loss_g)
        self.log_dict({"generator/total_loss": loss_g, "generator/mel_loss": mel_loss,
                       "mel_loss_coeff": float(self.mel_loss_coeff)}, prog_bar=True)
        self.batches_seen += 1
        if hp.decay_mel_coeff:
            self.mel_loss_coeff = hp.mel_loss_coeff * self._mel_decay(int(self.batches_seen))

    def _mel_decay(self, step: int) -> float:
        hp = self.hparams
        total = self.optimizer_steps()[1]  # batches: the generator steps once per batch
        if step < hp.num_warmup_steps or total <= 0:
            return 1.0
        progress = (step - hp.num_warmup_steps) / max(1, total - hp.num_warmup_steps)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    def on_train_start(self) -> None:
        # mel_loss_coeff is derived state: recompute it for a step restored from a checkpoint.
        if self.hparams.decay_mel_coeff:
            self.mel_loss_coeff = self.hparams.mel_loss_coeff * self._mel_decay(int(self.batches_seen))

    # ------------------------------------------------------------------ validation
    def validation_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        cond = {"bandwidth_id": torch.tensor([0], device=self.device)} if self.kind == "encodec" else {}
        real, audio_hat = self._pair(batch, self(batch, **cond))
        mel_loss = self.mel_loss(audio_hat, real)
        self.log("val/mel_loss", mel_loss, sync_dist=True, batch_size=batch.shape[0])
        # Vocos adds (5 - UTMOS) + (5 - PESQ) when those are enabled; here val_loss is the mel loss.
        self.log("val_loss", mel_loss, sync_dist=True, batch_size=batch.shape[0], prog_bar=True)
        return mel_loss

    # ------------------------------------------------------------------ export
    def trained_steps(self, steps: int | None) -> int:
        # Batches, not optimizer steps: global_step counts 1 per batch in mel pre-training, 2 after.
        return int(self.batches_seen)

    def export_card(self, directory: Path, steps: int) -> Card:
        return Card(
            title=f"Vocos {self.kind} vocoder ({directory.name})",
            summary=f"A Vocos {self.kind} vocoder trained with `recipes/vocos` for {steps} batches.",
            usage=f'from tts.vocoder import Vocoder\nvoc = Vocoder.from_pretrained("{directory}")\n'
                  "wav = voc.decode(voc.mel(audio))",
            facts={"sample rate": self.hparams.sample_rate, "batches": steps})

    def write_export(self, directory: Path, *, card: str, training: dict, overwrite: bool,
                     dtype: str | None) -> Path:
        """The generator in the official layout (``config.yaml`` + ``pytorch_model.bin``), which
        ``tts.vocoder.Vocoder`` and the ``vocos`` package itself load, like the releases."""
        was_training = self.generator.training
        try:
            return save_vocos(self.generator.eval(), self.generator_config, directory, overwrite=overwrite, card=card)
        except ValueError as err:
            raise RecipeError(str(err)) from err
        finally:
            self.generator.train(was_training)
