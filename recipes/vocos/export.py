"""Export a trained Vocos generator in the official layout (``config.yaml`` + ``pytorch_model.bin``).

The folder loads with ``tts.vocoder.Vocoder.from_pretrained`` and with the ``vocos``
package itself (``Vocos.from_hparams`` + ``load_state_dict``), like the releases.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..common import RecipeError
from ..cards import model_card


def export_vocoder(module, directory: str | os.PathLike, *, overwrite: bool = False,
                   data_dir: str | None = None, command: str | None = None) -> Path:
    """Write ``module.generator`` (a :class:`recipes.vocos.module.VocosModule`) to ``directory``."""
    from codec_lm.codecs.vocos_io import save_vocos

    steps = int(module.batches_seen)
    card = model_card(
        title=f"Vocos {module.kind} vocoder ({Path(directory).name})",
        summary=f"A Vocos {module.kind} vocoder trained with `recipes/vocos` for {steps} batches.",
        facts={"sample rate": module.hparams.sample_rate, "batches": steps, "data": data_dir or "unknown",
               "recipe command": f"`{command}`" if command else "unknown"},
        usage=f'from tts.vocoder import Vocoder\nvoc = Vocoder.from_pretrained("{directory}")\n'
              "wav = voc.decode(voc.mel(audio))",
    )
    module_was_training = module.generator.training
    try:
        return save_vocos(module.generator.eval(), module.generator_config, directory, overwrite=overwrite, card=card)
    except ValueError as err:
        raise RecipeError(str(err)) from err
    finally:
        module.generator.train(module_was_training)


def export_from_checkpoint(ckpt_path: str | os.PathLike, directory: str | os.PathLike, *, overwrite: bool = False,
                           **card_facts) -> Path:
    """Rebuild the module from a Lightning checkpoint (``last.ckpt``...) and export its generator."""
    from ..common import module_from_checkpoint
    from .module import VocosModule

    module, step = module_from_checkpoint(VocosModule, ckpt_path)
    return export_vocoder(module, directory, overwrite=overwrite, **card_facts)
