"""Export a trained flow model as a toolkit checkpoint folder that names its vocoder."""

from __future__ import annotations

import os
from pathlib import Path

from ..cards import model_card

FAMILY = "flow"


def export_flow(module, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
                command: str | None = None, steps: int | None = None, dtype: str | None = None) -> Path:
    """Write ``module.model`` (weights as held by the module: EMA after training) as family ``flow``."""
    from tts.checkpoint import save_checkpoint

    cfg = module.config
    steps = int(module.global_step if steps is None else steps)
    params = sum(p.numel() for p in module.model.parameters())
    card = model_card(
        title=f"Flow-matching TTS ({Path(directory).name})",
        summary=f"A {params / 1e6:.1f} M-parameter DiT flow-matching model (F5-TTS style) over "
                f"{cfg.mel_dim}-bin Vocos log-mels at {cfg.frame_rate:g} frames/s, trained with `recipes/flow` "
                f"for {steps} steps. It decodes through the vocoder named in model.yaml.",
        facts={"vocoder": module.vocoder_dir, "steps": steps, "data": data_dir or "unknown",
               "recipe command": f"`{command}`" if command else "unknown"},
        usage=f'from tts import Synthesizer\ntts = Synthesizer.from_pretrained("{directory}")\n'
              'audio = tts.synthesize("Hello there.", "prompt.wav", prompt_text="...")',
    )
    return save_checkpoint(directory, FAMILY, cfg, module.model.state_dict(), vocab=module.vocab,
                           dependencies={"vocoder": module.vocoder_dir}, card=card, overwrite=overwrite, dtype=dtype,
                           meta={"training": {"steps": steps, "data": data_dir, "command": command}})


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint (EMA weights when the callback ran) and export it."""
    from ..common import module_from_checkpoint
    from .module import FlowModule

    module, step = module_from_checkpoint(FlowModule, ckpt_path)
    return export_flow(module, directory, overwrite=overwrite, steps=step, **card_facts)
