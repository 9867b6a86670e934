"""Flow-matching TTS over mel frames (plain PyTorch; never imports Lightning or ``tts``).

``config.py`` (``FlowConfig``), ``model.py`` (``FlowTTS``: DiT velocity field and
its infilling loss), ``solvers.py`` (Euler/midpoint, sway sampling) and
``generate.py`` (zero-shot synthesis, infilling for speech editing).
"""

from .config import FlowConfig
from .generate import FlowSampling, estimate_frames, infill, synthesize
from .model import FlowTTS

__all__ = ["FlowConfig", "FlowTTS", "FlowSampling", "synthesize", "infill", "estimate_frames"]
