"""Speaker similarity (SIM): cosine of speaker embeddings.

Example::

    sim = SpeakerSimilarity()                               # Resemblyzer, bundled weights
    sim.similarity("generated.wav", "prompt.wav")           # 0.83
    sim = SpeakerSimilarity("ecapa", path="models/spkrec-ecapa-voxceleb")
    sim.similarity(audio, "prompt.wav")                     # an Audio and a path

An evaluation compares every generated clip with its prompt (and the ground truth
with the same prompt), so a prompt is embedded many times over: embeddings of
files are cached, keyed by path, size and modification time.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import EvalError
from .inputs import AudioLike, describe, is_path, to_mono_numpy
from .speaker_encoders import SpeakerEncoder, load_speaker_encoder


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two embeddings ``[D]``, in ``[-1, 1]``.

    Raises:
        EvalError: the shapes differ or one vector is all zeros.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise EvalError(
            f"Cannot compare embeddings of sizes {a.size} and {b.size}: both must come from the same encoder."
        )
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise EvalError("A speaker embedding is all zeros (silent input?): similarity is undefined.")
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


class SpeakerSimilarity:
    """Embeds utterances with one speaker encoder and compares them.

    Args:
        encoder: ``"resemblyzer"`` (default, bundled weights), ``"ecapa"``,
            ``"wavlm"``, or a ready :class:`SpeakerEncoder`.
        path: the local model folder for ``ecapa`` / ``wavlm``.
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.
        cache_size: how many file embeddings to keep (least recently used go first).
    """

    def __init__(
        self,
        encoder: str | SpeakerEncoder = "resemblyzer",
        path: str | os.PathLike | None = None,
        device: str | None = "auto",
        cache_size: int = 1024,
    ) -> None:
        if isinstance(encoder, SpeakerEncoder):
            self.encoder = encoder
        elif isinstance(encoder, str):
            self.encoder = load_speaker_encoder(encoder, path, device)
        else:
            raise EvalError(
                f"encoder must be a name ('resemblyzer', 'ecapa', 'wavlm') or a SpeakerEncoder, "
                f"not {type(encoder).__name__}."
            )
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()

    @property
    def name(self) -> str:
        return self.encoder.name

    def __repr__(self) -> str:
        return f"SpeakerSimilarity({self.encoder!r})"

    @staticmethod
    def _key(audio: AudioLike) -> tuple | None:
        if not is_path(audio):
            return None
        path = Path(audio).expanduser()
        try:
            st = path.stat()
        except OSError:
            return None  # let loading raise the clear "does not exist" error
        return (str(path.resolve()), st.st_size, st.st_mtime_ns)

    def embed(self, audio: AudioLike, sample_rate: int | None = None) -> np.ndarray:
        """Embedding ``[D]`` of one utterance (cached when ``audio`` is a file path).

        Args:
            audio: a path, an ``Audio``, or a waveform ``[T]``.
            sample_rate: the rate of a raw waveform.
        """
        key = self._key(audio)
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        wav = to_mono_numpy(audio, sample_rate, self.encoder.sample_rate)
        emb = self.encoder.embed(wav)
        if not np.all(np.isfinite(emb)):
            raise EvalError(f"The speaker embedding of {describe(audio)} is not finite: is the audio silent?")
        if key is not None and self.cache_size > 0:
            self._cache[key] = emb
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return emb

    def similarity(
        self,
        a: AudioLike,
        b: AudioLike,
        sample_rate: int | None = None,
        sample_rate_b: int | None = None,
    ) -> float:
        """Cosine similarity of the speakers of ``a`` and ``b``.

        Args:
            a, b: paths, ``Audio`` objects or waveforms ``[T]``.
            sample_rate: the rate of ``a`` if it is a raw waveform (and of ``b``
                unless ``sample_rate_b`` is given).
            sample_rate_b: the rate of ``b`` if it differs.
        """
        ea = self.embed(a, sample_rate)
        eb = self.embed(b, sample_rate_b if sample_rate_b is not None else sample_rate)
        return cosine_similarity(ea, eb)

    def clear_cache(self) -> None:
        self._cache.clear()


def speaker_similarity(
    a: AudioLike,
    b: AudioLike,
    sample_rate: int | None = None,
    encoder: str = "resemblyzer",
    path: str | os.PathLike | None = None,
) -> float:
    """One-off :meth:`SpeakerSimilarity.similarity` (loads the encoder each call:
    create a :class:`SpeakerSimilarity` to compare many pairs)."""
    return SpeakerSimilarity(encoder, path).similarity(a, b, sample_rate)
