"""Lightning training recipes, one folder per trainable model (importable from a checkout).

This is the only package that imports Lightning, and only ``tts train`` / ``tts export``
(``tts/commands/train.py``) import it. ``registry.py`` names the recipes, ``cli.py`` is the
shared LightningCLI launcher and ``export.py`` the one exporter; ``<model>/module.py`` wraps a model package's module; the
shared pieces are in ``common.py``, ``optim.py``, ``features.py``, ``data.py``, ``crops.py``,
``cards.py``, ``callbacks.py`` and ``probes.py`` (see docs/architecture.md).
"""
