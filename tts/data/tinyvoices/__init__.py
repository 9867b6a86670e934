"""TinyVoices: an offline multi-speaker English corpus synthesized with espeak-ng,
flite and festival voices, perturbed in pitch and tempo. See :func:`prepare_tinyvoices`."""

from .prepare import prepare_tinyvoices
from .voices import RESERVED_VOICES

__all__ = ["prepare_tinyvoices", "RESERVED_VOICES"]
