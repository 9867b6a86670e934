"""Semantic tokenizer: discrete speech tokens from the phone aligner's speech encoder.

MaskGCT's first stage (T2S) predicts *semantic* tokens: k-means clusters of a
self-supervised model's features (w2v-BERT 2.0, 8192 clusters), which carry what is
said far more than how. We cannot download such a model; our phone aligner's speech
encoder is trained on the corpus as a CTC phone recognizer, so its features are
phonetic by construction. The tokenizer quantizes one stage of it::

    mel [B, C, N] (Vocos log-mels, 93.75 Hz)
      -> aligner stage: front [B, N, D], or down / layerK / context [B, ceil(N / 2), D]
      -> mean over groups of ``pool`` mel frames: [B, S, D], S = ceil(N / pool)
      -> (x - mean) / std (with ``standardize``) -> nearest of K centroids -> tokens [B, S]

With ``pool = 4`` a token covers 4 mel frames (23.4375 tokens/s), which are exactly 4
frames of the MelRVQ codec (it codes the same mel frames), so a MaskGCT S2A stage can
read each token repeated 4 times. The centroids come from :func:`aligner.kmeans.kmeans`
over training features (``tts prepare semantic-tokenizer``); the stage is chosen by
measured phone purity (:func:`aligner.metrics.phone_purity`).

Shapes: B batch, C mel bins, N mel frames, S tokens, D width, K clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nn_common import lengths_to_mask

from .kmeans import assign
from .model import PhoneAligner

PAD = -1  # token id after an item's end


@dataclass
class SemanticConfig:
    """Hyper-parameters of :class:`SemanticTokenizer` (stored in its checkpoint folder).

    Attributes:
        stage: the aligner's speech-encoder stage to quantize (``PhoneAligner.speech_stages``).
        pool: mel frames per token (a multiple of 2 for the half-rate stages).
        clusters: ``K``, the token vocabulary.
        dim: ``D``, the stage's width (the aligner's ``dim``).
        standardize: features are scaled per dimension to zero mean and unit variance
            (training statistics) before the nearest-centroid search. Off by default: on
            TinyVoices it changed the phone purity of the clusters by less than 0.01.
    """

    stage: str = "context"
    pool: int = 4
    clusters: int = 512
    dim: int = 192
    standardize: bool = False

    def __post_init__(self) -> None:
        for name in ("pool", "clusters", "dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SemanticConfig.{name} must be a positive integer, got {value!r}")
        if self.clusters < 2:
            raise ValueError(f"SemanticConfig.clusters must be >= 2, got {self.clusters}")
        if self.stage != "front" and self.pool % 2:
            raise ValueError(f"SemanticConfig.pool must be even for stage {self.stage!r} (it runs at half the mel "
                             f"frame rate), got {self.pool}")


def pool_frames(hidden: torch.Tensor, lens: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of each group of ``group`` consecutive valid frames.

    Args:
        hidden: ``[B, M, D]``, zero after each item's ``lens``.
        lens: ``[B]`` valid frames.

    Returns:
        ``([B, ceil(M / group), D], lens [B] = ceil(lens / group))``; a last, partial group
        is the mean of the frames it has.
    """
    b, m, d = hidden.shape
    s = -(-m // group)
    padded = torch.nn.functional.pad(hidden, (0, 0, 0, s * group - m))
    sums = padded.view(b, s, group, d).sum(2)
    start = torch.arange(s, device=hidden.device)[None] * group
    counts = (lens[:, None] - start).clamp(0, group)  # valid frames per group
    return sums / counts.clamp(min=1)[..., None].to(hidden.dtype), -(-lens // group)


class SemanticTokenizer(nn.Module):
    """Tokens of Vocos log-mels: a frozen :class:`PhoneAligner` and ``K`` centroids.

    Only the centroids and the feature statistics belong to the tokenizer
    (:meth:`codebook_state`); the aligner comes from its own checkpoint folder.
    """

    def __init__(self, config: SemanticConfig, aligner: PhoneAligner) -> None:
        super().__init__()
        if config.stage not in aligner.speech_stages():
            raise ValueError(f"SemanticConfig.stage {config.stage!r} is not a stage of this aligner "
                             f"({', '.join(aligner.speech_stages())})")
        if config.dim != aligner.config.dim:
            raise ValueError(f"SemanticConfig.dim ({config.dim}) differs from the aligner's width "
                             f"({aligner.config.dim}): the centroids were fitted to another aligner")
        self.config = config
        self.aligner = aligner.eval().requires_grad_(False)
        self.register_buffer("centroids", torch.zeros(config.clusters, config.dim))
        self.register_buffer("mean", torch.zeros(config.dim))
        self.register_buffer("std", torch.ones(config.dim))

    @property
    def frame_rate(self) -> float:
        """Tokens per second (23.4375 for 93.75 Hz mels and ``pool = 4``)."""
        return self.aligner.config.frame_rate / self.config.pool

    def num_tokens(self, mel_frames: int) -> int:
        """Tokens of an utterance of ``mel_frames`` mel frames: ``ceil(mel_frames / pool)``."""
        return -(-int(mel_frames) // self.config.pool)

    @torch.no_grad()
    def features(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled (and, with ``standardize``, scaled) features: ``mel [B, C, N]`` -> ``([B, S, D], lens [B])``."""
        hidden, lens = self.aligner.speech_hidden(mel, mel_lens, self.config.stage)
        group = self.config.pool if self.config.stage == "front" else self.config.pool // 2
        pooled, lens = pool_frames(hidden.float(), lens, group)
        return (pooled - self.mean) / self.std, lens

    @torch.no_grad()
    def forward(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mel [B, C, N]``, ``mel_lens [B]`` -> ``(tokens [B, S] long, -1 after each end; lens [B])``."""
        feats, lens = self.features(mel, mel_lens)
        b, s, d = feats.shape
        tokens = assign(feats.reshape(b * s, d), self.centroids)[0].view(b, s)
        return tokens.masked_fill(~lengths_to_mask(lens, s), PAD), lens

    def codebook_state(self) -> dict[str, torch.Tensor]:
        """What a tokenizer checkpoint stores: ``centroids [K, D]``, ``mean [D]``, ``std [D]``."""
        return {"centroids": self.centroids, "mean": self.mean, "std": self.std}

    def load_codebook(self, state: dict[str, torch.Tensor]) -> None:
        """Load :meth:`codebook_state`'s tensors.

        Raises:
            ValueError: missing tensors or shapes that do not fit the config.
        """
        for name, ref in self.codebook_state().items():
            if name not in state:
                raise ValueError(f"the tokenizer's weights have no {name!r}")
            if tuple(state[name].shape) != tuple(ref.shape):
                raise ValueError(f"the tokenizer's {name!r} is {list(state[name].shape)}, its config needs "
                                 f"{list(ref.shape)}")
            ref.copy_(state[name].float())
