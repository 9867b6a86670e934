"""Feature extraction (mel, codes) with lhotse storage, and resume."""

import numpy as np
import pytest
import torch
from vocos.feature_extractors import MelSpectrogramFeatures

from tts.cli import main
from tts.data.features import prepare_features
from tts.data.manifests import DataError, load_cuts


class FakeCodec:
    """A deterministic stand-in with the Codec interface: 4 codebooks at 75 Hz."""

    sample_rate, frame_rate, n_codebooks, codebook_size = 24000, 75, 4, 1024

    def encode(self, wav):
        n = -(-wav.shape[-1] // 320)
        frames = torch.nn.functional.pad(wav, (0, n * 320 - wav.shape[-1])).reshape(wav.shape[0], n, 320)
        level = (frames.abs().mean(-1) * 5000).long().clamp(0, 1023)  # [B, N]
        return torch.stack([(level + q) % 1024 for q in range(4)], dim=1)  # [B, Q, N]


def test_mel_features_match_vocos(tinyvoices, tmp_path):
    summary = prepare_features(tinyvoices / "cuts_dev.jsonl.gz", tmp_path, kind="mel", batch_duration=20)
    cuts = list(load_cuts(summary["manifest"]))
    assert summary["written"] == len(cuts) == len(load_cuts(tinyvoices, "dev"))
    fe = MelSpectrogramFeatures()
    for cut in cuts:
        mel = cut.load_custom("mel")  # [N, 100]
        ref = fe(torch.from_numpy(cut.load_audio()[0])[None])[0].T.numpy()
        assert mel.dtype == np.float32 and mel.shape[1] == 100
        # lhotse returns round(duration / frame_shift) frames: the reference has one more
        assert ref.shape[0] - mel.shape[0] in (0, 1)
        # batching pads shorter items with zeros; frames away from the end are exact
        np.testing.assert_allclose(mel[:-4], ref[: mel.shape[0]][:-4], atol=1e-4)


def test_codes_and_resume(tinyvoices, tmp_path):
    calls = []

    def interrupt(done, total):
        calls.append(done)
        if done >= 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run

    with pytest.raises(KeyboardInterrupt):
        prepare_features(tinyvoices / "cuts_test_seen.jsonl.gz", tmp_path, kind="codes", codec=FakeCodec(),
                         batch_duration=8, progress=interrupt)
    summary = prepare_features(tinyvoices / "cuts_test_seen.jsonl.gz", tmp_path, kind="codes", codec=FakeCodec(),
                               batch_duration=8)
    total = len(load_cuts(tinyvoices, "test_seen"))
    assert summary["already_done"] >= 3 and summary["already_done"] + summary["written"] == total
    cuts = list(load_cuts(summary["manifest"]))
    assert len(cuts) == len({c.id for c in cuts}) == total  # nothing written twice
    codes = cuts[0].load_custom("codes")
    assert codes.dtype == np.int16 and codes.shape[1] == 4
    assert abs(codes.shape[0] - cuts[0].duration * 75) <= 1


def test_feature_errors(tinyvoices, tmp_path):
    with pytest.raises(DataError, match="needs --codec"):
        prepare_features(tinyvoices / "cuts_dev.jsonl.gz", tmp_path, kind="codes")
    with pytest.raises(DataError, match="Unknown feature kind"):
        prepare_features(tinyvoices / "cuts_dev.jsonl.gz", tmp_path, kind="pitch")
    with pytest.raises(DataError, match="No cut manifest"):
        prepare_features(tmp_path / "cuts_nope.jsonl.gz", tmp_path, kind="mel")
    with pytest.raises(DataError, match="not a Vocos folder"):
        prepare_features(tinyvoices / "cuts_dev.jsonl.gz", tmp_path, kind="mel", vocoder=tmp_path)


def test_cli_prepare_features(tinyvoices, tmp_path, capsys):
    assert main(["prepare", "features", "--cuts", str(tinyvoices / "cuts_test_unseen.jsonl.gz"),
                 "--kind", "mel", "--out", str(tmp_path)]) == 0
    assert "cuts_test_unseen_mel.jsonl.gz" in capsys.readouterr().out
