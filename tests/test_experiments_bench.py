"""The speed probes in experiments/: the VALL-E decoding step alone and our AR against Hugging Face GPT-2."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.usefixtures("single_thread")


def test_bench_gpt2_script_runs_both_sides():
    """experiments/bench_gpt2.py (README's comparison with Hugging Face GPT-2) at a tiny size."""
    script = REPO / "experiments" / "bench_gpt2.py"
    out = subprocess.run([sys.executable, str(script), "--dim", "64", "--layers", "2", "--tokens", "4", "--rounds", "2",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r["ours_tokens_per_s"] > 0 and r["gpt2_tokens_per_s"] > 0 and r["floor_tokens_per_s"] > 0
    assert r["ratio_wall"] == pytest.approx(r["gpt2_tokens_per_s"] / r["ours_tokens_per_s"])


def test_bench_decode_step_script_times_each_cache_length():
    """experiments/bench_decode_step.py (README's step times as the cache grows) at a tiny size."""
    script = REPO / "experiments" / "bench_decode_step.py"
    out = subprocess.run([sys.executable, str(script), "--dim", "64", "--layers", "2", "--heads", "2", "--keys",
                          "1,40", "--steps", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("64 wide, 2 layers") and "weight floor" in lines[0]
    assert len(lines) == 3 and "1 cached positions" in lines[1] and "40 cached positions" in lines[2]
    # 2 tensors x 2 layers x 64 x 40 positions x 4 bytes = 0.04 MiB
    assert "(  0.0 MiB" in lines[2] and "of the weight floor" in lines[2]
