"""``TTSDataset``: turns a mini-batch of lhotse cuts into padded tensors.

It follows lhotse's map-style convention: a sampler (``DynamicBucketingSampler``)
yields whole ``CutSet`` batches, and ``dataset[cuts]`` returns the batch dict, so the
``DataLoader`` runs with ``batch_size=None``. Phonemization happens here, in the
loader workers, with a per-worker cache; features come from audio or from the
arrays stored by :func:`tts.data.features.prepare_features`.

Batch keys (B cuts; L, T, N padded lengths):

=============== ======================= =========================================
key             type / shape            content
=============== ======================= =========================================
ids             list[str]               cut ids
texts           list[str]               normalized transcripts
speakers        list[str | None]        speaker of the first supervision
phonemes        LongTensor [B, L]       phoneme ids, padded with ``pad_id`` (0)
phoneme_lens    LongTensor [B]
audio           FloatTensor [B, T]      ``features="audio"``: waveform, zero-padded
audio_lens      LongTensor [B]
mel             FloatTensor [B, C, N]   ``features="mel"``: Vocos log-mel, zero-padded
mel_lens        LongTensor [B]
codes           LongTensor [B, Q, N]    ``features="codes"``: codec indices, padded with -1
code_lens       LongTensor [B]
durations       LongTensor [B, L]       ``durations=True``: frames per phoneme, padded with 0
semantic        LongTensor [B, S]       ``semantic=True``: semantic tokens, padded with -1
semantic_lens   LongTensor [B]
=============== ======================= =========================================

With ``durations=True`` the cuts must carry phone alignments (``tts prepare align``);
``phonemes`` are then the aligned, boundary-wrapped sequence (``[" "] + phonemes +
[" "]``) and ``durations[b, :phoneme_lens[b]]`` sums exactly to the item's frame count
(``mel_lens`` / ``code_lens``; for audio, the Vocos frame count ``T // hop + 1``).

With ``semantic=True`` the cuts must carry semantic tokens (``tts prepare features --kind
semantic``, run over a code manifest so that they carry codes too), one per ``pool``
code frames: ``semantic_lens = ceil(code_lens / pool)``, ``pool`` being the ratio of the
two frame shifts. (lhotse loads ``round(duration / frame_shift)`` frames of each array,
which for the two rates can differ by a token from that; the stored tokens are read
whole and cut, or the last one repeated, to fit the codes.)
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from nn_common import pad_stack
from text_frontend import Frontend, FrontendError, PhonemeVocab, UnsupportedLanguageError

from ..audio import normalize_loudness
from .manifests import ALIGNMENT_KEY, DataError, frame_durations, speaker_of

FEATURES = ("audio", "mel", "codes")
CODE_PAD = -1


class TTSDataset(torch.utils.data.Dataset):
    """Map-style dataset over lhotse cut batches.

    Args:
        features: what to load per cut: ``"audio"``, ``"mel"`` or ``"codes"`` (the last
            two need a manifest made by ``tts prepare features``).
        language: espeak-ng code used when a supervision's ``language`` is not one
            (lhotse recipes write names such as ``"English"``).
        sample_rate: audio is resampled to this rate.
        vocab: phoneme vocabulary (default :meth:`PhonemeVocab.default`).
        with_stress: keep stress marks.
        cache_size: phonemized texts kept per worker.
        durations: return the stored phone alignments as frame counts (see above).
        hop_length: samples per frame, for durations of ``features="audio"`` (Vocos: 256).
        loudness: ``features="audio"``: scale each utterance to this loudness (LUFS), as
            synthesis does with its prompts (-20); None keeps the corpus' own level.
        semantic: also return the stored semantic tokens (``semantic``, ``semantic_lens``).
    """

    def __init__(self, features: str = "audio", language: str = "en-us", sample_rate: int = 24000,
                 vocab: PhonemeVocab | None = None, with_stress: bool = True, cache_size: int = 100_000,
                 durations: bool = False, hop_length: int = 256, loudness: float | None = None,
                 semantic: bool = False) -> None:
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        self.features = features
        self.language = language
        self.sample_rate = sample_rate
        self.vocab = vocab or PhonemeVocab.default()
        self.with_stress = with_stress
        self.cache_size = cache_size
        self.durations = durations
        self.hop_length = hop_length
        self.loudness = loudness
        self.semantic = semantic
        self._frontends: dict[str, Frontend] = {}
        self._cache: OrderedDict[tuple[str, str], tuple[str, tuple[int, ...]]] = OrderedDict()

    def _frontend(self, language: str | None) -> Frontend:
        """The front-end for a supervision's language; the default one when it is
        missing or not an espeak-ng code (e.g. ``"English"`` resolves, ``"Klingonese"`` not)."""
        key = language or ""
        fe = self._frontends.get(key)
        if fe is None:
            try:
                fe = Frontend(language, with_stress=self.with_stress, vocab=self.vocab) if language else None
            except UnsupportedLanguageError:
                fe = None
            fe = fe or Frontend(self.language, with_stress=self.with_stress, vocab=self.vocab)
            self._frontends[key] = fe
        return fe

    def phonemize(self, cut) -> tuple[str, tuple[int, ...]]:
        """Normalized text and phoneme ids of a cut's supervisions (cached)."""
        sups = cut.supervisions
        text = " ".join((s.text or "").strip() for s in sups).strip()
        language = sups[0].language if sups else None
        key = (language or "", text)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        try:
            seq = self._frontend(language).encode(text)
        except FrontendError as err:
            raise DataError(f"Cut {cut.id!r}: its transcript cannot be phonemized ({err}). "
                            "Filter it out of the manifest.") from err
        value = (seq.text, seq.ids)
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def _load(self, cut) -> torch.Tensor:
        if self.features == "audio":
            wav = torch.from_numpy(cut.resample(self.sample_rate).load_audio()[0])
            if self.loudness is not None:
                wav = normalize_loudness(wav, self.sample_rate, self.loudness)
            return wav
        if not cut.has_custom(self.features):
            raise DataError(f"Cut {cut.id!r} has no stored {self.features!r}: run `tts prepare features "
                            f"--kind {self.features}` and train on the manifest it writes.")
        array = torch.from_numpy(cut.load_custom(self.features))  # [N, C], time first
        return array.T.contiguous().long() if self.features == "codes" else array.T.contiguous()

    def _semantic(self, cut, n_frames: int) -> torch.Tensor:
        """The cut's semantic tokens ``[ceil(n_frames / pool)]`` for its ``n_frames`` code frames."""
        if not cut.has_custom("semantic"):
            raise DataError(f"Cut {cut.id!r} has no stored semantic tokens: run `tts prepare features --kind semantic "
                            "--tokenizer TOKENIZER` over the code manifest and train on the manifest it writes.")
        if self.features != "codes":
            raise DataError("Semantic tokens are read beside codec codes: use features='codes'.")
        pool = round(cut.semantic.frame_shift / cut.codes.frame_shift)
        need = -(-n_frames // pool)
        tokens = torch.from_numpy(cut.semantic.load()).reshape(-1).long()  # all stored tokens, [S, 1] -> [S]
        if not need - 1 <= len(tokens) <= need + 1:
            raise DataError(f"Cut {cut.id!r} has {len(tokens)} semantic tokens for {n_frames} code frames ({need} "
                            "expected): they were made from other audio; run `tts prepare features --kind semantic` "
                            "again over this code manifest.")
        return torch.cat([tokens, tokens[-1:]])[:need] if len(tokens) < need else tokens[:need]

    def aligned(self, cut, n_frames: int) -> tuple[list[int], list[int]]:
        """The stored alignment of a cut as ``(symbol ids, frame counts summing to n_frames)``."""
        sup = cut.supervisions[0] if len(cut.supervisions) == 1 else None
        items = (sup.alignment or {}).get(ALIGNMENT_KEY) if sup is not None else None
        if not items:
            raise DataError(f"Cut {cut.id!r} has no phone alignment: run `tts prepare align` and train on the "
                            "manifest it writes (cuts_<split>_aligned.jsonl.gz).")
        # Start times are seconds: convert them at the loaded features' own frame rate.
        rate = (self.sample_rate / self.hop_length if self.features == "audio"
                else 1.0 / getattr(cut, self.features).frame_shift)
        return self.vocab.encode(it.symbol for it in items), frame_durations(items, rate, n_frames)

    def __getitem__(self, cuts) -> dict:
        cuts = list(cuts)
        texts, phonemes, feats, durations = [], [], [], []
        for cut in cuts:
            text, ids = self.phonemize(cut)
            feat = self._load(cut)
            if self.durations:
                n_frames = feat.shape[-1] // self.hop_length + 1 if self.features == "audio" else feat.shape[-1]
                ids, frames = self.aligned(cut, n_frames)
                durations.append(torch.tensor(frames, dtype=torch.long))
            texts.append(text)
            phonemes.append(torch.tensor(ids, dtype=torch.long))
            feats.append(feat)
        ph, ph_lens = pad_stack(phonemes, self.vocab.pad_id)
        batch = {
            "ids": [c.id for c in cuts],
            "texts": texts,
            "speakers": [speaker_of(c) for c in cuts],
            "phonemes": ph,
            "phoneme_lens": ph_lens,
        }
        name, lens_name, pad = {"audio": ("audio", "audio_lens", 0.0), "mel": ("mel", "mel_lens", 0.0),
                                "codes": ("codes", "code_lens", CODE_PAD)}[self.features]
        batch[name], batch[lens_name] = pad_stack(feats, pad)
        if self.durations:
            batch["durations"] = pad_stack(durations, 0)[0]
        if self.semantic:
            tokens = [self._semantic(c, f.shape[-1]) for c, f in zip(cuts, feats)]
            batch["semantic"], batch["semantic_lens"] = pad_stack(tokens, CODE_PAD)
        return batch
