"""Inference backends: one per model family, behind :class:`tts.Synthesizer`.

A backend loads a checkpoint folder (and its dependencies: vocoder, codec) and turns
a prompt waveform plus phoneme ids into waveforms. Everything a user sees — text
processing, prompt loading, sentence splitting, joining, errors about inputs —
lives in the Synthesizer, so every family behaves the same way from the outside.

Families register here by name -> ``"module:Class"``; the module is imported only
when a checkpoint of that family is loaded.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..errors import TTSError

if TYPE_CHECKING:
    from ..checkpoint import CheckpointInfo

BACKENDS = {
    "flow": "tts.backends.flow:FlowBackend",
    "valle": "tts.backends.valle:VallEBackend",
    "maskgct": "tts.backends.maskgct:MaskGCTBackend",
}


class Backend(ABC):
    """Interface of an inference backend.

    Attributes:
        family: the checkpoint family it loads; its model options (beyond ``seed``)
            are declared in :data:`tts.options.FAMILY_OPTIONS` under this name.
        can_edit: whether :meth:`edit` is implemented (speech editing by infilling).
    """

    family: ClassVar[str]
    can_edit: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def load(cls, info: "CheckpointInfo", device: torch.device) -> "Backend":
        """Build the model and its dependencies from a checked checkpoint folder."""

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Rate of the prompt it reads and of the audio it writes."""

    @abstractmethod
    def synthesize(self, prompt: torch.Tensor, prompt_ids: Sequence[int], targets: Sequence[Sequence[int]],
                   seed: int | None = None, **options: Any) -> list[torch.Tensor]:
        """Speak each phoneme sequence of ``targets`` in the prompt's voice.

        Args:
            prompt: prompt waveform ``[T]`` at :attr:`sample_rate` (trimmed, normalized).
            prompt_ids: phoneme ids of the prompt's transcript.
            targets: phoneme ids of each sentence to speak.
            seed: makes sampling deterministic.
            options: model options, already checked by :func:`tts.options.check_options`.

        Returns:
            One waveform ``[T_i]`` (CPU, float32) per target.
        """

    def edit(self, audio: torch.Tensor, start: float, end: float, new_seconds: float, new_ids: Sequence[int],
             seed: int | None = None, **options: Any) -> torch.Tensor:
        """Replace ``[start, end)`` seconds of ``audio [T]`` by ``new_seconds`` of speech so that
        the whole says ``new_ids`` (the full new transcript); see :class:`FlowBackend`."""
        raise TTSError(f"Models of family {self.family!r} cannot edit speech; use a flow model (e.g. tiny-flow).")

    @property
    def locates_edits(self) -> bool:
        """Whether the model finds the changed span itself (:meth:`edit_words`) instead of
        being given it in seconds (:meth:`edit`)."""
        return False

    def edit_words(self, audio: torch.Tensor, old_ids: Sequence[int], new_ids: Sequence[int],
                   seed: int | None = None, **options: Any) -> torch.Tensor:
        """Make ``audio [T]``, which says ``old_ids``, say ``new_ids`` (full transcripts),
        regenerating only the symbols that differ (see :class:`FlowBackend`)."""
        raise TTSError(f"Models of family {self.family!r} cannot locate edits; give the span in seconds.")


# Seconds of the prompt decoded before generated frames (decode_continuation): more than the
# receptive field of the decoders in use (Vocos: 8 ConvNeXt blocks of kernel 7 plus its
# embedding, about 0.3 s at 93.75 frames/s), and cheap next to the model itself.
DECODE_CONTEXT_SECONDS = 1.0


def decode_continuation(decode: Callable[[torch.Tensor], torch.Tensor], context: torch.Tensor, new: torch.Tensor,
                        hop: int, frame_rate: float) -> torch.Tensor:
    """The waveform ``[T]`` of generated frames ``new [C, n]`` decoded after the frames they
    continue, ``context [C, p]`` (the prompt's codes or mel frames), without the context's samples.

    A decoder given the new frames alone starts them from nothing: speech generated right
    after a prompt begins at its first frame (training joins prompt and item without the
    item's opening silence), so its first phoneme's onset would be lost.
    Decoding the last :data:`DECODE_CONTEXT_SECONDS` of the context first and dropping
    their ``k * hop`` samples keeps the length of a decode of ``new`` alone (EnCodec:
    ``n * hop``, a centred Vocos: ``(n - 1) * hop``).

    Args:
        decode: frames ``[1, C, N]`` -> waveform ``[1, T]`` (a codec's or vocoder's decode).
        hop: samples per frame.
    """
    k = min(context.shape[-1], round(DECODE_CONTEXT_SECONDS * frame_rate))
    if k == 0:
        return decode(new[None])[0]
    wav = decode(torch.cat([context[:, context.shape[-1] - k:].to(new.device), new], dim=-1)[None])[0]
    return wav[k * hop:]


def backend_class(family: str) -> type[Backend]:
    """The backend class registered for ``family``.

    Raises:
        TTSError: no backend for this family in this version.
    """
    spec = BACKENDS.get(family)
    if spec is None:
        raise TTSError(f"This version cannot synthesize with a {family!r} model; it knows {', '.join(BACKENDS)}.")
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        raise TTSError(f"The {family!r} backend is not available in this version ({module} is missing).") from err
