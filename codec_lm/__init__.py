"""Codecs and codec language models (plain PyTorch; never imports Lightning or ``tts``).

Planned layout (see ../shared/DESIGN.md): ``codecs/`` (the ``Codec`` protocol, MelRVQ,
EnCodec), ``valle/`` (AR + NAR, KV-cached decoding) and ``maskgct/`` (masked
generative decoding). ``codecs/`` is implemented; the language models are to come.
"""
