"""experiments/codec_levels.py: prompt levels against the codec's training levels."""

import re
import runpy

import pytest
from conftest import REPO

SCRIPT = str(REPO / "experiments" / "codec_levels.py")


def test_reports_prompt_peaks_and_training_loudness(tinyvoices, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    assert main(["--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--every", "1"]) == 0
    out = capsys.readouterr().out
    peaks = [float(x) for x in re.search(r"peak at -20 LUFS \(dBFS\): 10% (\S+), 50% (\S+), 90% (\S+)", out).groups()]
    low = float(re.search(r"at a -6 dBFS peak \(LUFS\): 10% \S+, 50% (\S+),", out).group(1))
    high = float(re.search(r"at a -1 dBFS peak \(LUFS\): 10% \S+, 50% (\S+),", out).group(1))
    assert peaks == sorted(peaks) and peaks[-1] <= 0.0  # the prompt limiter keeps peaks under 0.99
    assert high - low == pytest.approx(5.0, abs=0.05)  # loudness moves dB for dB with the gain
    assert re.search(r"prompt peaks inside the training range: \d+%", out)


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    assert main(["--cuts", str(tmp_path / "none.jsonl.gz")]) == 2
    assert main(["--cuts", "x", "--every", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
