"""Export a trained phone aligner as a toolkit checkpoint folder (family ``aligner``)."""

from __future__ import annotations

import os
from pathlib import Path

from ..cards import model_card

FAMILY = "aligner"


def export_aligner(module, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
                   command: str | None = None, steps: int | None = None, dtype: str | None = None) -> Path:
    """Write ``module.model`` as family ``aligner`` with its vocabulary."""
    from tts.checkpoint import save_checkpoint

    cfg = module.config
    steps = int(module.global_step if steps is None else steps)
    params = sum(p.numel() for p in module.model.parameters())
    card = model_card(
        title=f"Phone aligner ({Path(directory).name})",
        summary=f"A {params / 1e6:.1f} M-parameter phone aligner over {cfg.n_mels}-bin Vocos log-mels at "
                f"{cfg.frame_rate:g} frames/s, trained with `recipes/aligner` for {steps} steps: a CTC phone "
                "recognizer and a RAD-TTS-style attention aligner on one speech encoder. "
                "`tts prepare align` writes its per-phoneme durations into a corpus's manifests.",
        facts={"steps": steps, "data": data_dir or "unknown", "recipe command": f"`{command}`" if command else "unknown"},
        usage=f"tts prepare align --cuts DATA/cuts_train.jsonl.gz --aligner {directory}",
    )
    return save_checkpoint(directory, FAMILY, cfg, module.model.state_dict(), vocab=module.vocab, card=card,
                           overwrite=overwrite, dtype=dtype,
                           meta={"training": {"steps": steps, "data": data_dir, "command": command}})


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint and export it."""
    from ..common import module_from_checkpoint
    from .module import AlignerModule

    module, step = module_from_checkpoint(AlignerModule, ckpt_path)
    return export_aligner(module, directory, overwrite=overwrite, steps=step, **card_facts)
