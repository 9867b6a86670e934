"""Export a trained Vocos generator in the official layout (``config.yaml`` + ``pytorch_model.bin``).

The folder loads with ``tts.vocoder.Vocoder.from_pretrained`` and with the ``vocos``
package itself (``Vocos.from_hparams`` + ``load_state_dict``), like the releases.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

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
    from .module import VocosModule

    ckpt_path = Path(ckpt_path)
    if not ckpt_path.is_file():
        raise RecipeError(f"Lightning checkpoint '{ckpt_path}' does not exist: look in the run's checkpoints/ folder.")
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    # LightningCLI adds private entries (_instantiator, _class_path) to the saved hyper-parameters.
    module = VocosModule(**{k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")})
    module.load_state_dict(ckpt["state_dict"])
    return export_vocoder(module, directory, overwrite=overwrite, **card_facts)
