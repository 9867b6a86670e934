"""Codecs and codec language models (plain PyTorch; never imports Lightning or ``tts``).

Layout (see ../shared/DESIGN.md): ``codecs/`` (the ``Codec`` protocol, MelRVQ,
EnCodec), ``valle/`` (AR + NAR, KV-cached decoding) and ``maskgct/`` (masked
generative decoding). All three are implemented.
"""
