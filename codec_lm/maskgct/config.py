"""``MaskGCTConfig``: every hyper-parameter of a MaskGCT-style model, saved in its checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

SEMANTIC_SOURCES = ("codebook1", "aligner")
TEXT_POSITIONS = ("sequence", "stretched")
LAYER_WEIGHTS = ("linear", "quadratic", "uniform")
TEXT_CONDITIONING = ("prefix", "aligned")


@dataclass
class MaskGCTConfig:
    """Hyper-parameters of :class:`codec_lm.maskgct.model.MaskGCT`.

    The defaults are the size of the tiny recipe (about 12 M parameters with an
    8 x 1024 codec). The model has two bidirectional transformers: T2S (text to the
    semantic stream) and S2A (semantic stream to the acoustic codebooks).

    Codec (fixed by the codec the codes come from):
        n_codebooks: ``Q``, codebooks per frame.
        codebook_size: ``K``, entries per codebook.
        frame_rate: code frames per second.
        sample_rate: the codec's audio sample rate.
    Semantic stream:
        semantic_source: where the "semantic" tokens of stage 1 come from. MaskGCT
            uses w2v-BERT 2.0 features quantized to 8192 entries.
            ``"codebook1"``: the codec's first codebook, the coarsest residual stream
            (no second tokenizer; S2A predicts codebooks ``2..Q``). ``"aligner"``: the
            tokens of a semantic tokenizer (``aligner.semantic``: k-means of the phone
            aligner's speech features), with their own vocabulary of
            ``semantic_clusters`` entries at one token per ``semantic_hop`` code frames;
            S2A then predicts all ``Q`` codebooks (:attr:`first_acoustic` = 0).
        semantic_clusters: the tokenizer's vocabulary (``"aligner"`` only; 0 otherwise).
        semantic_hop: code frames per semantic token (``"aligner"``: 4 for a 23.4375 Hz
            tokenizer over a 93.75 Hz codec; ``"codebook1"``: 1).
    Text:
        vocab_size: phoneme vocabulary size (``len(PhonemeVocab)``); id 0 is padding.
        text_positions: T2S's rotary positions of the phonemes. ``"sequence"`` (MaskGCT's):
            phonemes then semantic tokens on one axis, ``0..l-1`` then ``l..l+s-1``.
            ``"stretched"``: both start at 0 and the phonemes are spread evenly over the
            tokens' span (phoneme ``j`` of ``l`` at ``(j + 0.5) s / l - 0.5``), so that a
            token and the phonemes said at about its time are near in position: a
            diagonal prior on T2S's attention, which the model must otherwise discover
            from data (the prompt's and the target's text and tokens are spread together,
            as the target's length follows the prompt's rate).
        separator_id: phoneme id between the prompt's and the target's phonemes at
            inference (4, the word boundary of ``PhonemeVocab``); ``-1``: none.
        text_conditioning: how the stages read the text. ``"prefix"`` (MaskGCT's): T2S
            reads the phonemes as a prefix and must find the alignment itself; S2A reads
            no text. ``"aligned"`` (Voicebox's way, "alignment first"): every code frame
            carries the phoneme said there (durations from the phone aligner in
            training, from a duration model at inference, in the prompt's rhythm); T2S
            adds each token's frames' phoneme embeddings (mean over its ``semantic_hop``
            frames) to the token's, S2A each frame's, and T2S's sequence is the tokens
            alone (no prefix; ``text_positions`` and ``separator_id`` are unused).
        duration_dim, duration_layers, duration_weight: the duration model
            (:class:`nn_common.duration.DurationPredictor`, ``"aligned"`` only) and the
            weight of its L1 loss in the total.
    Transformers:
        dim, heads, ff_mult: width, attention heads, MLP ratio (shared by both stages).
        t2s_layers, s2a_layers: blocks of the T2S and of the S2A transformer.
        dropout: dropout on the residual branches and inside the MLP (training only; none on
            the attention weights, which keeps SDPA on its fused kernels).
    Training (the MaskGIT objective):
        prompt_min_fraction, prompt_max_fraction: the prompt is a prefix of the
            utterance covering this share of its frames (uniform); the rest is the
            target, of which a cosine-scheduled share is masked.
        drop_all_prob: probability of dropping text and prompt (the unconditional
            model of classifier-free guidance).
        drop_prompt_prob: probability of dropping only the prompt.
        s2a_layer_weights: how S2A picks the codebook it learns per item:
            ``"linear"`` favours low codebooks (weights ``A .. 1`` over the ``A``
            acoustic codebooks, as MaskGCT), ``"quadratic"`` more so (``A^2 .. 1``: the
            low codebooks carry the words), ``"uniform"`` does not.
        s2a_full_mask_prob: share of items whose S2A codebook is masked on the whole
            target instead of a cosine-drawn share of it. One-step S2A decoding
            (``--s2a-steps 1``) predicts every target frame of a
            codebook at once, from nothing of that codebook: the cosine schedule trains
            that case on only a few percent of items.
    """

    n_codebooks: int = 8
    codebook_size: int = 1024
    frame_rate: float = 93.75
    sample_rate: int = 24000
    semantic_source: str = "codebook1"
    semantic_clusters: int = 0
    semantic_hop: int = 1
    vocab_size: int = 500
    separator_id: int = 4
    text_positions: str = "sequence"
    text_conditioning: str = "prefix"
    duration_dim: int = 128
    duration_layers: int = 3
    duration_weight: float = 1.0
    dim: int = 256
    heads: int = 4
    ff_mult: int = 4
    t2s_layers: int = 6
    s2a_layers: int = 4
    dropout: float = 0.1
    prompt_min_fraction: float = 0.1
    prompt_max_fraction: float = 0.4
    drop_all_prob: float = 0.1
    drop_prompt_prob: float = 0.1
    s2a_layer_weights: str = "linear"
    s2a_full_mask_prob: float = 0.0

    def __post_init__(self) -> None:
        for name in ("n_codebooks", "vocab_size", "dim", "heads", "ff_mult", "t2s_layers", "sample_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"MaskGCTConfig.{name} must be a positive integer, got {value!r}")
        if isinstance(self.s2a_layers, bool) or not isinstance(self.s2a_layers, int) or self.s2a_layers < 0:
            raise ValueError(f"MaskGCTConfig.s2a_layers must be an integer >= 0, got {self.s2a_layers!r}")
        if not isinstance(self.codebook_size, int) or self.codebook_size < 2:
            raise ValueError(f"MaskGCTConfig.codebook_size must be an integer >= 2, got {self.codebook_size!r}")
        if not self.frame_rate > 0:
            raise ValueError(f"MaskGCTConfig.frame_rate must be positive, got {self.frame_rate}")
        if self.semantic_source not in SEMANTIC_SOURCES:
            raise ValueError(f"MaskGCTConfig.semantic_source must be one of {SEMANTIC_SOURCES} in this version, "
                             f"got {self.semantic_source!r}")
        for name in ("semantic_clusters", "semantic_hop"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"MaskGCTConfig.{name} must be an integer, got {value!r}")
        if self.semantic_source == "codebook1" and (self.semantic_clusters, self.semantic_hop) != (0, 1):
            raise ValueError("MaskGCTConfig.semantic_clusters and semantic_hop belong to semantic_source 'aligner'; "
                             f"with 'codebook1' they must stay 0 and 1, got {self.semantic_clusters}, "
                             f"{self.semantic_hop}")
        if self.semantic_source == "aligner" and (self.semantic_clusters < 2 or self.semantic_hop < 1):
            raise ValueError("MaskGCTConfig with semantic_source 'aligner' needs semantic_clusters >= 2 and "
                             f"semantic_hop >= 1 (the tokenizer's), got {self.semantic_clusters}, {self.semantic_hop}")
        if self.acoustic_codebooks and self.s2a_layers == 0:
            raise ValueError(f"MaskGCTConfig.s2a_layers must be > 0 with {self.n_codebooks} codebooks: S2A "
                             f"predicts codebooks {self.first_acoustic + 1}..{self.n_codebooks}")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"MaskGCTConfig.dim ({self.dim}) must split into {self.heads} heads of even size "
                             "(rotary embeddings rotate pairs of channels)")
        if not -1 <= self.separator_id < self.vocab_size:
            raise ValueError(f"MaskGCTConfig.separator_id must be -1 or a phoneme id < {self.vocab_size}, "
                             f"got {self.separator_id}")
        if not 0.0 <= self.prompt_min_fraction <= self.prompt_max_fraction < 1.0:
            raise ValueError("MaskGCTConfig needs 0 <= prompt_min_fraction <= prompt_max_fraction < 1, got "
                             f"{self.prompt_min_fraction}, {self.prompt_max_fraction}")
        for name in ("dropout", "drop_all_prob", "drop_prompt_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"MaskGCTConfig.{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.s2a_full_mask_prob <= 1.0:
            raise ValueError(f"MaskGCTConfig.s2a_full_mask_prob must be in [0, 1], got {self.s2a_full_mask_prob}")
        if self.drop_all_prob + self.drop_prompt_prob >= 1.0:
            raise ValueError("MaskGCTConfig.drop_all_prob + drop_prompt_prob must be < 1: some items must keep "
                             "their prompt")
        if self.text_positions not in TEXT_POSITIONS:
            raise ValueError(f"MaskGCTConfig.text_positions must be one of {TEXT_POSITIONS}, got {self.text_positions!r}")
        if self.text_conditioning not in TEXT_CONDITIONING:
            raise ValueError(f"MaskGCTConfig.text_conditioning must be one of {TEXT_CONDITIONING}, "
                             f"got {self.text_conditioning!r}")
        for name in ("duration_dim", "duration_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"MaskGCTConfig.{name} must be a positive integer, got {value!r}")
        if not self.duration_weight >= 0:
            raise ValueError(f"MaskGCTConfig.duration_weight must be >= 0, got {self.duration_weight}")
        if self.s2a_layer_weights not in LAYER_WEIGHTS:
            raise ValueError(f"MaskGCTConfig.s2a_layer_weights must be one of {LAYER_WEIGHTS}, "
                             f"got {self.s2a_layer_weights!r}")

    @property
    def aligned(self) -> bool:
        """Whether the stages read phonemes at frame rate (``text_conditioning="aligned"``)."""
        return self.text_conditioning == "aligned"

    @property
    def semantic_size(self) -> int:
        """Entries of the semantic vocabulary (the first codebook's for ``codebook1``)."""
        return self.codebook_size if self.semantic_source == "codebook1" else self.semantic_clusters

    @property
    def first_acoustic(self) -> int:
        """Index of the first codebook S2A predicts: 1 when codebook 1 is the semantic stream."""
        return 1 if self.semantic_source == "codebook1" else 0

    @property
    def acoustic_codebooks(self) -> list[int]:
        """0-based indices of the codebooks S2A predicts, in decoding order."""
        return list(range(self.first_acoustic, self.n_codebooks))
