"""The duration model of aligned flow models: :class:`nn_common.duration.DurationPredictor`
(shared with MaskGCT's aligned variant; kept importable from here)."""

from nn_common.duration import DurationPredictor

__all__ = ["DurationPredictor"]
