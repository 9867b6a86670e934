"""Lightning training recipes, one folder per trainable model (importable from a checkout).

This is the only package that imports Lightning. ``cli.py`` is the shared LightningCLI launcher
(``tts train``); ``vocos/`` and ``melrvq/`` train the vocoder and the MelRVQ codec.
"""
