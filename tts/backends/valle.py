"""Backend for VALL-E checkpoints (family ``valle``): AR + NAR codec language model + its codec.

The prompt is encoded by the checkpoint's codec (dependency ``codec``), the AR
model continues its first codebook for the prompt's and the sentence's phonemes
(KV-cached, with length bounds from the prompt's speaking rate), the NAR model
fills the other codebooks, and the codec decodes the new codes after the prompt's last second
(whose samples are dropped: :func:`tts.backends.decode_continuation`).

Options (declared with their ranges in :mod:`tts.options`): ``temperature``, ``top_k``,
``top_p``, ``num_candidates`` and ``rerank`` (with more than one candidate, ``likelihood``
keeps the one the AR finds most likely among those that ended by themselves, ``phones`` the
one the phone aligner's recognizer hears saying the sentence's phones most clearly);
monotonic models also ``advance`` and ``speed`` (how the phoneme pointer moves on); and
``nar_decode`` (``expected``: the codec decodes the expected vectors of the NAR's codebooks), and
``decode_codebooks`` (how many codebooks are generated and decoded: 1 = the AR's alone, no NAR).

A monotonic model (VALL-E R, ``alignment: monotonic``) also loads the phone aligner
named in its model.yaml (dependency ``aligner``): it measures the prompt's per-phoneme
durations, which place the model's phoneme pointer after the prompt.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from codec_lm.valle import VallE, VallEConfig, VallESampling, synthesize

from ..errors import TTSError
from .codec_model import CodecModelBackend


class VallEBackend(CodecModelBackend):
    family = "valle"
    label = "VALL-E"

    @classmethod
    def load(cls, info, device: torch.device) -> "VallEBackend":
        backend = super().load(info, device)
        if backend.model.config.monotonic:
            backend.load_aligner(info, device, "Monotonic VALL-E")
        return backend

    @classmethod
    def model_classes(cls) -> tuple[type, type]:
        return VallE, VallEConfig

    def _sampling(self, seed: int | None, options: dict[str, Any]):
        names = ("temperature", "top_k", "top_p", "num_candidates", "advance", "speed", "cfg", "nar_decode",
                 "decode_codebooks")
        kw = {k: options[k] for k in names if options.get(k) is not None}
        try:
            return VallESampling(seed=seed, **kw)
        except ValueError as err:
            raise TTSError(f"Invalid VALL-E option: {err}.") from err

    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        sampling = self._sampling(seed, options)
        if sampling.speed != 1.0 and not self.model.config.monotonic:
            raise TTSError(f"--speed needs a VALL-E R (alignment: monotonic); '{self.info.path}' ends its sentences "
                           "with EOS: leave --speed out.")
        if sampling.nar_decode == "expected" and not hasattr(self.codec, "decode_latent"):
            raise TTSError(f"--nar-decode expected needs a codec that decodes codebook vectors (MelRVQ); this model's "
                           f"is a {type(self.codec).__name__}: use --nar-decode codes.")
        most = self.model.config.n_codebooks if self.model.nar is not None else 1
        if sampling.decode_codebooks is not None and sampling.decode_codebooks > most:
            raise TTSError(f"--decode-codebooks {sampling.decode_codebooks} is more than '{self.info.path}' generates "
                           f"({most}): give at most that many.")
        if sampling.cfg > 0 and not self.model.config.phone_dropout:
            raise TTSError(f"--cfg needs a VALL-E R trained with phone dropout (--model.valle.phone_dropout); "
                           f"'{self.info.path}' was not: leave --cfg out.")
        device = next(self.model.parameters()).device
        codes = self.codec.encode(prompt.float()[None].to(device))[0]  # [Q, P]
        if not prompt_ids:
            raise TTSError("The prompt transcript has no phonemes: pass the words the prompt says (--prompt-text).")
        prompt_ids, durations = list(prompt_ids), None
        if self.model.config.monotonic:
            prompt_ids, durations = self.prompt_durations(prompt, codes.shape[-1], prompt_ids)
            durations = [durations] * len(targets)
        scorer = None
        if options.get("rerank", "likelihood") == "phones" and sampling.num_candidates > 1:
            if self.aligner is None:
                raise TTSError("--rerank phones hears the candidates with the phone aligner of a monotonic VALL-E; "
                               "this model has none: use --rerank likelihood.")

            def scorer(item: int, candidates: list[torch.Tensor]) -> list[float]:
                # The candidates' codes, decoded as codes: the NAR's distributions are not passed to a
                # scorer, so with --nar-decode expected the kept one is decoded differently from how
                # it was heard (the words are in codebook 1 either way).
                wavs = [self.decode_after(codes, c) for c in candidates]
                return self.phone_scores(wavs, targets[item])

        out = synthesize(self.model, [codes] * len(targets), [prompt_ids] * len(targets),
                         [list(t) for t in targets], sampling, scorer=scorer, prompt_durations=durations)
        capped = [i for i, g in enumerate(out) if not g.ended]
        if capped and self.model.config.monotonic:
            warnings.warn(f"VALL-E reached the length cap in sentence(s) {capped} (2x the prompt's speaking rate): "
                          "their last phonemes got one step each. Try another --seed or a lower --temperature.",
                          stacklevel=2)
        elif capped:
            warnings.warn(f"VALL-E did not end sentence(s) {capped} by itself; they were cut at the length cap "
                          "(2x the prompt's speaking rate). Try another --seed or a lower --temperature.",
                          stacklevel=2)
        return [self.decode_generated(codes, g) for g in out]

    def decode_generated(self, prompt_codes: torch.Tensor, generated) -> torch.Tensor:
        """Waveform ``[T]`` of a :class:`codec_lm.valle.Generated` after the prompt's codes ``[Q, p]``:
        its codes (:meth:`decode_after`), or with ``--nar-decode expected`` the codes of its first
        codebooks and the expected vectors of the rest (:meth:`decode_expected`). Both decode as many
        of the prompt's codebooks as were generated (``--decode-codebooks``)."""
        if generated.probs is None:
            return self.decode_after(prompt_codes, generated.codes)
        known = generated.codes[: generated.codes.shape[0] - generated.probs.shape[0]]
        return self.decode_expected(prompt_codes, known, generated.probs)

    def decode_expected(self, prompt_codes: torch.Tensor, known: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """Waveform ``[T]`` (CPU, float32) of the codes of the first codebooks ``known [K, n]`` and the
        expected vectors of the next ones under ``probs [S, n, C]`` (the NAR's), decoded after the
        prompt's codes ``[Q, p]`` as :meth:`decode_after` decodes (their first ``K + S`` codebooks)."""
        context = self.codec.latent(prompt_codes[None, : known.shape[0] + probs.shape[0]])[0]  # [D, p]
        new = self.codec.latent(known[None], probs[None].float())[0]  # [D, n]
        return self.continue_decoding(self.codec.decode_latent, context, new)
