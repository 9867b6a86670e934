"""Probes that say within minutes whether a TTS model reads its text.

``TextProbe`` (a Lightning callback every TTS recipe YAML lists) logs, after each
validation:

* ``val/text_gap``: the loss of a few fixed validation batches with their transcripts
  rolled across the batch (item ``i`` gets item ``i + 1``'s text) minus their true
  loss, both under the same seed. A model that reads its text loses more with the
  wrong text (gap well above 0); a text-blind one does not care (gap about 0).
* ``val/per``: the phone error rate of a few short syntheses (each validation item's
  audio as the prompt, the next item's transcript as the text), recognized by a
  phone aligner's CTC head against the phones of that transcript. It needs
  ``aligner`` (a checkpoint folder) and a module with ``probe_synthesize``.

A recipe module takes part by defining:

* ``text_keys``: the batch keys that hold its text (``("phonemes", "phoneme_lens")``);
* ``probe_loss(batch) -> Tensor``: its loss on a batch (the callback fixes the seed);
* optionally ``probe_synthesize(batch, n, seed) -> (mels, targets)``: Vocos log-mels
  ``[C, N]`` of ``n`` syntheses and the phoneme ids each was asked to say.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from lightning.pytorch.callbacks import Callback

from aligner import phone_error_rate, phone_table
from tts.aligner import load_aligner
from tts.codecs import load_codec
from tts.errors import TTSError
from tts.mel import MelFeatures


@contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode inside (synthesis functions switch to it), the model's own mode again after."""
    training = model.training
    try:
        model.eval()
        yield
    finally:
        model.train(training)


def roll_text(batch: dict, keys: Sequence[str]) -> dict:
    """A shallow copy of ``batch`` whose text ``keys`` are rolled by one item.

    With ``durations`` in the batch (aligned models), each item keeps its own
    durations and length, and its symbols are the next item's, repeated or cut to
    that length: the text is wrong, the timing still fits the audio.
    """
    out = dict(batch)
    if "durations" in batch:
        ids, lens = batch[keys[0]], batch[keys[1]]
        rolled = torch.zeros_like(ids)
        for i in range(ids.shape[0]):
            j = (i + 1) % ids.shape[0]
            src = ids[j, : lens[j]]
            n = int(lens[i])
            rolled[i, :n] = src.repeat((n + len(src) - 1) // max(1, len(src)))[:n]
        out[keys[0]] = rolled
        return out
    for key in keys:
        out[key] = torch.roll(batch[key], shifts=-1, dims=0)
    return out


def text_gap(module, batches: Sequence[dict], seed: int) -> float:
    """Mean over ``batches`` of ``loss(rolled text) - loss(true text)``, each pair under one seed."""
    gaps = []
    for k, batch in enumerate(batches):
        losses = []
        for b in (batch, roll_text(batch, module.text_keys)):
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(seed + k)
                losses.append(float(module.probe_loss(b)))
        gaps.append(losses[1] - losses[0])
    return sum(gaps) / len(gaps)


def _to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


class TextProbe(Callback):
    """Log ``val/text_gap`` and (with an aligner) ``val/per`` after each validation.

    Args:
        batches: validation batches for the text gap (the first ones, fixed).
        aligner: a phone-aligner checkpoint folder for ``val/per`` (None: no PER).
        items: syntheses for the PER.
        seed: seed of the losses and of the syntheses.
    """

    def __init__(self, batches: int = 2, aligner: str | None = None, items: int = 4, seed: int = 1234) -> None:
        self.batches = batches
        self.aligner_path = aligner
        self.items = items
        self.seed = seed
        self._cache: list[dict] | None = None
        self._aligner = None

    def _fixed_batches(self, trainer, module) -> list[dict]:
        """The first ``batches`` validation batches of two items or more: a batch of one has no
        other transcript to roll in (its gap is 0 whatever the model) nor a next item to say."""
        if self._cache is None:
            loaders = trainer.val_dataloaders
            loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
            self._cache = []
            for batch in loader:
                if len(batch[module.text_keys[1]]) < 2:
                    continue
                self._cache.append(batch)
                if len(self._cache) >= self.batches:
                    break
        return self._cache

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not hasattr(pl_module, "probe_loss"):
            return
        batches = [_to_device(b, pl_module.device) for b in self._fixed_batches(trainer, pl_module)]
        if not batches:
            return
        pl_module.log("val/text_gap", text_gap(pl_module, batches, self.seed), sync_dist=True)
        if self.aligner_path and hasattr(pl_module, "probe_synthesize"):
            per = self.phone_error_rate(pl_module, batches[0])
            if per is not None:
                pl_module.log("val/per", per, sync_dist=True)

    def phone_error_rate(self, module, batch: dict) -> float | None:
        """PER of ``items`` syntheses from ``batch``, or None when there is nothing to measure."""
        if self._aligner is None:
            import warnings

            try:
                self._aligner = load_aligner(self.aligner_path, module.device)[:2]
            except TTSError as err:  # e.g. the aligner is not trained yet: the text gap still runs
                warnings.warn(f"TextProbe measures no PER: {err}", stacklevel=2)
                self.aligner_path = None
                return None
        model, vocab = self._aligner
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(self.seed)
            mels, targets = module.probe_synthesize(batch, self.items, self.seed)
        mels = [m for m in mels if m.shape[0] == model.config.n_mels and m.shape[-1] > 0]
        if not mels:
            return None
        lens = torch.tensor([m.shape[-1] for m in mels], device=module.device)
        padded = torch.zeros(len(mels), mels[0].shape[0], int(lens.max()), device=module.device)
        for i, m in enumerate(mels):
            padded[i, :, : m.shape[-1]] = m.to(module.device)
        heard = model.to(module.device).recognize(padded, lens)
        is_phone = phone_table(vocab.symbols)
        # Compare symbols, not ids: the TTS model's vocabulary may order them differently.
        hyps = [[vocab.symbols[i] for i in h] for h in heard]
        refs = [[s for s in module.vocab.decode(t) if s in vocab and is_phone[vocab.encode([s])[0]]]
                for t in targets[: len(mels)]]
        return phone_error_rate(hyps, refs) if any(refs) else None


class CodecProbes:
    """What the codec-model recipes (VALL-E, MaskGCT) share for ``probe_synthesize``: the
    inputs from a batch of codes, and Vocos log-mels of the generated codes. Needs
    ``self.codec_dir`` and ``self.device``."""

    def _probe_inputs(self, batch: dict, n: int):
        """Item ``i``'s codes and transcript as the prompt, item ``i + 1``'s transcript as the text."""
        k = min(n, batch["codes"].shape[0])
        prompts = [batch["codes"][i, :, : batch["code_lens"][i]] for i in range(k)]
        texts = [batch["phonemes"][i, : batch["phoneme_lens"][i]].tolist() for i in range(k)]
        return prompts, texts, [texts[(i + 1) % k] for i in range(k)]

    def _probe_mels(self, codes: list[torch.Tensor]) -> list[torch.Tensor]:
        """Vocos log-mels ``[C, N]`` of generated codes, decoded by the recipe's codec (loaded once)."""
        if getattr(self, "_probe_codec", None) is None:
            self._probe_codec = (load_codec(self.codec_dir, device=self.device), MelFeatures())
        codec, features = self._probe_codec
        return [features(codec.decode(c[None].to(self.device)).float().cpu())[0] for c in codes if c.shape[-1] > 0]
