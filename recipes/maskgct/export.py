"""Export a trained MaskGCT as a toolkit checkpoint folder (family ``maskgct``) that names its codec."""

from __future__ import annotations

import os
from pathlib import Path

from ..cards import model_card

FAMILY = "maskgct"


def export_maskgct(module, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
                   command: str | None = None, steps: int | None = None, dtype: str | None = None) -> Path:
    """Write ``module.model`` (weights as held by the module: EMA after training) as family ``maskgct``.

    The folder holds ``model.yaml`` (the ``MaskGCTConfig`` and the codec as dependency
    ``codec``), ``model.safetensors``, ``vocab.json`` and a model card.
    """
    from tts.checkpoint import save_checkpoint

    cfg = module.config
    steps = int(module.global_step if steps is None else steps)
    t2s = sum(p.numel() for p in module.model.t2s.parameters())
    total = sum(p.numel() for p in module.model.parameters())
    card = model_card(
        title=f"MaskGCT ({Path(directory).name})",
        summary=f"A {total / 1e6:.1f} M-parameter MaskGCT-style masked generative model ({t2s / 1e6:.1f} M T2S, "
                f"{(total - t2s) / 1e6:.1f} M S2A; {cfg.dim} wide, {cfg.t2s_layers} + {cfg.s2a_layers} layers) over "
                f"{cfg.n_codebooks} x {cfg.codebook_size} codec codes at {cfg.frame_rate:g} frames/s, trained with "
                f"`recipes/maskgct` for {steps} steps. T2S fills codebook 1 (standing in for MaskGCT's semantic "
                f"tokens) by iterative unmasking, S2A codebooks 2..{cfg.n_codebooks}; the length comes from the "
                "prompt's speaking rate or a given duration; audio comes from the codec named in model.yaml.",
        facts={"codec": module.codec_dir, "steps": steps, "data": data_dir or "unknown",
               "recipe command": f"`{command}`" if command else "unknown"},
        usage=f'from tts import Synthesizer\ntts = Synthesizer.from_pretrained("{directory}")\n'
              'audio = tts.synthesize("Hello there.", "prompt.wav", prompt_text="...", steps=25, cfg=2.5)',
    )
    return save_checkpoint(directory, FAMILY, cfg, module.model.state_dict(), vocab=module.vocab,
                           dependencies={"codec": module.codec_dir}, card=card, overwrite=overwrite, dtype=dtype,
                           meta={"training": {"steps": steps, "data": data_dir, "command": command}})


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint (EMA weights when the callback ran) and export it."""
    from ..common import module_from_checkpoint
    from .module import MaskGCTModule

    module, step = module_from_checkpoint(MaskGCTModule, ckpt_path)
    return export_maskgct(module, directory, overwrite=overwrite, steps=step, **card_facts)
