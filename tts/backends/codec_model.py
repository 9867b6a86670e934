"""What the codec-model backends (VALL-E, MaskGCT) share: loading a model that names
its codec, checking that the codec is the one it was trained on, and the sample rate."""

from __future__ import annotations

from typing import ClassVar

import torch

from . import Backend


class CodecModelBackend(Backend):
    """A backend whose checkpoint depends on a codec (``dependencies: codec``).

    Subclasses set ``label`` (for messages) and implement :meth:`model_classes`.
    """

    label: ClassVar[str]

    def __init__(self, model, codec, info) -> None:
        self.model = model
        self.codec = codec
        self.info = info

    @classmethod
    def model_classes(cls) -> tuple[type, type]:
        """``(model class, config dataclass)``, imported only when a checkpoint is loaded."""
        raise NotImplementedError

    @classmethod
    def load(cls, info, device: torch.device) -> "CodecModelBackend":
        from ..checkpoint import CheckpointError, build_model
        from ..codecs import load_codec

        model_cls, config_cls = cls.model_classes()
        if "codec" not in info.dependencies:
            raise CheckpointError(f"{cls.label} checkpoint '{info.path}' names no codec in model.yaml (dependencies: "
                                  "codec): it cannot encode prompts or decode speech.")
        model = build_model(info, model_cls, config_cls, cls.label)
        config = model.config
        codec = load_codec(info.dependencies["codec"], device=device)
        described = (config.n_codebooks, config.codebook_size, config.sample_rate, float(config.frame_rate))
        actual = (int(codec.n_codebooks), int(codec.codebook_size), int(codec.sample_rate), float(codec.frame_rate))
        if described != actual:
            raise CheckpointError(
                f"Codec '{info.dependencies['codec']}' ({actual[0]} x {actual[1]} codes, {actual[2]} Hz, "
                f"{actual[3]:g} frames/s) is not the one {cls.label} '{info.path}' was trained on "
                f"({described[0]} x {described[1]}, {described[2]} Hz, {described[3]:g} frames/s).")
        return cls(model.eval().to(device), codec.eval(), info)

    @property
    def sample_rate(self) -> int:
        return int(self.codec.sample_rate)
