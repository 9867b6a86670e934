"""WER and Whisper's text normalization (tts.eval.intelligibility): no models needed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tts.errors import TTSError
from tts.eval import EvalError, normalize_text, wer
from tts.eval.intelligibility import missed_by_position


def test_normalization_makes_case_and_punctuation_irrelevant():
    assert normalize_text("Hello, World!") == "hello world"
    assert wer("Hello, World!", "hello world").wer == 0.0


def test_whisper_english_normalizer_numbers_spelling_contractions():
    # Whisper's EnglishTextNormalizer: numbers to digits, British -> American, it's -> it is.
    assert normalize_text("It's twenty-five colours.") == normalize_text("it is 25 colors")
    assert wer(["Mr. Smith paid twenty dollars."], ["Mister Smith paid $20."]).wer == 0.0


def test_corpus_wer_is_total_errors_over_total_words():
    refs = ["a b c", "d e", "f g h i"]
    hyps = ["a x c", "d e f", "f g h i"]  # 1 substitution, 1 insertion, perfect
    scores = wer(refs, hyps, normalize=False)
    assert scores.corpus.substitutions == 1 and scores.corpus.insertions == 1 and scores.corpus.deletions == 0
    assert scores.corpus.words == 9
    assert scores.wer == pytest.approx(2 / 9)
    assert scores.item_wers == pytest.approx([1 / 3, 1 / 2, 0.0])
    # The mean of per-item WERs weighs the short second sentence more.
    assert scores.mean_item_wer == pytest.approx((1 / 3 + 1 / 2) / 3)
    assert scores.references == refs


def test_deletions_counted():
    scores = wer(["one two three four"], ["one four"], normalize=False)
    assert scores.corpus.deletions == 2 and scores.wer == pytest.approx(0.5)


def test_without_normalization_punctuation_counts():
    assert wer("Hello, World!", "hello world", normalize=False).wer == 1.0


def test_other_languages_use_the_basic_normalizer():
    assert normalize_text("Guten Tag, wie geht's?", language="de") == "guten tag wie geht s"
    assert wer("Guten Tag!", "guten tag", language="de").wer == 0.0
    # An espeak code such as en-us selects the English normalizer.
    assert normalize_text("colours", language="en-us") == "colors"


def test_empty_reference_conventions():
    assert wer("", "").wer == 0.0
    assert wer("", "two words").wer == 2.0  # every inserted word is an error


@pytest.mark.parametrize(
    "refs, hyps, match",
    [
        (["a", "b"], ["a"], "2 references but 1 hypotheses"),
        ([], [], "no texts"),
        ([None], ["a"], "reference #0 is NoneType"),
        (["a"], [3], "hypothesis #0 is int"),
    ],
)
def test_bad_inputs_are_clear_errors(refs, hyps, match):
    with pytest.raises(EvalError, match=match) as info:
        wer(refs, hyps)
    assert isinstance(info.value, TTSError)


def test_missed_words_by_position_in_the_sentence():
    refs = ["the quick brown fox jumps over lazy dogs", "red green blue black"]
    hyps = ["that we brown fox jumps over lazy dogs", "red green blue black white"]
    # the first two words of the first sentence are missed; the inserted "white" is nobody's
    assert missed_by_position(refs, hyps) == [2 / 3, 0.0, 0.0, 0.0]  # 2 + 1 words in the first quarters
    assert missed_by_position(refs, hyps, 2) == [2 / 6, 0.0]
    assert missed_by_position(["a b c"], [""], 1) == [1.0]  # nothing heard: every word missed
    assert missed_by_position(["hello"], ["hello"], 4) == [1 - 1.0, None, None, None]  # no word in slices 2-4
    with pytest.raises(EvalError, match="parts >= 1"):
        missed_by_position(refs, hyps, 0)


def test_import_tts_eval_is_light():
    # Nothing heavy at import time (docs/architecture.md, Conventions); models and their libraries load on use.
    code = (
        "import sys, tts.eval\n"
        "from tts.eval import EvalItem, load_manifest, wer, normalize_text\n"
        "heavy = {'torch', 'faster_whisper', 'ctranslate2', 'resemblyzer', 'speechbrain', 'transformers',\n"
        "         'speechmos', 'onnxruntime', 'matplotlib', 'librosa'}\n"
        "assert not heavy & set(sys.modules), sorted(heavy & set(sys.modules))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
