"""Flow-matching TTS over mel latents (plain PyTorch; never imports Lightning or ``tts``).

Planned layout (see ../shared/DESIGN.md): ``config.py``, ``model.py`` (CFM
transformer), ``solvers.py``, ``generate.py`` and speech editing. Nothing is
implemented in this package yet.
"""
