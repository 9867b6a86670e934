"""Packaging contracts (docs/architecture.md); the import rules between packages are in test_layout.py."""

import subprocess
import sys

from conftest import REPO


def test_top_level_packages_import():
    subprocess.run([sys.executable, "-c", "import tts, codec_lm, flow, text_frontend, nn_common, recipes"], check=True, cwd=REPO)


def test_import_tts_is_light():
    # `import tts` must not load torch, Lightning or the front-end (nothing is loaded at
    # import time); names are resolved on first use.
    code = "import sys, tts\nassert not {'torch', 'lightning', 'phonemizer'} & set(sys.modules), sorted(sys.modules)\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_lazy_names_resolve():
    import tts

    assert tts.Audio.__name__ == "Audio"
    assert callable(tts.load_prompt)


def test_ci_runs_every_test():
    """`.ci/run` runs the fast suite, the slow tests and the browser tests (Chromium installed,
    and required: a missing browser fails the run instead of skipping its tests)."""
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and '-m "slow and not gpu"' in ci
    assert "scripts/install_chromium.sh" in ci and "export TTS_REQUIRE_BROWSER=1" in ci
