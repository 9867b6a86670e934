"""Speaker similarity (tts.eval.similarity, tts.eval.speaker_encoders).

Resemblyzer runs with its real bundled weights on flite voices; ECAPA and WavLM
load folders in their official layouts holding tiny randomly initialised models
(no real weights can be downloaded here), which checks the loading code, not
the quality of their embeddings.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tts.errors import TTSError
from tts.eval import EvalError, ModelFolderError, SpeakerSimilarity, cosine_similarity, load_speaker_encoder
from tts.eval.speaker_encoders import SpeakerEncoder

FLITE = shutil.which("flite")
SENTENCES = {
    "slt_a": ("slt", "The birch canoe slid on the smooth planks."),
    "slt_b": ("slt", "Please call Stella and ask her to bring these things with her from the store."),
    "kal": ("kal", "Please call Stella and ask her to bring these things with her from the store."),
    "awb": ("awb", "Please call Stella and ask her to bring these things with her from the store."),
}


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, Path]:
    if not FLITE:
        pytest.skip("flite is needed to synthesize test speech")
    out = tmp_path_factory.mktemp("voices")
    for name, (voice, text) in SENTENCES.items():
        subprocess.run([FLITE, "-voice", voice, "-t", text, "-o", str(out / f"{name}.wav")], check=True)
    return {name: out / f"{name}.wav" for name in SENTENCES}


@pytest.fixture(scope="module")
def resemblyzer() -> SpeakerSimilarity:
    return SpeakerSimilarity("resemblyzer", device="cpu")


def test_cosine_similarity():
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine_similarity(np.array([1.0, 1.0]), np.array([-1.0, -1.0])) == pytest.approx(-1.0)
    with pytest.raises(EvalError, match="sizes 2 and 3"):
        cosine_similarity(np.ones(2), np.ones(3))
    with pytest.raises(EvalError, match="all zeros"):
        cosine_similarity(np.zeros(2), np.ones(2))


def test_same_voice_scores_higher_than_other_voices(resemblyzer, voices):
    same = resemblyzer.similarity(voices["slt_a"], voices["slt_b"])  # same voice, other sentence
    other_kal = resemblyzer.similarity(voices["slt_b"], voices["kal"])  # same sentence, other voice
    other_awb = resemblyzer.similarity(voices["slt_b"], voices["awb"])
    # Measured: 0.89 vs 0.46 (kal) / 0.48 (awb).
    assert same > 0.75
    assert same > other_kal + 0.2 and same > other_awb + 0.2
    assert resemblyzer.similarity(voices["kal"], voices["kal"]) == pytest.approx(1.0, abs=1e-5)


def test_waveforms_at_any_rate(resemblyzer, voices):
    data, sr = sf.read(voices["slt_a"], dtype="float32")
    emb_path = resemblyzer.embed(voices["slt_a"])
    assert emb_path.shape == (256,) and emb_path.dtype == np.float32
    assert cosine_similarity(resemblyzer.embed(data, sr), emb_path) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(EvalError, match="without its sample rate"):
        resemblyzer.embed(data)
    # Different rates for the two sides.
    other, other_sr = sf.read(voices["kal"], dtype="float32")
    mixed = resemblyzer.similarity(data, other, sample_rate=sr, sample_rate_b=other_sr)
    assert mixed == pytest.approx(resemblyzer.similarity(voices["slt_a"], voices["kal"]), abs=1e-3)


class CountingEncoder(SpeakerEncoder):
    name = "counting"

    def __init__(self):
        self.calls = 0

    def embed(self, wav):
        self.calls += 1
        return np.array([wav.mean() + 1.0, wav.std() + 1.0], dtype=np.float32)


def test_file_embeddings_are_cached(voices, tmp_path):
    enc = CountingEncoder()
    sim = SpeakerSimilarity(enc, cache_size=2)
    sim.embed(voices["slt_a"])
    sim.embed(str(voices["slt_a"]))  # same file, other spelling
    assert enc.calls == 1
    data = np.zeros(16000, dtype=np.float32)
    sim.embed(data, 16000)
    sim.embed(data, 16000)  # arrays are not cached
    assert enc.calls == 3
    # A rewritten file is embedded again (the key holds size and mtime).
    copy = tmp_path / "x.wav"
    shutil.copy(voices["kal"], copy)
    sim.embed(copy)
    shutil.copy(voices["awb"], copy)
    sim.embed(copy)
    assert enc.calls == 5
    assert len(sim._cache) == 2  # least recently used dropped


def test_unknown_encoder_and_missing_folders():
    with pytest.raises(EvalError, match="Unknown speaker encoder 'xvec'"):
        load_speaker_encoder("xvec")
    for name in ("ecapa", "wavlm"):
        with pytest.raises(ModelFolderError, match="needs a local model folder") as info:
            load_speaker_encoder(name)
        assert isinstance(info.value, TTSError)
        with pytest.raises(ModelFolderError, match="does not exist"):
            load_speaker_encoder(name, "/nonexistent/model")


# Same keys as speechbrain/spkrec-ecapa-voxceleb's hyperparams.yaml, tiny sizes.
ECAPA_YAML = """\
n_mels: 80
pretrained_path: speechbrain/spkrec-ecapa-voxceleb
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: !ref <n_mels>
mean_var_norm: !new:speechbrain.processing.features.InputNormalization
    norm_type: sentence
    std_norm: False
embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN
    input_size: !ref <n_mels>
    channels: [32, 32, 32, 32, 96]
    kernel_sizes: [5, 3, 3, 3, 1]
    dilations: [1, 2, 3, 4, 1]
    attention_channels: 16
    lin_neurons: 24
classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier
    input_size: 24
    out_neurons: 2
mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization
    norm_type: global
    std_norm: False
modules:
    compute_features: !ref <compute_features>
    mean_var_norm: !ref <mean_var_norm>
    embedding_model: !ref <embedding_model>
    mean_var_norm_emb: !ref <mean_var_norm_emb>
    classifier: !ref <classifier>
label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        embedding_model: !ref <embedding_model>
        mean_var_norm_emb: !ref <mean_var_norm_emb>
        classifier: !ref <classifier>
        label_encoder: !ref <label_encoder>
    paths:
        embedding_model: !ref <pretrained_path>/embedding_model.ckpt
        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt
        classifier: !ref <pretrained_path>/classifier.ckpt
        label_encoder: !ref <pretrained_path>/label_encoder.txt
"""


@pytest.fixture(scope="module")
def ecapa_folder(tmp_path_factory) -> Path:
    """A tiny random ECAPA saved with SpeechBrain's own checkpoint hooks."""
    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook

    folder = tmp_path_factory.mktemp("ecapa")
    (folder / "hyperparams.yaml").write_text(ECAPA_YAML)
    torch.manual_seed(0)
    hp = load_hyperpyyaml(ECAPA_YAML)
    hp["label_encoder"].update_from_iterable(["spk0", "spk1"])
    hp["mean_var_norm_emb"](torch.randn(4, 1, 24), torch.ones(4))  # global stats need one update
    for name in ("embedding_model", "mean_var_norm_emb", "classifier", "label_encoder"):
        suffix = "txt" if name == "label_encoder" else "ckpt"
        get_default_hook(hp[name], DEFAULT_SAVE_HOOKS)(hp[name], folder / f"{name}.{suffix}")
    return folder


def test_ecapa_loads_from_a_local_folder(ecapa_folder, voices, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # SpeechBrain must not leave copies in the working directory
    before = sorted(p.name for p in ecapa_folder.iterdir())
    enc = load_speaker_encoder("ecapa", ecapa_folder, device="cpu")
    assert sorted(p.name for p in ecapa_folder.iterdir()) == before  # nor in the model folder
    saved = torch.load(ecapa_folder / "embedding_model.ckpt", weights_only=True)
    loaded = enc._model.mods.embedding_model.state_dict()
    assert all(torch.equal(saved[k], loaded[k].cpu()) for k in saved)  # weights come from the folder
    sim = SpeakerSimilarity(enc)
    emb = sim.embed(voices["slt_a"])
    assert emb.shape == (24,) and np.isfinite(emb).all()
    assert sim.similarity(voices["slt_a"], voices["slt_a"]) == pytest.approx(1.0, abs=1e-5)
    assert list(tmp_path.iterdir()) == []


def test_ecapa_folder_without_weights_is_a_clear_error(ecapa_folder, tmp_path):
    broken = tmp_path / "ecapa"
    broken.mkdir()
    shutil.copy(ecapa_folder / "hyperparams.yaml", broken)
    with pytest.raises(ModelFolderError, match="missing embedding_model.ckpt.*spkrec-ecapa-voxceleb"):
        load_speaker_encoder("ecapa", broken)
    shutil.copy(ecapa_folder / "embedding_model.ckpt", broken)  # classifier.ckpt etc. still missing
    with pytest.raises(ModelFolderError, match="Cannot load the ECAPA model"):
        load_speaker_encoder("ecapa", broken, device="cpu")


def _tiny_wavlm_config():
    from transformers import WavLMConfig

    return WavLMConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        tdnn_dim=(16, 16, 16, 16, 32),
        xvector_output_dim=24,
        num_buckets=32,
        max_bucket_distance=50,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )


@pytest.fixture(scope="module")
def wavlm_folder(tmp_path_factory) -> Path:
    from transformers import Wav2Vec2FeatureExtractor, WavLMForXVector

    folder = tmp_path_factory.mktemp("wavlm")
    torch.manual_seed(0)
    WavLMForXVector(_tiny_wavlm_config()).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=False, return_attention_mask=True
    ).save_pretrained(folder)
    return folder


def test_wavlm_loads_from_a_local_folder(wavlm_folder, voices):
    sim = SpeakerSimilarity("wavlm", wavlm_folder, device="cpu")
    assert sim.name == "wavlm"
    emb = sim.embed(voices["slt_a"])
    assert emb.shape == (24,) and np.isfinite(emb).all()
    assert sim.similarity(voices["slt_a"], voices["slt_a"]) == pytest.approx(1.0, abs=1e-5)


def test_wavlm_folder_errors(wavlm_folder, tmp_path):
    from transformers import WavLMModel

    no_fe = tmp_path / "no_fe"
    shutil.copytree(wavlm_folder, no_fe)
    (no_fe / "preprocessor_config.json").unlink()
    with pytest.raises(ModelFolderError, match="missing preprocessor_config.json"):
        load_speaker_encoder("wavlm", no_fe)
    # A WavLM without the x-vector head would give random "similarities".
    bare = tmp_path / "bare"
    WavLMModel(_tiny_wavlm_config()).save_pretrained(bare)
    shutil.copy(wavlm_folder / "preprocessor_config.json", bare)
    with pytest.raises(ModelFolderError, match="not a WavLMForXVector"):
        load_speaker_encoder("wavlm", bare, device="cpu")
