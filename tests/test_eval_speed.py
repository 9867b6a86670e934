"""Real-time factor and peak memory (tts.eval.speed)."""

from __future__ import annotations

import mmap
import time

import numpy as np
import pytest
import torch

from tts.audio import Audio
from tts.eval import EvalError, PeakMemory, Stopwatch, measure_speed, real_time_factor
from tts.eval import speed as speed_mod

MIB = 1024 * 1024


def _touch(n_bytes: int) -> np.ndarray:
    """``n_bytes`` of new resident memory.

    An anonymous mmap gets fresh pages from the kernel, and writing every page makes
    them resident. ``np.ones`` would go through malloc, which may hand back memory a
    previous test freed but that is still resident (seen in a full-suite run once a
    library had raised malloc's mmap threshold): RSS would not grow and these tests
    would fail for a reason that has nothing to do with the measurement.
    """
    block = np.frombuffer(mmap.mmap(-1, n_bytes), dtype=np.uint8)  # the array keeps the mapping alive
    block[:] = 1
    return block


def test_real_time_factor():
    assert real_time_factor(0.5, 2.0) == 0.25
    with pytest.raises(EvalError, match="produced nothing"):
        real_time_factor(1.0, 0.0)


def test_audio_seconds_of_outputs():
    assert speed_mod.audio_seconds_of(Audio(torch.zeros(24000), 24000)) == 1.0
    assert speed_mod.audio_seconds_of((np.zeros(8000), 16000)) == 0.5
    assert speed_mod.audio_seconds_of((torch.zeros(1, 32000), 16000)) == 2.0
    assert speed_mod.audio_seconds_of(1.5) == 1.5
    with pytest.raises(EvalError, match="pass audio_seconds"):
        speed_mod.audio_seconds_of("out.wav")


def test_measure_speed_warms_up_and_takes_the_median():
    calls = []

    def synth():
        calls.append(1)
        time.sleep(0.2 if len(calls) == 1 else 0.02)  # the first (warm-up) call is slow
        return np.zeros(16000, dtype=np.float32), 16000

    result = measure_speed(synth, warmup=1, repeats=3)
    assert len(calls) == 4 and len(result.times) == 3
    assert result.audio_seconds == 1.0
    assert 0.02 <= result.seconds < 0.15  # the warm-up call is not timed
    assert result.rtf == pytest.approx(result.seconds)
    assert result.device == "cpu" and result.memory_kind.startswith("cpu_rss")
    assert result.as_dict()["times"] == list(result.times)
    with pytest.raises(EvalError, match="repeats >= 1"):
        measure_speed(synth, repeats=0)


def test_measure_speed_with_explicit_duration():
    result = measure_speed(lambda: None, warmup=0, repeats=1, audio_seconds=2.0, measure_memory=False)
    assert result.memory_kind == "not measured" and np.isnan(result.peak_memory_mib)


needs_hwm_reset = pytest.mark.skipif(
    not speed_mod.hwm_reset_works(),
    reason="this kernel cannot reset the RSS high-water mark (not Linux, or a sandbox that ignores clear_refs); "
    "the psutil sampler measures instead (test_psutil_sampling_fallback)",
)


@needs_hwm_reset
def test_cpu_peak_counts_memory_freed_before_the_end():
    with PeakMemory("cpu") as pm:
        block = _touch(200 * MIB)
        del block
    assert pm.kind == "cpu_rss_hwm"
    assert 180 * MIB <= pm.increase_bytes <= 400 * MIB


@needs_hwm_reset
def test_cpu_peak_is_reset_between_measurements():
    big = _touch(300 * MIB)
    del big  # the process's lifetime peak is now high
    with PeakMemory("cpu") as pm:
        block = _touch(60 * MIB)
        del block
    # ru_maxrss-style lifetime peaks would report ~0 or ~300 MiB here.
    assert 50 * MIB <= pm.increase_bytes <= 200 * MIB


def test_ignored_hwm_reset_falls_back_to_sampling(monkeypatch):
    # A kernel that accepts the write but keeps the lifetime peak: after a big block
    # is freed, VmHWM stays far above RSS, and PeakMemory must not trust it.
    pytest.importorskip("psutil")
    if speed_mod._read_status_kib("VmHWM") is None:
        pytest.skip("no /proc/self/status here")
    big = _touch(300 * MIB)
    del big
    monkeypatch.setattr(speed_mod, "_reset_hwm", lambda: True)
    with PeakMemory("cpu", interval=0.001) as pm:
        block = _touch(60 * MIB)
        time.sleep(0.05)
        del block
    assert pm.kind == "cpu_rss_sampled"
    assert 50 * MIB <= pm.increase_bytes <= 200 * MIB


def test_psutil_sampling_fallback(monkeypatch):
    pytest.importorskip("psutil")
    monkeypatch.setattr(speed_mod, "_reset_hwm", lambda: False)
    with PeakMemory("cpu", interval=0.001) as pm:
        block = _touch(150 * MIB)
        time.sleep(0.05)  # sampling sees what is held for a few periods
        del block
    assert pm.kind == "cpu_rss_sampled"
    assert 120 * MIB <= pm.increase_bytes <= 400 * MIB


def test_measure_speed_reports_cpu_memory_increase():
    def synth():
        block = _touch(100 * MIB)
        time.sleep(0.05)  # held for a few periods, so the psutil sampler (where used) sees it too
        return float(block[0])  # 1.0 s of "audio"

    result = measure_speed(synth, warmup=0, repeats=1)
    assert result.audio_seconds == 1.0
    assert 80 <= result.peak_memory_mib <= 400


def test_stopwatch():
    with Stopwatch() as sw:
        time.sleep(0.02)
    assert 0.015 <= sw.seconds < 0.5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_memory_without_gpu_is_a_clear_error():
    with pytest.raises(EvalError, match="no CUDA GPU"):
        with PeakMemory("cuda"):
            pass


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_memory_and_sync():
    def synth():
        x = torch.randn(64 * MIB // 4, device="cuda")  # 64 MiB
        y = (x * 2).sum()
        del x
        return (torch.zeros(24000), 24000) if y is not None else None

    result = measure_speed(synth, warmup=1, repeats=2, device="cuda")
    assert result.memory_kind == "cuda_max_allocated"
    assert result.peak_memory_mib >= 64
