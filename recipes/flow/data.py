"""Batches for the flow recipe: :class:`recipes.data.TTSDataModule` plus speaker prompts.

With ``data.speaker_prompt_prob: P`` each training item, with probability P, also brings
another utterance of its speaker (3-5 s preferred, as evaluation's prompts): the module
then trains on that utterance followed by the item, predicting all of the item
(``recipes.flow.pairs``), which is exactly what synthesis asks of the model. The other
items keep the random infilling spans. Validation batches get no prompts, so the
validation curve stays comparable with models trained without them.
"""

from __future__ import annotations


from ..data import SpeakerPrompts, TTSDataModule


class FlowDataModule(SpeakerPrompts, TTSDataModule):
    """:class:`recipes.data.TTSDataModule` with speaker prompts (see the module docstring).

    Args (besides those of ``TTSDataModule``):
        speaker_prompt_prob: share of training items that get another utterance of their
            speaker as a prompt (aligned models; 0 = off).
        prompt_seconds: (min, max) seconds of the preferred prompts.
        max_prompt_seconds: longest prompt taken when none lasts ``prompt_seconds``.
    """

    def __init__(self, data_dir: str, train_cuts: str = "cuts_train.jsonl.gz", val_cuts: str = "cuts_dev.jsonl.gz",
                 features: str = "audio", language: str = "en-us", sample_rate: int = 24000,
                 max_duration: float = 40.0, num_buckets: int = 8, min_duration: float = 0.5,
                 max_utterance_duration: float = 20.0, num_workers: int = 2, with_stress: bool = True,
                 seed: int = 0, durations: bool = False, loudness: float | None = None,
                 speaker_prompt_prob: float = 0.0, prompt_seconds: tuple[float, float] = (3.0, 5.0),
                 max_prompt_seconds: float = 10.0) -> None:
        super().__init__(data_dir, train_cuts=train_cuts, val_cuts=val_cuts, features=features, language=language,
                         sample_rate=sample_rate, max_duration=max_duration, num_buckets=num_buckets,
                         min_duration=min_duration, max_utterance_duration=max_utterance_duration,
                         num_workers=num_workers, with_stress=with_stress, seed=seed, durations=durations,
                         loudness=loudness)
        self._init_prompts(speaker_prompt_prob, prompt_seconds, max_prompt_seconds, durations)
