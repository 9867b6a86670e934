"""Backend for flow-matching checkpoints (family ``flow``): mel flow model + Vocos.

Options (declared with their ranges in :mod:`tts.options`): ``nfe``, ``solver``, ``cfg``,
``cfg_audio``, ``sway``, ``speed``, ``duration``. Speech editing infills a span.

An aligned model (``text_conditioning: aligned``) also loads the phone aligner named
in its model.yaml (dependency ``aligner``): it measures the prompt's per-phoneme
durations, from which the model's duration model predicts the target's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from aligner import with_boundaries
from flow import FlowConfig, FlowSampling, FlowTTS, infill, synthesize

from ..aligner import align_prompt, load_aligner
from ..audio import splice
from ..checkpoint import CheckpointError, build_model
from ..errors import TTSError
from ..vocoder import Vocoder
from . import Backend, decode_continuation


class FlowBackend(Backend):
    family = "flow"
    can_edit = True

    def __init__(self, model, vocoder, info, aligner=None) -> None:
        self.model = model
        self.vocoder = vocoder
        self.info = info
        self.aligner = aligner  # (PhoneAligner, PhonemeVocab) for aligned models

    @classmethod
    def load(cls, info, device: torch.device) -> "FlowBackend":
        if "vocoder" not in info.dependencies:
            raise CheckpointError(f"Flow checkpoint '{info.path}' names no vocoder in model.yaml.")
        model = build_model(info, FlowTTS, FlowConfig, "flow")
        vocoder = Vocoder.from_pretrained(info.dependencies["vocoder"], device=device, kind="mel")
        if vocoder.n_mels != model.config.mel_dim or vocoder.hop_length != model.config.hop_length:
            raise CheckpointError(f"Vocoder '{vocoder.path}' does not produce the features flow model "
                                  f"'{info.path}' was trained on ({model.config.mel_dim} mels, hop "
                                  f"{model.config.hop_length}).")
        aligner = None
        if model.aligned:
            if "aligner" not in info.dependencies:
                raise CheckpointError(f"Aligned flow checkpoint '{info.path}' names no aligner in model.yaml: it "
                                      "cannot measure a prompt's durations.")
            aligner_model, aligner_vocab, _ = load_aligner(info.dependencies["aligner"], device)
            if (aligner_model.config.n_mels, aligner_model.config.hop_length) != (vocoder.n_mels, vocoder.hop_length):
                raise CheckpointError(f"Aligner '{info.dependencies['aligner']}' reads other features than vocoder "
                                      f"'{vocoder.path}' makes.")
            aligner = (aligner_model, aligner_vocab)
        return cls(model.eval().to(device), vocoder, info, aligner)

    def prompt_durations(self, mel: torch.Tensor, prompt_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The prompt's boundary-wrapped ids and their durations ``[l]`` (summing to ``mel``'s frames)."""
        return align_prompt(*self.aligner, mel, prompt_ids)

    @property
    def sample_rate(self) -> int:
        return self.vocoder.sample_rate

    def _sampling(self, seed: int | None, options: dict[str, Any]):
        kw = {k: options[k] for k in ("nfe", "solver", "cfg", "cfg_audio", "speed") if options.get(k) is not None}
        if "sway" in options and options["sway"] is not None:
            kw["sway"] = options["sway"] or None
        return FlowSampling(seed=seed, **kw)

    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        sampling = self._sampling(seed, options)
        mel = self.vocoder.mel(prompt)[0].cpu()  # [C, Np]
        frames = None
        if options.get("duration"):
            total = options["duration"] * self.model.config.frame_rate
            weights = [len(t) for t in targets]
            frames = [max(1, round(total * w / sum(weights))) for w in weights]
        pp, durations = torch.tensor(list(prompt_ids)), None
        if self.model.aligned:
            pp, pd = self.prompt_durations(mel, prompt_ids)
            durations = [pd] * len(targets)
        mels = synthesize(self.model, [mel] * len(targets), [pp] * len(targets),
                          [torch.tensor(list(t)) for t in targets], sampling, frames=frames,
                          prompt_durations=durations)
        config = self.model.config
        return [decode_continuation(self.vocoder.decode, mel, m, config.hop_length, config.frame_rate).float().cpu()
                for m in mels]

    def edit(self, audio: torch.Tensor, start: float, end: float, new_seconds: float, new_ids: Sequence[int],
             seed: int | None = None, **options: Any) -> torch.Tensor:
        """Infill ``[start, end)`` seconds of ``audio [T]`` with ``new_seconds`` of speech for
        ``new_ids`` (the full new transcript). Audio outside the span is kept sample-exact,
        except for 20 ms cross-fades at the two seams."""
        hop = self.model.config.hop_length
        mel = self.vocoder.mel(audio)[0].cpu()
        a = max(0, int(round(start * self.sample_rate / hop)))
        b = min(mel.shape[1], max(a, int(round(end * self.sample_rate / hop))))
        new_frames = max(1, round(new_seconds * self.sample_rate / hop))
        out = infill(self.model, mel, a, b, new_frames, torch.tensor(list(new_ids)), self._sampling(seed, options))
        wav = self.vocoder.decode(out)[0].float().cpu()
        # Samples outside the span come from the input, not from the vocoder's copy of it.
        return splice(audio.float().cpu(), wav, a * hop, b * hop, a * hop, (a + new_frames) * hop, self.sample_rate)

    @property
    def locates_edits(self) -> bool:
        return self.model.aligned

    def edit_words(self, audio: torch.Tensor, old_ids: Sequence[int], new_ids: Sequence[int],
                   seed: int | None = None, **options: Any) -> torch.Tensor:
        """Aligned models: the phone aligner finds where each symbol of ``old_ids`` lies in
        ``audio``; the words from the first to the last that differ are regenerated, with
        the unchanged symbols' durations as the duration model's context (the recording's
        own rhythm), and every sample outside them is kept (20 ms cross-fades at the seams)."""
        hop = self.model.config.hop_length
        mel = self.vocoder.mel(audio)[0].cpu()
        old, old_d = self.prompt_durations(mel, old_ids)
        new = torch.tensor(with_boundaries(list(new_ids), self.aligner[1].space_id))
        p, q = changed_symbols(old.tolist(), new.tolist(), self.aligner[1].space_id)
        if p == len(old) - q and p == len(new) - q:
            raise TTSError("The new transcript says the same words as the old one: nothing to edit.")
        known = torch.ones(len(new), dtype=torch.bool)
        known[p: len(new) - q] = False
        given = torch.zeros(len(new), dtype=torch.long)
        given[:p], given[len(new) - q:] = old_d[:p], old_d[len(old) - q:]
        new_d = self.model.duration.predict(new[None], torch.tensor([len(new)]), given[None], known[None],
                                            self._sampling(seed, options).speed)[0]
        a, b = int(old_d[:p].sum()), mel.shape[1] - int(old_d[len(old) - q:].sum())
        new_frames = int(new_d[p: len(new) - q].sum())
        out = infill(self.model, mel, a, b, new_frames, new, self._sampling(seed, options), durations=new_d)
        wav = self.vocoder.decode(out)[0].float().cpu()
        return splice(audio.float().cpu(), wav, a * hop, b * hop, a * hop, (a + new_frames) * hop, self.sample_rate)


def changed_symbols(old: list[int], new: list[int], space_id: int) -> tuple[int, int]:
    """``(p, q)``: the symbols before position ``p`` and the last ``q`` are the same in both
    boundary-wrapped sequences and end (start) at a word boundary, so that whole words change."""
    p = 0
    while p < min(len(old), len(new)) and old[p] == new[p]:
        p += 1
    while p > 0 and old[p - 1] != space_id:  # back to the start of the word
        p -= 1
    q = 0
    while q < min(len(old), len(new)) - p and old[-1 - q] == new[-1 - q]:
        q += 1
    while q > 0 and old[len(old) - q] != space_id:  # forward to the end of the word
        q -= 1
    return p, q
