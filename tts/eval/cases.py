"""Zero-shot evaluation cases from a test split: target text + a prompt by the same speaker.

For every utterance of the split, the prompt is *another* utterance of the same
speaker, preferably 3-5 s long (the common zero-shot protocol, e.g. VALL-E and F5-TTS
on LibriSpeech test-clean): the one closest to 4 s among those in range, else the
shortest one longer than 3 s, else the longest there is. The choice is deterministic.
Speakers with a single utterance cannot be evaluated this way and are skipped.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import torch

from ..audio import save
from .errors import EvalError

PROMPT_MIN, PROMPT_MAX, PROMPT_TARGET = 3.0, 5.0, 4.0


@dataclass
class EvalCase:
    """One zero-shot test: say ``text`` in the voice of ``prompt``.

    Attributes:
        id: the target utterance's cut id.
        text: its transcript (what the model must say).
        speaker: the speaker of target and prompt.
        target: the target's lhotse cut (ground-truth audio).
        prompt: the prompt's lhotse cut.
        prompt_text: the prompt's transcript.
    """

    id: str
    text: str
    speaker: str
    target: Any
    prompt: Any
    prompt_text: str


def _text(cut) -> str:
    return " ".join((s.text or "").strip() for s in cut.supervisions).strip()


def _pick_prompt(candidates: list) -> Any:
    in_range = [c for c in candidates if PROMPT_MIN <= c.duration <= PROMPT_MAX]
    if in_range:
        return min(in_range, key=lambda c: (abs(c.duration - PROMPT_TARGET), c.id))
    longer = [c for c in candidates if c.duration > PROMPT_MIN]
    if longer:
        return min(longer, key=lambda c: (c.duration, c.id))
    return max(candidates, key=lambda c: (c.duration, c.id))


def build_cases(cuts, limit: int | None = None) -> list[EvalCase]:
    """Evaluation cases for every cut with a transcript and a same-speaker prompt.

    Args:
        cuts: a lhotse ``CutSet`` (or list of cuts) with speaker-labelled supervisions.
        limit: keep only the first ``limit`` cases (ordered by cut id), spread over speakers.

    Raises:
        EvalError: no cut has both a transcript and another utterance by its speaker.
    """
    by_speaker: dict[str, list] = defaultdict(list)
    for cut in cuts:
        if cut.supervisions and cut.supervisions[0].speaker and _text(cut):
            by_speaker[cut.supervisions[0].speaker].append(cut)
    cases = []
    for speaker, group in sorted(by_speaker.items()):
        if len(group) < 2:
            continue
        for cut in sorted(group, key=lambda c: c.id):
            prompt = _pick_prompt([c for c in group if c.id != cut.id])
            cases.append(EvalCase(cut.id, _text(cut), speaker, cut, prompt, _text(prompt)))
    if not cases:
        raise EvalError("No evaluation case: every speaker needs at least two transcribed utterances "
                        "(one is the prompt of the other). Use a test split such as test_unseen.")
    if limit is not None and limit < len(cases):
        cases = sorted(spread_over_speakers(cases, limit, key=lambda c: c.speaker), key=lambda c: c.id)
    return cases


def spread_over_speakers(items: list, limit: int, key) -> list:
    """The first ``limit`` of ``items`` taken round-robin over speakers (``key(item)``),
    so that a small limit still covers many voices instead of the first few speakers."""
    per: dict[str, list] = defaultdict(list)
    for item in items:
        per[key(item)].append(item)
    queues = [per[s] for s in sorted(per)]
    picked: list = []
    while len(picked) < min(limit, len(items)):
        for q in queues:
            if q and len(picked) < limit:
                picked.append(q.pop(0))
    return picked


def save_cut_audio(cut, path: str | os.PathLike, sample_rate: int | None = None) -> str:
    """Write a cut's audio (resampled when asked) to ``path``; return the path."""
    c = cut.resample(sample_rate) if sample_rate and sample_rate != cut.sampling_rate else cut
    save(path, torch.from_numpy(c.load_audio()[0]), c.sampling_rate, overwrite=True)
    return str(path)
