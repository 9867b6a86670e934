"""Small Vocos configs (official layout sections) for tests: the official feature
settings with a narrow backbone, so that random models build and run in milliseconds."""

MEL = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                          "init_args": {"sample_rate": 24000, "n_fft": 1024, "hop_length": 256, "n_mels": 100,
                                        "padding": "center"}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 100, "dim": 32, "intermediate_dim": 64, "num_layers": 2}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 32, "n_fft": 1024, "hop_length": 256, "padding": "center"}},
}

ENCODEC = {
    "feature_extractor": {"class_path": "vocos.feature_extractors.EncodecFeatures",
                          "init_args": {"encodec_model": "encodec_24khz", "bandwidths": [1.5, 3.0, 6.0, 12.0],
                                        "train_codebooks": False}},
    "backbone": {"class_path": "vocos.models.VocosBackbone",
                 "init_args": {"input_channels": 128, "dim": 32, "intermediate_dim": 64, "num_layers": 2,
                               "adanorm_num_embeddings": 4}},
    "head": {"class_path": "vocos.heads.ISTFTHead",
             "init_args": {"dim": 32, "n_fft": 1280, "hop_length": 320, "padding": "same"}},
}


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
