"""scripts/codec_precision.py: how many codes float16 storage of a codec keeps."""

import re
import runpy

import pytest
from conftest import REPO

from tts.checkpoint import shipped_models

SCRIPT = str(REPO / "scripts" / "codec_precision.py")


@pytest.mark.skipif("tiny-melrvq" not in shipped_models(), reason="no shipped codec")
def test_reports_code_agreement_and_mel_change(tinyvoices, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    assert main(["--codec", "tiny-melrvq", "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    shares = [float(x) for x in re.search(r"per codebook: (.*)", out).group(1).split()]
    assert len(shares) == 8 and all(0.0 <= s <= 1.0 for s in shares)
    diff, recon = (float(x) for x in re.search(r"stored: (\S+); stored codec vs its input: (\S+)", out).groups())
    # Float16 rounding moves the decoded log-mels far less than the codec's own error does.
    assert 0.0 <= diff < 0.1 * recon


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    assert main(["--codec", str(tmp_path / "none"), "--cuts", "x"]) == 2
    assert main(["--codec", "x", "--cuts", "x", "--limit", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
