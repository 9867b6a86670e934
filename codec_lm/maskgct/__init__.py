"""MaskGCT-style masked generative codec model (plain PyTorch; never imports Lightning or ``tts``).

``config.py`` (``MaskGCTConfig``), ``modules.py`` (bidirectional transformer, packing),
``model.py`` (``MaskGCT``: T2S over the semantic stream — the codec's first codebook,
or a semantic tokenizer's tokens — and S2A over the acoustic codebooks, with the MaskGIT
losses), ``sampling.py`` (cosine schedule, confidence-based iterative unmasking,
guidance), ``generate.py`` (both stages over a padded batch) and ``synthesis.py``
(checked, batched synthesis: the length from the prompt's rate or, aligned, from the
duration model; S2A alone from given semantic tokens).
"""

from .config import MaskGCTConfig
from .generate import MaskGCTSampling, generate, generate_acoustic, generate_semantic
from .synthesis import aligned_frames, estimate_frames, synthesize, synthesize_acoustic
from .model import MaskGCT, SemanticToAcoustic, TextToSemantic
from .sampling import iterative_decode, masking_schedule

__all__ = ["MaskGCTConfig", "MaskGCT", "TextToSemantic", "SemanticToAcoustic", "MaskGCTSampling", "generate",
           "generate_semantic", "generate_acoustic", "synthesize", "synthesize_acoustic", "aligned_frames",
           "estimate_frames", "iterative_decode", "masking_schedule"]
