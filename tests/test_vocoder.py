"""tts.vocoder.Vocoder: official-layout loading (parity with vocos.Vocos), features, errors."""

import warnings

import pytest
import torch
import yaml
from vocos_configs import ENCODEC, MEL, save_official

from tts.checkpoint import CheckpointError
from tts.errors import AudioError
from tts.vocoder import Vocoder, VocoderError


def _reference_vocos(config, seed=0):
    """A randomly initialised vocos.Vocos built the way Vocos.from_hparams does."""
    from vocos import Vocos
    from vocos.pretrained import instantiate_class

    from codec_lm.codecs.vocos_io import _offline_encodec

    torch.manual_seed(seed)
    with _offline_encodec(None):  # the EnCodec variant would otherwise download EnCodec
        parts = {k: instantiate_class((), config[k]) for k in ("feature_extractor", "backbone", "head")}
    return Vocos(**parts).eval()


@pytest.fixture(scope="module")
def mel_folder(tmp_path_factory):
    ref = _reference_vocos(MEL)
    return ref, save_official(ref, MEL, tmp_path_factory.mktemp("voc") / "vocos-mel")


@pytest.fixture(scope="module")
def encodec_folder(tmp_path_factory):
    ref = _reference_vocos(ENCODEC, seed=1)
    return ref, save_official(ref, ENCODEC, tmp_path_factory.mktemp("voc") / "vocos-encodec")


def test_mel_parity_with_vocos(mel_folder):
    ref, folder = mel_folder
    voc = Vocoder.from_pretrained(folder, kind="mel")
    wav = torch.randn(2, 12000) * 0.1
    mel = voc.mel(wav)
    assert torch.equal(mel, ref.feature_extractor(wav))
    assert mel.shape == (2, 100, 12000 // 256 + 1)
    assert torch.equal(voc.decode(mel), ref.decode(mel))
    assert torch.equal(voc.resynthesize(wav), ref(wav))
    assert (voc.sample_rate, voc.hop_length, voc.n_mels, voc.frame_rate) == (24000, 256, 100, 93.75)
    assert voc.mel(wav[0]).shape == (1, 100, 47)  # [T] is a batch of one


def test_mel_settings_are_exactly_vocos(mel_folder):
    # The features must be the ones the vocoder was trained on: log of a magnitude
    # mel spectrogram, center padding, clipped at 1e-7 (vocos.modules.safe_log).
    import torchaudio

    _, folder = mel_folder
    voc = Vocoder.from_pretrained(folder)
    wav = torch.randn(1, 4800) * 0.1
    spec = torchaudio.transforms.MelSpectrogram(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100,
                                                center=True, power=1)(wav)
    assert torch.allclose(voc.mel(wav), torch.log(spec.clamp(min=1e-7)), atol=1e-6)


def test_encodec_variant_parity(encodec_folder):
    ref, folder = encodec_folder
    voc = Vocoder.from_pretrained(folder, kind="encodec")
    codes = torch.randint(0, 1024, (2, 8, 30))  # [B, Q, N]: 8 codebooks = 6 kbps
    expected = ref.decode(ref.codes_to_features(codes.transpose(0, 1)), bandwidth_id=torch.tensor([2]))
    assert torch.equal(voc.decode_codes(codes), expected)
    assert voc.decode_codes(codes).shape == (2, 30 * 320)
    assert voc.bandwidths == [1.5, 3.0, 6.0, 12.0] and voc.frame_rate == 75


def test_loads_with_vocos_package_too(mel_folder):
    # Our folder layout is the official one: the vocos package itself reads it.
    from vocos import Vocos

    ref, folder = mel_folder
    model = Vocos.from_hparams(str(folder / "config.yaml"))
    model.load_state_dict(torch.load(folder / "pytorch_model.bin", weights_only=True))
    wav = torch.randn(1, 4800) * 0.1
    assert torch.equal(model.eval()(wav), ref(wav))


def test_wrong_sample_rate_is_resampled_with_a_warning(mel_folder):
    _, folder = mel_folder
    voc = Vocoder.from_pretrained(folder)
    with pytest.warns(UserWarning, match="16000 Hz was resampled to the vocoder's 24000 Hz"):
        mel = voc.mel(torch.randn(16000) * 0.1, sample_rate=16000)
    assert mel.shape == (1, 100, 24000 // 256 + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        voc.mel(torch.randn(2400) * 0.1, sample_rate=24000)


def test_bad_inputs(mel_folder):
    _, folder = mel_folder
    voc = Vocoder.from_pretrained(folder)
    with pytest.raises(AudioError, match="mono waveform"):
        voc.mel(torch.zeros(1, 2, 100))
    with pytest.raises(AudioError, match="float samples"):
        voc.mel(torch.zeros(100, dtype=torch.int16))
    with pytest.raises(VocoderError, match=r"\[B, 100, N\]"):
        voc.decode(torch.zeros(1, 80, 10))
    with pytest.raises(VocoderError, match="EnCodec variant"):
        voc.decode_codes(torch.zeros(1, 8, 10, dtype=torch.long))


def test_wrong_kind(mel_folder, encodec_folder, tmp_path):
    with pytest.raises(CheckpointError, match="is a Vocos mel vocoder, but the EnCodec variant"):
        Vocoder.from_pretrained(mel_folder[1], kind="encodec")
    with pytest.raises(CheckpointError, match="is a Vocos encodec vocoder, but a mel vocoder"):
        Vocoder.from_pretrained(encodec_folder[1], kind="mel")
    voc = Vocoder.from_pretrained(encodec_folder[1])
    with pytest.raises(VocoderError, match="needs a mel vocoder"):
        voc.mel(torch.zeros(2400))
    with pytest.raises(VocoderError, match=r"Q in \[2, 4, 8, 16\]"):
        voc.decode_codes(torch.zeros(1, 32, 10, dtype=torch.long))
    # A toolkit checkpoint (model.yaml) is not a vocoder.
    ck = tmp_path / "codec"
    ck.mkdir()
    (ck / "model.yaml").write_text("format: 1\nfamily: melrvq\n")
    with pytest.raises(CheckpointError, match="toolkit checkpoint"):
        Vocoder.from_pretrained(ck)


def test_missing_and_corrupt_folders(mel_folder, tmp_path):
    with pytest.raises(CheckpointError, match="neither a shipped model"):
        Vocoder.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no config.yaml"):
        Vocoder.from_pretrained(tmp_path / "empty")

    src = mel_folder[1]
    only_config = tmp_path / "only_config"
    only_config.mkdir()
    (only_config / "config.yaml").write_text((src / "config.yaml").read_text())
    with pytest.raises(CheckpointError, match="incomplete"):
        Vocoder.from_pretrained(only_config)

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "config.yaml").write_text((src / "config.yaml").read_text())
    (truncated / "pytorch_model.bin").write_bytes((src / "pytorch_model.bin").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Vocoder.from_pretrained(truncated)

    bad_yaml = tmp_path / "bad_yaml"
    bad_yaml.mkdir()
    (bad_yaml / "config.yaml").write_text("feature_extractor: [unclosed\n")
    with pytest.raises(CheckpointError, match="not valid YAML"):
        Vocoder.from_pretrained(bad_yaml)

    other = tmp_path / "other_model"
    other.mkdir()
    cfg = yaml.safe_load((src / "config.yaml").read_text())
    cfg["backbone"]["init_args"]["dim"] = 48
    cfg["head"]["init_args"]["dim"] = 48
    (other / "config.yaml").write_text(yaml.safe_dump(cfg))
    (other / "pytorch_model.bin").write_bytes((src / "pytorch_model.bin").read_bytes())
    with pytest.raises(CheckpointError, match="does not fit"):
        Vocoder.from_pretrained(other)


def test_config_cannot_name_arbitrary_classes(mel_folder, tmp_path):
    cfg = yaml.safe_load((mel_folder[1] / "config.yaml").read_text())
    cfg["head"]["class_path"] = "os.system"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "config.yaml").write_text(yaml.safe_dump(cfg))
    (evil / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(CheckpointError, match="only classes of the vocos package"):
        Vocoder.from_pretrained(evil)
