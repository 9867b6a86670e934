"""Phone aligner: a CTC phone recognizer and an attention aligner over one speech encoder.

Plain PyTorch (no Lightning, no ``tts``); trained by ``recipes/aligner``, used by
``tts prepare align`` (per-phoneme durations in the manifests) and as the phone-error
probe of the TTS recipes.

    >>> from aligner import AlignerConfig, PhoneAligner
    >>> model = PhoneAligner(AlignerConfig(vocab_size=500))
"""

from .config import AlignerConfig
from .metrics import edit_distance, phone_error_rate
from .model import PhoneAligner, forward_sum_loss
from .search import beta_binomial_log_prior, monotonic_durations
from .symbols import fold_stress, phone_ids, phone_table, with_boundaries

__all__ = [
    "AlignerConfig",
    "PhoneAligner",
    "forward_sum_loss",
    "beta_binomial_log_prior",
    "monotonic_durations",
    "phone_ids",
    "phone_table",
    "with_boundaries",
    "fold_stress",
    "edit_distance",
    "phone_error_rate",
]
