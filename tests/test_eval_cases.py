"""Zero-shot evaluation cases: same-speaker prompts of 3-5 s, deterministic, spread over speakers."""

from dataclasses import dataclass, field

import pytest

from tts.eval.cases import build_cases
from tts.eval.errors import EvalError


@dataclass
class Sup:
    text: str
    speaker: str


@dataclass
class Cut:
    id: str
    duration: float
    speaker: str
    text: str = "some words"
    supervisions: list = field(default_factory=list)

    def __post_init__(self):
        self.supervisions = [Sup(self.text, self.speaker)]


def test_prompt_is_another_utterance_of_the_speaker_near_4_s():
    cuts = [Cut("a1", 2.0, "A"), Cut("a2", 4.4, "A"), Cut("a3", 3.2, "A"), Cut("a4", 9.0, "A"), Cut("b1", 6.0, "B"),
            Cut("b2", 7.0, "B"), Cut("c1", 5.0, "C")]  # C has one utterance: skipped
    cases = {c.id: c for c in build_cases(cuts)}
    assert set(cases) == {"a1", "a2", "a3", "a4", "b1", "b2"}
    assert cases["a1"].prompt.id == "a2"  # 4.4 s is closest to 4 s within 3-5 s
    assert cases["a2"].prompt.id == "a3"  # a prompt is never the target itself
    assert cases["b1"].prompt.id == "b2"  # nothing in 3-5 s: the shortest above 3 s
    assert all(c.prompt.supervisions[0].speaker == c.speaker for c in cases.values())


def test_limit_spreads_over_speakers():
    cuts = [Cut(f"{s}{i}", 4.0, s) for s in "ABCD" for i in range(5)]
    cases = build_cases(cuts, limit=4)
    assert sorted(c.speaker for c in cases) == ["A", "B", "C", "D"]
    assert [c.id for c in build_cases(cuts, limit=4)] == [c.id for c in cases]  # deterministic


def test_no_usable_case_is_an_error():
    with pytest.raises(EvalError, match="at least two"):
        build_cases([Cut("x", 4.0, "A"), Cut("y", 4.0, "B")])


def test_spread_over_speakers_with_uneven_groups():
    from tts.eval.cases import spread_over_speakers

    items = [("A", 1), ("A", 2), ("A", 3), ("B", 1), ("C", 1), ("C", 2)]
    picked = spread_over_speakers(items, 4, key=lambda x: x[0])
    assert picked == [("A", 1), ("B", 1), ("C", 1), ("A", 2)]
    assert len(spread_over_speakers(items, 99, key=lambda x: x[0])) == len(items)  # a limit above the count
