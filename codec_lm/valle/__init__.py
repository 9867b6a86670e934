"""VALL-E codec language model (plain PyTorch; never imports Lightning or ``tts``).

``config.py`` (``VallEConfig``), ``model.py`` (``VallE``: AR + NAR transformers and
their losses), ``modules.py`` (SDPA attention, KV cache, AdaLN blocks),
``sampling.py`` (top-k/p, repetition-aware sampling, per-item seeds) and
``generate.py`` (KV-cached AR decoding with length bounds, NAR stages, candidates).
"""

from .config import VallEConfig
from .generate import Generated, VallESampling, generate_ar, generate_nar, join_phonemes, length_limits, synthesize
from .model import VallE, VallEAR, VallENAR
from .modules import KVCache

__all__ = ["VallEConfig", "VallE", "VallEAR", "VallENAR", "VallESampling", "Generated", "KVCache", "synthesize",
           "generate_ar", "generate_nar", "length_limits", "join_phonemes"]
