"""Audio codecs behind the :class:`Codec` protocol (``wav [B, T] <-> codes [B, Q, N]``).

- :class:`MelRVQCodec`: residual VQ over Vocos log-mel frames, decoded by Vocos.
- :class:`EncodecCodec`: the ``encodec`` 24 kHz model, decoded by EnCodec or by the
  Vocos EnCodec variant.
- :mod:`.vocos_io`: Vocos models in the official folder layout.

Names are imported on first use, so ``import codec_lm.codecs`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

# Name -> module, imported on first use (PEP 562). tts/__init__.py and tts/eval/__init__.py
# have tables of the same shape: each lists its own package's names, and a model package
# may not import tts, so there is no loader to share.
_LAZY = {
    "Codec": ".base",
    "CodecError": ".base",
    "MelRVQConfig": ".melrvq",
    "MelRVQ": ".melrvq",
    "MelRVQCodec": ".melrvq",
    "EncodecCodec": ".encodec",
    "VocosLoadError": ".vocos_io",
    "load_vocos": ".vocos_io",
    "save_vocos": ".vocos_io",
    "build_vocos": ".vocos_io",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
