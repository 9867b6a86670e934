"""``prepare_features``: Vocos log-mel frames, codec codes or semantic tokens for every cut, stored with
lhotse's feature storage so that training reads them instead of audio.

Each output cut carries a custom ``TemporalArray`` (time first):

* ``cut.mel``: ``float32 [N, n_mels]``, exactly the Vocos feature extractor's output
  (``MelSpectrogramFeatures``; default: the official 24 kHz settings, 100 mels, hop
  256), ``frame_shift = hop / sample_rate``;
* ``cut.codes``: ``int16 [N, Q]`` codec indices, ``frame_shift = 1 / frame_rate``;
* ``cut.semantic``: ``int16 [S, 1]`` semantic tokens (``tts.semantic``), ``frame_shift =
  pool * hop / sample_rate`` (4 x 256 / 24000 s: 23.4375 tokens/s). Made from a code
  manifest, its cuts carry both, as MaskGCT's semantic recipe reads them.

Load them with ``cut.load_custom("mel")`` (or ``"codes"``, ``"semantic"``). Arrays are
lossless ``.npy`` files (``NumpyFilesWriter``) and the manifest is written one cut at a
time (``CutSet.open_writer(overwrite=False)``), so an interrupted run resumes where it
stopped. Audio is processed in batches of ``batch_duration`` seconds, sorted by length
to keep padding small; torch uses all cores for each batch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..codecs import load_codec
from ..mel import MelFeatures
from ..semantic import load_semantic_tokenizer, tokenize_audio
from .manifests import DataError, duration_batches, load_cuts


class CodecFeatures:
    """Codec codes: ``wav [B, T] -> codes [B, Q, N]`` through any ``Codec``."""

    name = "codes"

    def __init__(self, codec) -> None:
        self.codec = codec
        self.sample_rate = codec.sample_rate

    @property
    def frame_shift(self) -> float:
        return 1.0 / self.codec.frame_rate

    def num_frames(self, num_samples: int) -> int:
        return math.ceil(num_samples * self.codec.frame_rate / self.codec.sample_rate)

    @torch.inference_mode()
    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        return self.codec.encode(wav)


class SemanticFeatures:
    """Semantic tokens: ``wav [B, T]``, ``lens [B]`` -> ``tokens [B, 1, S]`` through a
    :class:`aligner.semantic.SemanticTokenizer` (``S = ceil(mel frames / pool)``; each item's
    mel is computed alone, so its tokens do not depend on the batch)."""

    name = "semantic"

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.sample_rate = tokenizer.aligner.config.sample_rate
        self.hop = tokenizer.aligner.config.hop_length

    @property
    def frame_shift(self) -> float:
        return self.tokenizer.config.pool * self.hop / self.sample_rate

    def num_frames(self, num_samples: int) -> int:
        return self.tokenizer.num_tokens(num_samples // self.hop + 1)  # Vocos' centred mel frames

    def __call__(self, wav: torch.Tensor, lens: list[int]) -> torch.Tensor:
        tokens = tokenize_audio(self.tokenizer, [w[:n] for w, n in zip(wav.cpu(), lens)], self.sample_rate)
        return torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True, padding_value=-1)[:, None]


def prepare_features(
    cuts_path: str | os.PathLike, out: str | os.PathLike, kind: str = "mel", codec=None,
    vocoder: str | os.PathLike | None = None, batch_duration: float = 60.0, device: str = "cpu",
    progress: Callable[[int, int], None] | None = None, tokenizer=None,
) -> dict:
    """Extract features for every cut of a manifest; resumable.

    Args:
        cuts_path: input ``cuts_<split>.jsonl.gz`` (for ``semantic``, typically a code
            manifest: its cuts keep their ``codes`` and gain ``semantic``).
        out: folder for ``<kind>/`` array storage and ``<manifest stem>_<kind>.jsonl.gz``.
        kind: ``"mel"``, ``"codes"`` or ``"semantic"``.
        codec: for codes, a ``Codec`` object or a checkpoint folder/shipped name.
        vocoder: for mel, a Vocos folder whose feature settings to use.
        tokenizer: for semantic, a ``SemanticTokenizer`` or a tokenizer folder/shipped name
            (``cut.semantic``: ``int16 [S, 1]``, ``frame_shift = pool * hop / sample_rate``).

    Returns:
        Summary: output manifest, cuts written now and before, frames, seconds.

    Raises:
        DataError: bad kind, missing codec, or an output that would overwrite the input.
    """
    from lhotse import CutSet
    from lhotse.features.io import NumpyFilesWriter

    if kind == "mel":
        extractor = MelFeatures(vocoder)
    elif kind == "codes":
        if codec is None:
            raise DataError("--kind codes needs --codec (a codec checkpoint folder or shipped name).")
        if isinstance(codec, (str, os.PathLike)):
            codec = load_codec(codec, device=device)
        extractor = CodecFeatures(codec)
    elif kind == "semantic":
        if tokenizer is None:
            raise DataError("--kind semantic needs --tokenizer (a semantic tokenizer folder or shipped name, made by "
                            "`tts prepare semantic-tokenizer`).")
        if isinstance(tokenizer, (str, os.PathLike)):
            tokenizer = load_semantic_tokenizer(tokenizer, device=device)
        extractor = SemanticFeatures(tokenizer)
    else:
        raise DataError(f"Unknown feature kind {kind!r}: use 'mel', 'codes' or 'semantic'.")
    cuts_path = Path(cuts_path)
    out = Path(out)
    stem = cuts_path.name.removesuffix(".jsonl.gz").removesuffix(".jsonl")
    out_manifest = out / f"{stem}_{kind}.jsonl.gz"
    if out_manifest.resolve() == cuts_path.resolve():
        raise DataError(f"The output manifest would overwrite the input '{cuts_path}': choose another --out.")
    cuts = list(load_cuts(cuts_path))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    written = frames = 0
    with CutSet.open_writer(out_manifest, overwrite=False) as writer, \
            NumpyFilesWriter(out / kind) as storage:
        todo = [c for c in cuts if not writer.contains(c.id)]
        done_before = len(cuts) - len(todo)
        if progress:
            progress(done_before, len(cuts))
        for batch in duration_batches(todo, batch_duration):
            wavs = [torch.from_numpy(c.resample(extractor.sample_rate).load_audio()[0]) for c in batch]
            lens = [w.numel() for w in wavs]
            padded = torch.zeros(len(wavs), max(lens))
            for i, w in enumerate(wavs):
                padded[i, : w.numel()] = w
            if kind == "semantic":
                feats = extractor(padded, lens)  # [B, 1, S]
            else:
                feats = extractor(padded.to(device)).cpu()  # [B, C, N]
            for cut, n, f in zip(batch, lens, feats):
                n_frames = min(extractor.num_frames(n), f.shape[-1])
                array = f[:, :n_frames].T.contiguous().numpy()  # time first: [N, C]
                if kind in ("codes", "semantic"):
                    array = array.astype("int16")
                setattr(cut, kind, storage.store_array(cut.id, array, frame_shift=extractor.frame_shift,
                                                       temporal_dim=0, start=cut.start))
                writer.write(cut)
                written += 1
                frames += n_frames
            if progress:
                progress(done_before + written, len(cuts))
    return {"manifest": str(out_manifest), "kind": kind, "written": written, "already_done": done_before,
            "frames": frames, "seconds": round(time.perf_counter() - t0, 1)}
