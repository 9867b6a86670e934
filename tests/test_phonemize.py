import subprocess
import sys
import warnings

import pytest

from text_frontend import (
    EmptyTextError,
    Frontend,
    PhonemeVocab,
    UnspeakableTextError,
    UnsupportedLanguageError,
    resolve_language,
    supported_languages,
)
from text_frontend.espeak import get_backend
from text_frontend.phonemize import parse_phonemes
from text_frontend.symbols import SPACE

SAMPLES = {
    "en-us": ("Hello, world! How are you today?", 6),
    "en-gb": ("The weather in London is lovely.", 6),
    "de": ("Guten Morgen, wie geht es dir?", 6),
    "fr-fr": ("Bonjour, comment allez-vous?", None),
    "es": ("¿Dónde está la biblioteca?", 4),
    "cmn": ("你好，今天天气很好。", None),
}


@pytest.mark.parametrize("language", SAMPLES)
def test_languages_phonemize_without_unknown_symbols(language):
    text, n_words = SAMPLES[language]
    fe = Frontend(language)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown symbol would warn
        seq = fe.encode(text)
    assert len(seq.ids) == len(seq.symbols) > 0
    assert PhonemeVocab.unk_id not in seq.ids
    assert seq.language == language
    if n_words is not None:
        assert len(seq.word_spans) == n_words
    # words are separated by exactly one boundary symbol and never contain one
    for a, b in seq.word_spans:
        assert SPACE not in seq.symbols[a:b]


def test_english_symbols_punctuation_and_word_spans():
    seq = Frontend("en-us").encode("Hello, world!")
    assert "".join(seq.symbols) == "həlˈoʊ, wˈɜːld!"
    assert seq.words == ["həlˈoʊ", "wˈɜːld"]
    assert seq.symbols[seq.word_spans[0][1]] == ","
    assert seq.symbols[-1] == "!"
    assert seq.text == "Hello, world!"


def test_stress_is_optional():
    with_stress = Frontend("en-us").encode("Hello world")
    without = Frontend("en-us", with_stress=False).encode("Hello world")
    assert "ˈ" in with_stress.symbols
    assert "ˈ" not in without.symbols and "ˌ" not in without.symbols
    assert "".join(without.symbols) == "həloʊ wɜːld"


def test_normalization_happens_before_phonemization():
    seq = Frontend("en-us").encode("It costs $5.")
    assert seq.text == "It costs five dollars."
    assert len(seq.word_spans) == 4


def test_cjk_punctuation_becomes_word_boundaries():
    seq = Frontend("cmn").encode("你好，今天天气很好。")
    assert "," in seq.symbols and seq.symbols[-1] == "."
    assert any(ch.isdigit() for ch in seq.symbols)  # tones are symbols


def test_batch_equals_single_calls():
    fe = Frontend("en-us")
    texts = ["First sentence here.", "A second, longer one with 42 things!", "Third?"]
    assert fe.encode_batch(texts) == [fe.encode(t) for t in texts]


def test_batch_rejects_a_bare_string():
    with pytest.raises(TypeError, match="list"):
        Frontend("en-us").encode_batch("not a list")


def test_backend_is_created_once_per_language():
    a = get_backend("en-us")
    for _ in range(5):
        Frontend("en-us").encode("again")
        Frontend("en", with_stress=False).encode("and again")
    assert get_backend("en-us") is a


@pytest.mark.parametrize("alias,code", [("en", "en-us"), ("EN_us", "en-us"), ("fr", "fr-fr"), ("zh", "cmn"), ("German", "de")])
def test_language_aliases(alias, code):
    assert resolve_language(alias) == code


def test_unknown_language_lists_close_matches():
    with pytest.raises(UnsupportedLanguageError) as err:
        Frontend("en-uz")
    msg = str(err.value)
    assert "Unknown language 'en-uz'" in msg and "en-us" in msg and "tts languages" in msg


def test_empty_language_is_an_error():
    with pytest.raises(UnsupportedLanguageError, match="empty"):
        Frontend("  ")


def test_all_espeak_languages_are_listed():
    langs = supported_languages()
    assert {"en-us", "en-gb", "de", "fr-fr", "es", "cmn"} <= set(langs)
    assert len(langs) > 100


@pytest.mark.parametrize("text,err", [("", EmptyTextError), ("   ", EmptyTextError), ("?!...", UnspeakableTextError), ("🙂🙂", UnspeakableTextError)])
def test_bad_text_errors(text, err):
    with pytest.raises(err):
        Frontend("en-us").encode(text)


def test_parse_phonemes():
    ph = parse_phonemes('"kwˈoʊt"|ænd|¿kˈe?|pˈiː.ˈɛm.', with_stress=False)
    assert "".join(ph.symbols) == '"kwoʊt" ænd ¿ke? piː.ɛm.'
    words = ["".join(ph.symbols[a:b]) for a, b in ph.word_spans]
    assert words == ["kwoʊt", "ænd", "ke", "piː.ɛm"]
    assert parse_phonemes("", True).symbols == ()
    assert parse_phonemes("|—|", True).word_spans == ()


def test_parse_phonemes_decomposes_to_nfd():
    ph = parse_phonemes("bɔ̃ʒˈuʁ ä", with_stress=True)  # precomposed ä -> a + U+0308
    assert "\u0308" in ph.symbols and "\u0303" in ph.symbols
    assert all(len(s) == 1 for s in ph.symbols)


def test_frontend_split_long_text():
    fe = Frontend("en-us")
    sentences = fe.split("Dr. Smith arrived at 5 pm. He was late! " * 3)
    assert sentences[0] == "doctor Smith arrived at five PM."
    assert len(sentences) == 6


def test_text_frontend_does_not_import_torch_or_lightning():
    code = (
        "import sys, text_frontend\n"
        "text_frontend.Frontend('en-us').encode('hi')\n"
        "bad = [m for m in ('torch', 'lightning', 'tts') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
