"""The shipped models say the same as before a change: same seed, same samples within 1e-5.

See ``golden.py`` for what is synthesized and how to regenerate the fixture (only for an
intended output change).
"""

import json
import warnings

import pytest

import golden
from tts.checkpoint import shipped_models

FIXTURE = json.loads(golden.FIXTURE.read_text(encoding="utf-8"))
TOLERANCE = 1e-5


@pytest.mark.skipif(not shipped_models(), reason="no checkpoints/ in this checkout")
@pytest.mark.parametrize("name", sorted(FIXTURE["models"]))
def test_shipped_model_output_unchanged(name):
    expected = FIXTURE["models"][name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # VALL-E's "cut at the length cap" is part of the fixture
        got = golden.synthesize(name)
    assert got["sample_rate"] == expected["sample_rate"]
    assert got["length"] == expected["length"], f"{name}: {got['length']} samples, the fixture has {expected['length']}"
    for key in ("mean_abs", "rms"):
        assert abs(got[key] - expected[key]) < TOLERANCE, f"{name}: {key} {got[key]:.7f} != {expected[key]:.7f}"
    worst = max(abs(a - b) for a, b in zip(got["samples"], expected["samples"]))
    assert worst < TOLERANCE, f"{name}: a stored sample differs by {worst:.2e}"
