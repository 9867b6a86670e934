"""MaskGCT-style masked generative codec model (plain PyTorch; never imports Lightning or ``tts``).

``config.py`` (``MaskGCTConfig``), ``modules.py`` (bidirectional transformer, packing),
``model.py`` (``MaskGCT``: T2S over the semantic stream — the codec's first codebook,
or a semantic tokenizer's tokens — and S2A over the acoustic codebooks, with the MaskGIT
losses), ``sampling.py`` (cosine schedule, confidence-based iterative unmasking,
guidance) and ``generate.py`` (length from the prompt's rate, both stages, batched
synthesis, S2A alone from given semantic tokens).
"""

from .config import MaskGCTConfig
from .generate import (MaskGCTSampling, estimate_frames, generate, generate_acoustic, generate_semantic,
                       synthesize, synthesize_acoustic)
from .model import MaskGCT, SemanticToAcoustic, TextToSemantic
from .sampling import iterative_decode, masking_schedule

__all__ = ["MaskGCTConfig", "MaskGCT", "TextToSemantic", "SemanticToAcoustic", "MaskGCTSampling", "generate",
           "generate_semantic", "generate_acoustic", "synthesize", "synthesize_acoustic", "estimate_frames",
           "iterative_decode", "masking_schedule"]
