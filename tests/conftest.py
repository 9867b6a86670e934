"""Shared fixtures. Tests run on CPU with tiny inputs; see pyproject for markers."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DEMO_PROMPT = REPO / "assets" / "demo_prompt.wav"


def tone(seconds: float, sr: int = 24000, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """A sine tone with a 10 ms fade, float32 ``[T]``."""
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * math.pi * freq * t)
    fade = min(len(x) // 2, int(0.01 * sr))
    if fade:
        ramp = np.linspace(0, 1, fade)
        x[:fade] *= ramp
        x[-fade:] *= ramp[::-1]
    return x.astype(np.float32)


def one_line_error(capsys, argv, out=None) -> str:
    """Run the CLI; check exit 2, one line on stderr, no traceback, no output file; return the line."""
    from tts.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.startswith("error: ")
    assert "\n" not in err, f"more than one line on stderr:\n{err}"
    if out is not None:
        assert not out.exists()
    return err.removeprefix("error: ")


@pytest.fixture
def single_thread():
    """Torch on one thread for the test (a module opts in with
    ``pytestmark = pytest.mark.usefixtures("single_thread")``): tiny matrices gain nothing
    from a second thread, and on a busy 2-core machine the thread synchronization makes
    each step many times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def write_wav(tmp_path):
    """``write_wav(name, data, sr)`` -> path of a file written with soundfile."""

    def _write(name: str, data: np.ndarray, sr: int = 24000, **kw) -> Path:
        path = tmp_path / name
        sf.write(path, data, sr, **kw)
        return path

    return _write


@pytest.fixture(scope="session")
def tinyvoices() -> Path:
    """A 0.2-hour TinyVoices corpus (seed 0): generated once, cached in .cache/test-data.

    ``prepare_tinyvoices`` is deterministic and resumable, so a cached copy is reused
    (about 1 s) and a missing one is synthesized (about 10 s on 2 cores).
    """
    from tts.data.tinyvoices import prepare_tinyvoices

    root = Path(os.environ.get("TTS_TEST_DATA", REPO / ".cache" / "test-data"))
    out = root / "tinyvoices-0.2h-seed0"
    prepare_tinyvoices(out, hours=0.2, seed=0, num_jobs=2)
    return out


@pytest.fixture(scope="session")
def random_flow(tmp_path_factory) -> Path:
    """A randomly initialised tiny flow checkpoint (family "flow") with its random Vocos:
    enough to run every code path of the Synthesizer, the CLI and the evaluator."""
    import torch
    from vocos_configs import MEL

    from codec_lm.codecs import build_vocos, save_vocos
    from flow import FlowConfig, FlowTTS
    from text_frontend import PhonemeVocab
    from tts.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    vocoder = save_vocos(build_vocos(MEL), MEL, root / "tiny-vocos")
    config = FlowConfig(dim=32, depth=1, heads=2, text_dim=16, text_conv_layers=1)
    return save_checkpoint(root / "tiny-flow", "flow", config, FlowTTS(config).state_dict(),
                           vocab=PhonemeVocab.default(), dependencies={"vocoder": vocoder}, card="# random\n")


@pytest.fixture(scope="session")
def codes_setup(tinyvoices, tmp_path_factory):
    """For the codec-model recipes (VALL-E, MaskGCT): a random-weights MelRVQ codec
    (4 x 64 at 93.75 Hz) and codes from it of 40 TinyVoices training cuts (a few steps
    need no more) and of test_seen (validation). Returns ``(root, codec folder)``;
    the codes are under ``root / "codes"``."""
    import torch
    from vocos_configs import MEL

    from codec_lm.codecs import MelRVQ, MelRVQConfig, build_vocos, save_vocos
    from tts.codecs import save_melrvq
    from tts.data.features import prepare_features
    from tts.data.manifests import load_cuts

    root = tmp_path_factory.mktemp("codes_setup")
    torch.manual_seed(0)
    vocoder = save_vocos(build_vocos(MEL), MEL, root / "vocos")
    quantizer = MelRVQ(MelRVQConfig(n_codebooks=4, codebook_size=64, dim=64, n_layers=1, kmeans_init=False))
    codec = save_melrvq(root / "codec", quantizer, vocoder)
    load_cuts(tinyvoices, "train").subset(first=40).to_file(root / "cuts_train.jsonl.gz")
    for manifest in (root / "cuts_train.jsonl.gz", tinyvoices / "cuts_test_seen.jsonl.gz"):
        prepare_features(manifest, root / "codes", kind="codes", codec=codec, batch_duration=60)
    return root, codec


@pytest.fixture(scope="session")
def aligned_codes_setup(tinyvoices, codes_setup):
    """VALL-E R's data: the cuts of ``codes_setup`` aligned by the shipped tiny-aligner and coded
    by its random codec. Returns ``(root, codec folder)``; the codes manifests are
    ``root / "codes" / "cuts_{train,test_seen}_aligned_codes.jsonl.gz"``."""
    from tts.data.alignment import align_cuts
    from tts.data.features import prepare_features

    source, codec = codes_setup
    root = source / "aligned"
    for manifest in (source / "cuts_train.jsonl.gz", tinyvoices / "cuts_test_seen.jsonl.gz"):
        align_cuts(manifest, "tiny-aligner", out=root)
        aligned = root / manifest.name.replace(".jsonl.gz", "_aligned.jsonl.gz")
        prepare_features(aligned, root / "codes", kind="codes", codec=codec, batch_duration=60)
    return root, codec


@pytest.fixture(scope="session")
def random_aligner(tmp_path_factory) -> Path:
    """A randomly initialised tiny phone-aligner checkpoint (family "aligner")."""
    import torch

    from aligner import AlignerConfig, PhoneAligner
    from text_frontend import PhonemeVocab
    from tts.checkpoint import save_checkpoint

    torch.manual_seed(0)
    vocab = PhonemeVocab.default()
    config = AlignerConfig(vocab_size=len(vocab), dim=32, conv_layers=1, layers=1, heads=2, attn_dim=16,
                           text_conv_layers=1)
    return save_checkpoint(tmp_path_factory.mktemp("aligners") / "tiny-aligner", "aligner", config,
                           PhoneAligner(config).state_dict(), vocab=vocab, card="# random\n")
