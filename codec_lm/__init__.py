"""Codecs and codec language models (plain PyTorch; never imports Lightning or ``tts``).

Layout (see docs/architecture.md): ``codecs/`` (the ``Codec`` protocol, MelRVQ,
EnCodec, and Vocos: its official folder layout and configs), ``valle/`` (AR + NAR,
KV-cached decoding) and ``maskgct/`` (masked generative decoding). Pieces shared
with the other model packages come from ``nn_common``.
"""
