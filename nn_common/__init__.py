"""Pieces that more than one model package needs (plain PyTorch; imports nothing of the project).

The model packages (``codec_lm``, ``flow``, and the ``aligner`` to come) are independent
of each other: none imports another's modules. What they really share is here, once:

- :mod:`.sequences`: padding masks and padded stacks of variable-length items, joining a
  prompt's and a target's phonemes, the target length from the prompt's speaking rate,
  and symbols repeated by their durations to frame rate.
- :mod:`.duration`: the duration model of aligned models (flow, MaskGCT) and the durations
  of a prompt plus a target text it plans.
- :mod:`.rotary`: rotary position tables and the bidirectional rotary self-attention of
  the flow DiT and the MaskGCT encoders.

Only code that is the same computation in each user belongs here; look-alikes that differ
(the flow and VALL-E sinusoidal embeddings differ in their frequency spacing, and the
shipped weights depend on each) stay with their model.
"""

from .rotary import Rotary, RotaryAttention, apply_rotary
from .sequences import (estimate_frames, expand_by_durations, expected_frames, join_phonemes, lengths_to_mask,
                        pad_stack)

__all__ = ["Rotary", "RotaryAttention", "apply_rotary", "estimate_frames", "expand_by_durations", "expected_frames",
           "join_phonemes", "lengths_to_mask", "pad_stack"]
