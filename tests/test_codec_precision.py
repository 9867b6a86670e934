"""experiments/codec_precision.py: how many codes float16 storage of a codec keeps."""

import re
import runpy

import pytest
import torch
from conftest import REPO
from vocos_configs import MEL

SCRIPT = str(REPO / "experiments" / "codec_precision.py")


@pytest.fixture(scope="module")
def float32_codec(tmp_path_factory):
    """A small random-weight MelRVQ folder stored in float32, beside its (random) vocoder."""
    from codec_lm.codecs import MelRVQ, MelRVQConfig, build_vocos, save_vocos
    from tts.codecs import save_melrvq

    root = tmp_path_factory.mktemp("precision")
    torch.manual_seed(0)
    vocoder = save_vocos(build_vocos(MEL), MEL, root / "vocos")
    model = MelRVQ(MelRVQConfig(n_codebooks=4, codebook_size=64, dim=64, n_layers=1, kmeans_init=False))
    return save_melrvq(root / "codec", model, vocoder)


def test_reports_code_agreement_and_mel_change(float32_codec, tinyvoices, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    assert main(["--codec", str(float32_codec), "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--limit", "2"]) == 0
    out = capsys.readouterr().out
    shares = [float(x) for x in re.search(r"per codebook: (.*)", out).group(1).split()]
    assert len(shares) == 4 and all(0.5 <= s <= 1.0 for s in shares)
    diff, recon = (float(x) for x in re.search(r"stored: (\S+); stored codec vs its input: (\S+)", out).groups())
    # Float16 rounding moves the decoded log-mels far less than the codec's own error does.
    assert 0.0 <= diff < 0.1 * recon


def test_a_float16_folder_is_refused(float32_codec, tinyvoices, tmp_path, capsys):
    main = runpy.run_path(SCRIPT)["main"]
    half = runpy.run_path(str(REPO / "scripts" / "half_storage.py"))["half_storage"](float32_codec, tmp_path / "f16")
    assert main(["--codec", str(half), "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--limit", "1"]) == 2
    assert "already stored in float16: measure its float32 export" in capsys.readouterr().err


def test_bad_arguments_are_one_line_errors(float32_codec, tmp_path, capsys):
    from lhotse import CutSet

    main = runpy.run_path(SCRIPT)["main"]
    empty = tmp_path / "empty.jsonl.gz"
    CutSet.from_cuts([]).to_file(empty)
    assert main(["--codec", str(tmp_path / "none"), "--cuts", "x"]) == 2
    assert main(["--codec", "x", "--cuts", "x", "--limit", "0"]) == 2
    assert main(["--codec", str(float32_codec), "--cuts", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "holds no cuts" in err[-1]
