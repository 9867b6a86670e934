"""codec_lm.codecs: the Codec protocol, MelRVQ (+ its checkpoints) and EnCodec loading."""

import hashlib
import json
import subprocess
import sys

import pytest
import torch
from synthetic_corpus import voice_like
from vocos_configs import ENCODEC, MEL

from codec_lm.codecs import Codec, CodecError, EncodecCodec, MelRVQ, MelRVQCodec, MelRVQConfig, build_vocos, save_vocos
from tts.checkpoint import CheckpointError
from tts.codecs import load_codec, load_encodec, save_melrvq

SMALL = dict(n_codebooks=4, codebook_size=64, dim=64, n_layers=1)


def test_codec_packages_do_not_import_tts_or_lightning():
    code = ("import sys\nfrom codec_lm.codecs import MelRVQCodec, EncodecCodec, load_vocos\n"
            "assert not {'lightning', 'pytorch_lightning', 'tts'} & set(sys.modules), 'bad import'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture(scope="module")
def vocos_mel():
    torch.manual_seed(0)
    return build_vocos(MEL).eval()


@pytest.fixture(scope="module")
def speech():
    """[B, T] speech-like audio at 24 kHz (two 1 s utterances)."""
    return torch.stack([torch.from_numpy(voice_like(1.0, seed=s)) for s in (1, 2)])


# ---------------------------------------------------------------- MelRVQ
def test_config_validation():
    assert MelRVQConfig().frame_rate == 93.75
    assert MelRVQConfig().bitrate == 93.75 * 8 * 10
    for bad in (dict(n_codebooks=0), dict(codebook_size=1), dict(kernel_size=2), dict(ema_decay=1.0),
                dict(n_layers=-1), dict(dim=2.5)):
        with pytest.raises(ValueError, match="MelRVQConfig"):
            MelRVQConfig(**bad)


def test_round_trip_shapes_and_dtypes(vocos_mel, speech):
    torch.manual_seed(0)
    model = MelRVQ(MelRVQConfig(**SMALL))
    codec = MelRVQCodec(model, vocos_mel)
    assert isinstance(codec, Codec)
    assert (codec.sample_rate, codec.frame_rate, codec.n_codebooks, codec.codebook_size) == (24000, 93.75, 4, 64)
    codes = codec.encode(speech)
    n = speech.shape[-1] // 256 + 1
    assert codes.shape == (2, 4, n) and codes.dtype == torch.long
    assert 0 <= int(codes.min()) and int(codes.max()) < 64
    wav = codec.decode(codes)
    assert wav.shape == (2, (n - 1) * 256) and wav.dtype == torch.float32 and torch.isfinite(wav).all()
    assert codec.decode(codes[:, :2]).shape == wav.shape  # the first codebooks alone decode too
    assert torch.equal(codec.encode(speech), codes)  # encoding is deterministic and never updates codebooks


def test_expected_vectors_decode_like_codes_when_certain(vocos_mel, speech):
    torch.manual_seed(0)
    codec = MelRVQCodec(MelRVQ(MelRVQConfig(**SMALL)), vocos_mel)
    codes = codec.encode(speech)  # [2, 4, n]
    assert torch.allclose(codec.decode_latent(codec.latent(codes)), codec.decode(codes), atol=1e-5)
    certain = torch.nn.functional.one_hot(codes[:, 1:], 64).float()  # [2, 3, n, 64]
    assert torch.allclose(codec.decode_latent(codec.latent(codes[:, :1], certain)), codec.decode(codes), atol=1e-4)
    unsure = torch.full_like(certain, 1 / 64)  # the mean vector of each codebook
    books = codec.model.rvq.codebooks
    want = codec.latent(codes[:, :1]) + books[1:].mean(1).sum(0)[None, :, None]
    assert torch.allclose(codec.latent(codes[:, :1], unsure), want, atol=1e-5)
    with pytest.raises(CodecError, match="do not fit codes"):
        codec.latent(codes[:, :2], certain)  # 2 + 3 codebooks of 4


def test_training_lowers_reconstruction_loss(vocos_mel, speech):
    torch.manual_seed(0)
    model = MelRVQ(MelRVQConfig(**SMALL)).train()
    mel = vocos_mel.feature_extractor(speech)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = model(mel)
    assert set(first) >= {"loss", "recon_l1", "commit"} and bool(model.norm_initialized)
    for _ in range(40):
        out = model(mel)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    model.eval()
    after = torch.nn.functional.l1_loss(model.decode(model.encode(mel)), mel)
    assert after < 0.7 * first["recon_l1"], (float(first["recon_l1"]), float(after))


def test_bad_inputs(vocos_mel):
    codec = MelRVQCodec(MelRVQ(MelRVQConfig(**SMALL)), vocos_mel)
    with pytest.raises(CodecError, match=r"\[B, T\]"):
        codec.encode(torch.zeros(1, 2, 100))
    with pytest.raises(CodecError, match="lie in"):
        codec.decode(torch.full((1, 4, 5), 64))
    with pytest.raises(CodecError, match="4 codebooks"):
        codec.decode(torch.zeros(1, 5, 5, dtype=torch.long))
    with pytest.raises(CodecError, match="do not match"):
        MelRVQCodec(MelRVQ(MelRVQConfig(n_mels=80, **SMALL)), vocos_mel)


def test_checkpoint_round_trip_and_errors(vocos_mel, speech, tmp_path):
    voc_dir = save_vocos(vocos_mel, MEL, tmp_path / "vocos")
    torch.manual_seed(0)
    model = MelRVQ(MelRVQConfig(**SMALL)).train()
    model(vocos_mel.feature_extractor(speech))  # k-means + normalisation init
    ck = save_melrvq(tmp_path / "codec", model, voc_dir)
    codec = load_codec(ck)
    reference = MelRVQCodec(model, vocos_mel)
    assert torch.equal(codec.encode(speech), reference.encode(speech))
    codes = reference.encode(speech)
    assert torch.equal(codec.decode(codes), reference.decode(codes))
    # The EMA sums are left out of the folder and rebuilt from embed x cluster_size on load.
    from safetensors.torch import load_file

    saved = load_file(ck / "model.safetensors")
    assert not [k for k in saved if k.endswith("embed_avg")]
    original = {k: v for k, v in model.state_dict().items() if k.endswith("embed_avg")}
    restored = {k: v for k, v in codec.model.state_dict().items() if k.endswith("embed_avg")}
    assert original.keys() == restored.keys() and original
    for k in original:
        torch.testing.assert_close(restored[k], original[k], rtol=1e-3, atol=1e-3)

    with pytest.raises(CheckpointError, match="no model.yaml.*Vocos folder"):
        load_codec(voc_dir)  # a vocoder is not a codec
    (ck / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="checksum"):
        load_codec(ck)
    ck2 = save_melrvq(tmp_path / "codec2", model, voc_dir)
    (voc_dir / "pytorch_model.bin").unlink()
    with pytest.raises(CheckpointError, match="incomplete"):
        load_codec(ck2)


# ---------------------------------------------------------------- EnCodec
@pytest.fixture(scope="module")
def encodec_file(tmp_path_factory):
    """Random EnCodec 24 kHz weights saved like the official checkpoint (name carries the sha256 prefix)."""
    from encodec import EncodecModel

    torch.manual_seed(0)
    model = EncodecModel.encodec_model_24khz(pretrained=False)
    folder = tmp_path_factory.mktemp("encodec")
    tmp = folder / "weights.th"
    torch.save(model.state_dict(), tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    path = tmp.rename(folder / f"encodec_24khz-{digest}.th")
    return model.eval(), path


def test_encodec_matches_the_reference_model(encodec_file, speech):
    ref, path = encodec_file
    codec = EncodecCodec.from_pretrained(path, bandwidth=6.0)
    assert isinstance(codec, Codec)
    assert (codec.sample_rate, codec.frame_rate, codec.n_codebooks, codec.codebook_size) == (24000, 75, 8, 1024)
    ref.set_target_bandwidth(6.0)
    with torch.no_grad():
        expected_codes = ref.encode(speech.unsqueeze(1))[0][0]
        codes = codec.encode(speech)
        assert torch.equal(codes, expected_codes) and codes.shape == (2, 8, 75)
        assert torch.equal(codec.decode(codes), ref.decode([(codes, None)]).squeeze(1))
    assert EncodecCodec.from_pretrained(path.parent, bandwidth=1.5).n_codebooks == 2  # a folder works too
    assert EncodecCodec(codec.model, bandwidth=24).n_codebooks == 32


def test_encodec_checksum_and_file_errors(encodec_file, tmp_path):
    _, path = encodec_file
    wrong = tmp_path / "encodec_24khz-d7cc33bc.th"  # the official name, other bytes
    wrong.write_bytes(path.read_bytes())
    with pytest.raises(CodecError, match="does not match its checksum"):
        EncodecCodec.from_pretrained(wrong)
    unnamed = tmp_path / "my_encodec.th"
    unnamed.write_bytes(path.read_bytes())
    with pytest.raises(CodecError, match=f"name carries no checksum.*{path.name}"):
        EncodecCodec.from_pretrained(unnamed)
    assert EncodecCodec.from_pretrained(unnamed, checksum=path.stem.split("-")[1]).n_codebooks == 8
    with pytest.raises(CodecError, match="do not exist"):
        EncodecCodec.from_pretrained(tmp_path / "missing.th")
    with pytest.raises(CodecError, match="bandwidths 1.5, 3, 6, 12, 24"):
        EncodecCodec.from_pretrained(path, bandwidth=5.0)
    with pytest.raises(CheckpointError, match="checksum"):  # the tts wrapper gives a toolkit error
        load_encodec(wrong)


def test_encodec_decodes_with_vocos(encodec_file, tmp_path, speech):
    ref_encodec, path = encodec_file
    torch.manual_seed(1)
    vocos = build_vocos(ENCODEC, encodec_weights=ref_encodec.state_dict()).eval()
    voc_dir = save_vocos(vocos, ENCODEC, tmp_path / "vocos-encodec")
    codec = EncodecCodec.from_pretrained(path, bandwidth=3.0, vocos_dir=voc_dir)
    codes = codec.encode(speech)
    expected = vocos.decode(vocos.codes_to_features(codes.transpose(0, 1)), bandwidth_id=torch.tensor([1]))
    assert torch.equal(codec.decode(codes), expected) and expected.shape == (2, 75 * 320)
    # The Vocos feature extractor got the same EnCodec weights: Vocos' own copy-synthesis agrees.
    assert torch.equal(codec.vocos(speech, bandwidth_id=torch.tensor([1])), vocos(speech, bandwidth_id=torch.tensor([1])))
    with pytest.raises(CodecError, match="trained for"):
        EncodecCodec.from_pretrained(path, bandwidth=24.0, vocos_dir=voc_dir)
    mel_dir = save_vocos(build_vocos(MEL), MEL, tmp_path / "vocos-mel")
    with pytest.raises(CodecError, match="EnCodec variant"):
        EncodecCodec.from_pretrained(path, vocos_dir=mel_dir)


def test_bench_codec_json(capsys):
    from tts.cli import main

    assert main(["bench", "codec", "--codecs", "melrvq,encodec", "--seconds", "0.5", "--repeats", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["codec"] for r in rows] == ["melrvq", "encodec"]
    assert all(r["encode_rtf"] > 0 and r["decode_rtf"] > 0 and r["weights"] == "random" for r in rows)
    assert main(["bench", "codec", "--codecs", "mp3"]) == 2


class _DepthCodec:
    """A stand-in codec that records how many codebooks each decode got."""

    sample_rate, frame_rate, n_codebooks, codebook_size = 24000, 93.75, 4, 16
    path = "depth-codec"

    def __init__(self):
        self.depths = []

    def encode(self, wav):
        return torch.zeros(wav.shape[0], self.n_codebooks, wav.shape[-1] // 256, dtype=torch.long)

    def decode(self, codes):
        self.depths.append(codes.shape[1])
        return torch.zeros(codes.shape[0], codes.shape[-1] * 256) + 0.01 * codes.shape[1]


def test_resynthesis_from_the_first_codebooks(tmp_path):
    """`tts eval codec --codebooks 1,2`: the codec decodes only the first k codebooks, the summary says k,
    and a bad k is refused with one line before any work."""
    from synthetic_corpus import make_corpus

    from tts.commands.evaluate import _codebook_list
    from tts.data.manifests import load_cuts
    from tts.errors import TTSError
    from tts.eval import Evaluator
    from tts.eval.resynthesis import run_resynthesis

    corpus = make_corpus(tmp_path / "corpus", n_train=1, n_dev=2, seconds=0.5)
    cuts = load_cuts(corpus / "cuts_dev.jsonl.gz")
    codec, quiet = _DepthCodec(), Evaluator(asr=False, speaker=False, dnsmos=False)
    report = run_resynthesis(cuts, tmp_path / "q2", codec=codec, evaluator=quiet, codebooks=2)
    assert codec.depths == [2, 2] and report.summary["codebooks"] == 2
    assert run_resynthesis(cuts, tmp_path / "all", codec=codec, evaluator=quiet).summary["codebooks"] == 4
    with pytest.raises(ValueError, match="codebooks= takes 1..4"):
        run_resynthesis(cuts, tmp_path / "bad", codec=codec, evaluator=quiet, codebooks=5)
    assert _codebook_list("1,2,4", 4) == [1, 2, 4] and _codebook_list(None, 4) == [None]
    for bad in ("0", "1,9", "a", "2,2", ""):
        with pytest.raises(TTSError, match=r"--codebooks takes distinct counts in 1..4"):
            _codebook_list(bad, 4)
