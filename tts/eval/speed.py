"""Speed and memory of synthesis: real-time factor (RTF) and peak memory.

``RTF = synthesis seconds / seconds of audio produced``: below 1 is faster than
real time. Timing follows the usual benchmark rules: warm-up calls first (CUDA
kernels, caches, lazy imports), CUDA synchronized around each timed call, the
median of the repeats reported.

Peak memory is measured during the timed calls only:

* on CUDA, ``torch.cuda.max_memory_allocated`` after resetting the peak counter:
  the tensors' high-water mark, weights included (what a GPU must hold);
* on CPU, the rise of the process's resident set size over its level at the
  start. On Linux the kernel's own high-water mark (``VmHWM``) is reset by
  writing ``5`` to ``/proc/self/clear_refs`` and read after the call, so even
  a peak lasting microseconds counts; where that reset is unsupported (other
  systems, or kernels that accept the write and ignore it) RSS is sampled every
  2 ms in a thread with ``psutil``. Note the Linux method also resets what
  ``resource.getrusage().ru_maxrss`` reports for this process afterwards.

Example::

    result = measure_speed(lambda: synth.synthesize(text, prompt), warmup=1, repeats=3)
    print(f"RTF {result.rtf:.3f}, peak {result.peak_memory_mib:.0f} MiB ({result.memory_kind})")
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .errors import EvalError

_MIB = 1024 * 1024
# RSS may grow a little between the two /proc reads after a high-water-mark reset.
_HWM_RESET_SLACK_KIB = 4 * 1024


def real_time_factor(synthesis_seconds: float, audio_seconds: float) -> float:
    """``synthesis_seconds / audio_seconds``.

    Raises:
        EvalError: ``audio_seconds`` is not positive (no audio was produced).
    """
    if audio_seconds <= 0:
        raise EvalError(f"Cannot compute an RTF for {audio_seconds} s of audio: the synthesis produced nothing.")
    return synthesis_seconds / audio_seconds


def _read_status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _reset_hwm_and_read() -> int | None:
    """Reset the kernel's high-water mark; return it (KiB) if the reset took effect.

    Some kernels (sandboxes, some CI containers) accept the write to
    ``clear_refs`` but keep the lifetime peak: VmHWM then stays above the
    current RSS, and a block whose peak is below that old peak would read as a
    rise of 0. ``None`` tells the caller to sample RSS instead.
    """
    if not _reset_hwm():
        return None
    hwm, rss = _read_status_kib("VmHWM"), _read_status_kib("VmRSS")
    if hwm is None or rss is None or hwm - rss > _HWM_RESET_SLACK_KIB:
        return None
    return hwm


def hwm_reset_works() -> bool:
    """Whether this process can measure CPU peaks with the exact kernel method.

    Probing resets the process's high-water mark (as every :class:`PeakMemory` block does).
    """
    return _reset_hwm_and_read() is not None


class PeakMemory:
    """Context manager measuring peak memory of the code inside it.

    Args:
        device: ``"cpu"``, ``"cuda"`` / ``"cuda:N"`` (or a ``torch.device``).
        interval: sampling period in seconds of the psutil fallback.

    Attributes (after the block):
        kind: ``"cuda_max_allocated"``, ``"cpu_rss_hwm"`` (Linux, exact) or
            ``"cpu_rss_sampled"``; ``"unavailable"`` when nothing could measure.
        peak_bytes: the high-water mark (CUDA allocated / process RSS).
        start_bytes: the level when the block began.
        increase_bytes: ``peak_bytes - start_bytes`` (never negative).
    """

    def __init__(self, device: Any = "cpu", interval: float = 0.002) -> None:
        self.device = str(device)
        self.interval = interval
        self.kind = "unavailable"
        self.peak_bytes = 0
        self.start_bytes = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def increase_bytes(self) -> int:
        return max(0, self.peak_bytes - self.start_bytes)

    def __enter__(self) -> "PeakMemory":
        if self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise EvalError(f"Memory on '{self.device}' was asked for, but no CUDA GPU is visible: use 'cpu'.")
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_bytes = torch.cuda.memory_allocated(self.device)
            self.kind = "cuda_max_allocated"
            return self
        # Free unreachable objects first: if the garbage collector released earlier
        # allocations inside the block, RSS would fall below the start level and hide
        # part of the block's own peak.
        gc.collect()
        hwm = _reset_hwm_and_read()
        if hwm is not None:
            self.start_bytes = hwm * 1024
            self.kind = "cpu_rss_hwm"
            return self
        try:
            import psutil
        except ImportError:
            return self  # kind stays "unavailable"
        proc = psutil.Process()
        self.start_bytes = self.peak_bytes = proc.memory_info().rss
        self.kind = "cpu_rss_sampled"

        def sample() -> None:
            while not self._stop.wait(self.interval):
                self.peak_bytes = max(self.peak_bytes, proc.memory_info().rss)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.kind == "cuda_max_allocated":
            import torch

            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device)
        elif self.kind == "cpu_rss_hwm":
            self.peak_bytes = (_read_status_kib("VmHWM") or 0) * 1024
        elif self.kind == "cpu_rss_sampled" and self._thread is not None:
            self._stop.set()
            self._thread.join()
            import psutil

            self.peak_bytes = max(self.peak_bytes, psutil.Process().memory_info().rss)


@dataclass(frozen=True)
class SpeedResult:
    """What :func:`measure_speed` returns.

    Attributes:
        seconds: median wall-clock seconds of one timed call.
        audio_seconds: seconds of audio one call produced.
        rtf: ``seconds / audio_seconds``.
        times: every timed call's seconds.
        peak_memory_mib: CUDA max allocated (absolute) on GPU; the rise of the
            process RSS over its starting level on CPU. See ``memory_kind``.
        memory_kind: how memory was measured (see :class:`PeakMemory`).
        device: where it was measured.
    """

    seconds: float
    audio_seconds: float
    rtf: float
    times: tuple[float, ...]
    peak_memory_mib: float
    memory_kind: str
    device: str

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["times"] = list(self.times)
        return d


def audio_seconds_of(output: Any) -> float:
    """Duration of what a synthesis call returned: an ``Audio`` (``.duration``),
    a ``(wav, sample_rate)`` pair, or a number of seconds.

    Raises:
        EvalError: anything else (pass ``audio_seconds=`` to :func:`measure_speed`).
    """
    if hasattr(output, "duration"):
        return float(output.duration)
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], (int, float)):
        wav, sr = output
        return float(getattr(wav, "shape", [len(wav)])[-1]) / float(sr)
    if isinstance(output, (int, float)):
        return float(output)
    raise EvalError(
        f"Cannot tell how much audio a {type(output).__name__} holds: return an Audio or (wav, sample_rate) "
        "from the function, or pass audio_seconds=..."
    )


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def measure_speed(
    fn: Callable[[], Any],
    *,
    warmup: int = 1,
    repeats: int = 3,
    device: Any = "cpu",
    audio_seconds: float | None = None,
    measure_memory: bool = True,
) -> SpeedResult:
    """Time ``fn`` (one synthesis) and measure its peak memory.

    Args:
        fn: a call without arguments that synthesizes and returns an ``Audio``,
            ``(wav, sample_rate)`` or the seconds of audio produced.
        warmup: untimed calls first.
        repeats: timed calls; the median is reported.
        device: where ``fn`` runs (``"cpu"``, ``"cuda[:N]"``): selects CUDA
            synchronization and the memory method.
        audio_seconds: duration of the output if ``fn``'s result does not tell it.
        measure_memory: set ``False`` to skip memory measurement.

    Returns:
        :class:`SpeedResult`.
    """
    if warmup < 0 or repeats < 1:
        raise EvalError(f"Need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}.")
    device = str(device)
    for _ in range(warmup):
        fn()
    _sync(device)
    times: list[float] = []
    out: Any = None
    memory = PeakMemory(device) if measure_memory else None
    if memory is not None:
        memory.__enter__()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            out = fn()
            _sync(device)
            times.append(time.perf_counter() - start)
    finally:
        if memory is not None:
            memory.__exit__(None, None, None)
    seconds = statistics.median(times)
    produced = audio_seconds if audio_seconds is not None else audio_seconds_of(out)
    if memory is None or memory.kind == "unavailable":
        peak, kind = float("nan"), "unavailable" if memory is not None else "not measured"
    elif memory.kind == "cuda_max_allocated":
        peak, kind = memory.peak_bytes / _MIB, memory.kind
    else:
        peak, kind = memory.increase_bytes / _MIB, memory.kind
    return SpeedResult(
        seconds=seconds,
        audio_seconds=produced,
        rtf=real_time_factor(seconds, produced),
        times=tuple(times),
        peak_memory_mib=peak,
        memory_kind=kind,
        device=device,
    )


class Stopwatch:
    """``with Stopwatch(device) as sw: ...`` -> ``sw.seconds``; synchronizes CUDA,
    so an evaluator can time each synthesis and fill the RTF column."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = str(device)
        self.seconds = 0.0

    def __enter__(self) -> "Stopwatch":
        _sync(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        _sync(self.device)
        self.seconds = time.perf_counter() - self._start
