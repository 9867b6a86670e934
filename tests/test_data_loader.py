"""TTSDataset batches and the Lightning data module's bucketing sampler."""

import pytest
import torch

from recipes.data import TTSDataModule
from text_frontend import PhonemeVocab
from tts.data.dataset import CODE_PAD, TTSDataset, pad_stack
from tts.data.features import prepare_features
from tts.data.manifests import DataError, load_cuts


def test_pad_stack():
    out, lens = pad_stack([torch.ones(2, 3), torch.ones(2, 5)], pad_value=-1)
    assert out.shape == (2, 2, 5) and lens.tolist() == [3, 5]
    assert (out[0, :, 3:] == -1).all()


def test_audio_batch(tinyvoices):
    cuts = list(load_cuts(tinyvoices, "dev"))[:4]
    batch = TTSDataset()[cuts]
    assert batch["ids"] == [c.id for c in cuts]
    B = len(cuts)
    assert batch["phonemes"].shape[0] == B and batch["phonemes"].dtype == torch.long
    assert batch["audio"].shape[0] == B and batch["audio"].dtype == torch.float32
    for i, cut in enumerate(cuts):
        n = int(batch["phoneme_lens"][i])
        assert (batch["phonemes"][i, n:] == PhonemeVocab.pad_id).all()
        assert (batch["phonemes"][i, :n] != PhonemeVocab.pad_id).all()
        assert int(batch["audio_lens"][i]) == cut.num_samples
        assert batch["speakers"][i] == cut.supervisions[0].speaker
    assert batch["texts"][0] == cuts[0].supervisions[0].text


def test_mel_and_codes_batches(tinyvoices, tmp_path):
    from test_data_features import FakeCodec

    mel_manifest = prepare_features(tinyvoices / "cuts_test_unseen.jsonl.gz", tmp_path, kind="mel")["manifest"]
    code_manifest = prepare_features(tinyvoices / "cuts_test_unseen.jsonl.gz", tmp_path, kind="codes",
                                     codec=FakeCodec())["manifest"]
    cuts = list(load_cuts(mel_manifest))[:3]
    batch = TTSDataset(features="mel")[cuts]
    assert batch["mel"].shape[:2] == (3, 100) and batch["mel_lens"].max() == batch["mel"].shape[-1]
    cuts = list(load_cuts(code_manifest))[:3]
    batch = TTSDataset(features="codes")[cuts]
    assert batch["codes"].shape[:2] == (3, 4) and batch["codes"].dtype == torch.long
    i = int(batch["code_lens"].argmin())
    assert (batch["codes"][i, :, batch["code_lens"][i]:] == CODE_PAD).all()


def test_missing_features_is_a_clear_error(tinyvoices):
    cuts = list(load_cuts(tinyvoices, "dev"))[:1]
    with pytest.raises(DataError, match="tts prepare features"):
        TTSDataset(features="mel")[cuts]


def test_datamodule_buckets_by_duration(tinyvoices):
    dm = TTSDataModule(str(tinyvoices), max_duration=30.0, num_workers=0)
    seen = set()
    for batch in dm.train_dataloader():
        durations = batch["audio_lens"] / 24000
        # lhotse stops a batch once one more cut would overflow it, keeping the cut that
        # crossed the limit: without its longest cut a batch is always within max_duration.
        assert durations.sum().item() - durations.max().item() <= 30.0 + 1e-6
        seen.update(batch["ids"])
    assert len(seen) >= 0.8 * len(load_cuts(tinyvoices, "train"))  # drop_last may skip a partial batch
    val = list(dm.val_dataloader())
    assert sum(len(b["ids"]) for b in val) == len(load_cuts(tinyvoices, "dev"))


def test_datamodule_with_workers(tinyvoices):
    dm = TTSDataModule(str(tinyvoices), val_cuts="cuts_test_unseen.jsonl.gz", max_duration=20.0, num_workers=2)
    batch = next(iter(dm.val_dataloader()))
    assert batch["phonemes"].shape[0] >= 1


def test_datamodule_missing_split(tinyvoices):
    dm = TTSDataModule(str(tinyvoices), val_cuts="cuts_valid.jsonl.gz", num_workers=0)
    with pytest.raises(DataError, match="Splits in"):
        dm.val_dataloader()
