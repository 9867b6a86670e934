"""VALL-E codec language model (plain PyTorch; never imports Lightning or ``tts``).

``config.py`` (``VallEConfig``), ``model.py`` (``VallE``: AR + NAR transformers and
their losses), ``modules.py`` (SDPA attention, KV cache, AdaLN blocks),
``alignment.py`` (VALL-E R: phone durations on the AR's step grid, grouped codes),
``sampling.py`` (decoding options, top-k/p, repetition-aware sampling, per-item seeds),
``generate.py`` (KV-cached AR decoding with length bounds, NAR stages, candidates) and
``generate_aligned.py`` (VALL-E R's decoding: a phoneme pointer that stays or moves on by one).
"""

from nn_common import join_phonemes

from .alignment import group_codes, step_durations, ungroup_codes
from .config import VallEConfig
from .generate import Generated, generate_ar, generate_nar, synthesize
from .generate_aligned import generate_ar_aligned
from .model import VallE, VallEAR, VallENAR
from .modules import KVCache
from .sampling import VallESampling, length_limits

__all__ = ["VallEConfig", "VallE", "VallEAR", "VallENAR", "VallESampling", "Generated", "KVCache", "synthesize",
           "generate_ar", "generate_ar_aligned", "generate_nar", "length_limits", "join_phonemes", "group_codes",
           "ungroup_codes", "step_durations"]
