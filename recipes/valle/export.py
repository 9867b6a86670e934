"""Export a trained VALL-E as a toolkit checkpoint folder (family ``valle``) that names its codec."""

from __future__ import annotations

import os
from pathlib import Path

from ..cards import model_card

FAMILY = "valle"


def export_valle(module, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
                 command: str | None = None, steps: int | None = None, dtype: str | None = None) -> Path:
    """Write ``module.model`` (weights as held by the module: EMA after training) as family ``valle``.

    The folder holds ``model.yaml`` (the ``VallEConfig`` and the codec as dependency
    ``codec``), ``model.safetensors``, ``vocab.json`` and a model card.
    """
    from tts.checkpoint import save_checkpoint

    cfg = module.config
    steps = int(module.global_step if steps is None else steps)
    ar = sum(p.numel() for p in module.model.ar.parameters())
    total = sum(p.numel() for p in module.model.parameters())
    card = model_card(
        title=f"VALL-E ({Path(directory).name})",
        summary=f"A {total / 1e6:.1f} M-parameter VALL-E ({ar / 1e6:.1f} M AR, {(total - ar) / 1e6:.1f} M NAR; "
                f"{cfg.dim} wide, {cfg.ar_layers} + {cfg.nar_layers} layers) over {cfg.n_codebooks} x "
                f"{cfg.codebook_size} codec codes at {cfg.frame_rate:g} frames/s, trained with `recipes/valle` for "
                f"{steps} steps. The AR model writes codebook 1 with a KV cache, the NAR model codebooks "
                f"2..{cfg.n_codebooks}; audio comes from the codec named in model.yaml.",
        facts={"codec": module.codec_dir, "steps": steps, "data": data_dir or "unknown",
               "recipe command": f"`{command}`" if command else "unknown"},
        usage=f'from tts import Synthesizer\ntts = Synthesizer.from_pretrained("{directory}")\n'
              'audio = tts.synthesize("Hello there.", "prompt.wav", prompt_text="...")',
    )
    return save_checkpoint(directory, FAMILY, cfg, module.model.state_dict(), vocab=module.vocab,
                           dependencies={"codec": module.codec_dir}, card=card, overwrite=overwrite, dtype=dtype,
                           meta={"training": {"steps": steps, "data": data_dir, "command": command}})


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint (EMA weights when the callback ran) and export it."""
    from ..common import module_from_checkpoint
    from .module import VallEModule

    module, step = module_from_checkpoint(VallEModule, ckpt_path)
    return export_valle(module, directory, overwrite=overwrite, steps=step, **card_facts)
