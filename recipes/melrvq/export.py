"""Export a trained MelRVQ as a toolkit checkpoint folder that names its vocoder."""

from __future__ import annotations

import os
from pathlib import Path

from ..cards import model_card


def export_codec(module, directory: str | os.PathLike, *, overwrite: bool = False, data_dir: str | None = None,
                 command: str | None = None, steps: int | None = None) -> Path:
    """Write ``module.model`` (a :class:`recipes.melrvq.module.MelRVQModule`) with ``tts.codecs.save_melrvq``.

    ``steps`` defaults to the attached trainer's ``global_step``.
    """
    from tts.codecs import save_melrvq

    cfg = module.config
    steps = int(module.global_step if steps is None else steps)
    card = model_card(
        title=f"MelRVQ codec ({Path(directory).name})",
        summary=f"A residual VQ over Vocos log-mels: {cfg.n_codebooks} codebooks x {cfg.codebook_size} at "
                f"{cfg.frame_rate:g} frames/s ({cfg.bitrate / 1000:.1f} kbps), trained with `recipes/melrvq` for "
                f"{steps} steps. It decodes through the vocoder named in model.yaml.",
        facts={"vocoder": module.vocoder_dir, "steps": steps, "data": data_dir or "unknown",
               "recipe command": f"`{command}`" if command else "unknown"},
        usage=f'from tts.codecs import load_codec\ncodec = load_codec("{directory}")\n'
              "wav_hat = codec.decode(codec.encode(wav))",
    )
    return save_melrvq(directory, module.model, module.vocoder_dir, card=card, overwrite=overwrite,
                       meta={"training": {"steps": steps, "data": data_dir}})


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint and export its quantizer."""
    from ..common import module_from_checkpoint
    from .module import MelRVQModule

    module, step = module_from_checkpoint(MelRVQModule, ckpt_path)
    return export_codec(module, directory, overwrite=overwrite, steps=step, **card_facts)
