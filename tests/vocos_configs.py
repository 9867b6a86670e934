"""Small Vocos configs (official layout sections) for tests: the official feature
settings with a narrow backbone, so that random models build and run in milliseconds."""

import copy

from codec_lm.codecs.vocos_io import OFFICIAL_VOCOS_ENCODEC, OFFICIAL_VOCOS_MEL


def _narrow(official: dict) -> dict:
    config = copy.deepcopy(official)
    config["backbone"]["init_args"].update(dim=32, intermediate_dim=64, num_layers=2)
    config["head"]["init_args"]["dim"] = 32
    return config


MEL = _narrow(OFFICIAL_VOCOS_MEL)
ENCODEC = _narrow(OFFICIAL_VOCOS_ENCODEC)


def save_official(model, config, folder, with_encodec=False):
    """Write ``model`` as the Vocos releases are laid out, independently of the code under test:
    ``config.yaml`` (yaml.safe_dump) and ``pytorch_model.bin`` (torch.save of the state dict;
    the EnCodec variant's release leaves out EnCodec's own weights)."""
    import torch
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    state = {k: v for k, v in model.state_dict().items()
             if with_encodec or not k.startswith("feature_extractor.encodec.")}
    torch.save(state, folder / "pytorch_model.bin")
    return folder
