import pytest

from text_frontend import EmptyTextError, UnspeakableTextError, normalize_text, split_sentences
from text_frontend.cleanup import clean_unicode

CASES = [
    # cardinals, grouped numbers, negatives, decimals
    ("I have 3 cats.", "I have three cats."),
    ("There were 1,234,567 votes.", "There were one million two hundred thirty-four thousand five hundred sixty-seven votes."),
    ("It fell to -5 today.", "It fell to minus five today."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("Only .5 remains.", "Only point five remains."),
    # ordinals
    ("She came 1st, he came 22nd and I was 103rd.", "She came first, he came twenty-second and I was one hundred third."),
    # currency
    ("It costs $5.50.", "It costs five dollars and fifty cents."),
    ("A $1 coin and $0.99 gum.", "A one dollar coin and ninety-nine cents gum."),
    ("They raised $1.5 million and $20bn.", "They raised one point five million dollars and twenty billion dollars."),
    ("It is £2.50 or €1.", "It is two pounds and fifty pence or one euro."),
    ("Gum costs 5¢.", "Gum costs five cents."),
    # percentages
    ("About 50% agreed, 12.5% did not.", "About fifty percent agreed, twelve point five percent did not."),
    ("Rates of 10-20% are common.", "Rates of ten to twenty percent are common."),
    # years and decades
    ("Born in 1999, moved in 1905, left in 2005, back in 2024.",
     "Born in nineteen ninety-nine, moved in nineteen oh five, left in two thousand five, back in twenty twenty-four."),
    ("Music of the 1990s and the '80s.", "Music of the nineteen nineties and the eighties."),
    ("From 1990-1995.", "From nineteen ninety to nineteen ninety-five."),
    # times
    ("Meet at 3:30 pm.", "Meet at three thirty PM."),
    ("At 10:05 a.m. Then lunch.", "At ten oh five AM. Then lunch."),
    ("It is 7:00.", "It is seven o'clock."),
    ("Call at 5pm. Thanks.", "Call at five PM. Thanks."),
    # dates
    ("Due 2024-03-15.", "Due March fifteenth, twenty twenty-four."),
    ("On March 3rd, 1999 it snowed.", "On March third, nineteen ninety-nine it snowed."),
    # abbreviations
    ("Dr. Smith met Mr. Jones on Main St. today.", "doctor Smith met mister Jones on Main Street today."),
    ("He lives in St. Louis.", "He lives in Saint Louis."),
    ("Apples, pears, etc. and more.", "Apples, pears, et cetera and more."),
    ("We sold apples, pears, etc. Then we left.", "We sold apples, pears, et cetera. Then we left."),
    ("Fruit, e.g. apples, is good.", "Fruit, for example apples, is good."),
    ("Room No. 5 is closed.", "Room number five is closed."),
    # units and symbols
    ("Run 5 km or 1 mi at 10 mph.", "Run five kilometers or one mile at ten miles per hour."),
    ("It was -5 °C outside.", "It was minus five degrees Celsius outside."),
    ("Salt & pepper, 2 + 2 = 4.", "Salt and pepper, two plus two equals four."),
    ("Add 1/2 cup and 2/3 spoon.", "Add one half cup and two thirds spoon."),
    ("Item #3 is mp3 only.", "Item number three is mp three only."),
    # phone numbers: digit by digit in the groups libphonenumber gives them (issue 43)
    ("Call me at 555-123-4567 or visit https://example.com/docs?id=42",
     "Call me at five five five, one two three, four five six seven or visit example dot com slash docs question "
     "mark I-D equals forty-two"),
    ("Call +1 (555) 123-4567.", "Call plus one, five five five, one two three, four five six seven."),
    ("Dial (212) 555-0199 now.", "Dial two one two, five five five, zero one nine nine now."),
    ("Ring +44 20 7946 0958.", "Ring plus four four, two zero, seven nine four six, zero nine five eight."),
    ("Not a phone: 1999-2001 or 12-15.", "Not a phone: nineteen ninety-nine to two thousand one or twelve to fifteen."),
    # web and e-mail addresses
    ("Mail jane.doe@example.org today.", "Mail jane dot doe at example dot org today."),
    ("Write to user+tag@mail-server.example.com.", "Write to user plus tag at mail dash server dot example dot com."),
    ("Go to www.example.co.uk/path.", "Go to W-W-W dot example dot C-O dot U-K slash path."),
    ("Visit example.com now.", "Visit example dot com now."),
    ("See http://localhost:8080/api/v1.", "See localhost colon eight thousand eighty slash A-P-I slash V one."),
    # times with a dot (British) and ordinals in capitals
    ("Meet at 7.30pm, not 7.30.", "Meet at seven thirty PM, not seven point three zero."),
    ("The 2ND and 11th time.", "The second and eleventh time."),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_english_normalization(text, expected):
    assert normalize_text(text, "en-us") == expected


def test_british_english_keeps_and():
    assert normalize_text("105 people", "en-gb") == "one hundred and five people"
    assert normalize_text("105 people", "en-us") == "one hundred five people"


def test_phone_numbers_follow_the_region():
    """A London number is grouped as in Britain when the text is British English; a US reader
    does not take it for a phone number."""
    assert normalize_text("Call (020) 7946 0958.", "en-gb") == "Call zero two zero, seven nine four six, zero nine five eight."
    assert "seven thousand" in normalize_text("Call (020) 7946 0958.", "en-us")


@pytest.mark.parametrize(
    "language,text,expected",
    [("de", "Ich habe 42 Äpfel.", "Ich habe zweiundvierzig Äpfel."),
     ("fr-fr", "Il a 21 ans.", "Il a vingt et un ans."),
     ("es", "Tengo 3 gatos.", "Tengo tres gatos.")],
)
def test_other_languages_spell_numbers(language, text, expected):
    assert normalize_text(text, language) == expected


def test_language_without_num2words_keeps_digits_for_espeak():
    assert normalize_text("我有3只猫", "cmn") == "我有3只猫"


def test_unicode_cleanup():
    assert clean_unicode("“Hello” — she said… ｆｕｌｌ！") == '"Hello" — she said... full!'
    assert clean_unicode("zero\u200bwidth soft\u00adhyphen") == "zerowidth softhyphen"
    assert clean_unicode("smile 😀👍🏽 please") == "smile please"
    assert clean_unicode("你好，世界。") == "你好, 世界."
    assert clean_unicode("tab\tand\nnew line") == "tab and new line"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_a_clear_error(text):
    with pytest.raises(EmptyTextError, match="empty"):
        normalize_text(text)


@pytest.mark.parametrize("text", ["...", "?!", "😀😀", "— …", "%"])
def test_unspeakable_text_is_a_clear_error(text):
    with pytest.raises(UnspeakableTextError, match="nothing to speak"):
        normalize_text(text)


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        normalize_text(None)  # type: ignore[arg-type]


def test_split_sentences():
    assert split_sentences("Hello there. How are you? Fine! Good.") == ["Hello there.", "How are you?", "Fine!", "Good."]
    assert split_sentences('He said "stop." Then left.') == ['He said "stop."', "Then left."]
    assert split_sentences("") == []


def test_split_long_sentence_at_clause_boundaries():
    text = "first part is here; second part follows, third part, and a fourth part closes it"
    pieces = split_sentences(text, max_chars=40)
    assert all(len(p) <= 40 for p in pieces)
    assert " ".join(pieces) == text
    assert pieces[0] == "first part is here;"


def test_split_merges_short_pieces():
    assert split_sentences("Yes. I think that is right.", min_chars=8) == ["Yes. I think that is right."]


def test_split_without_punctuation_cuts_at_spaces():
    text = " ".join(["word"] * 100)
    pieces = split_sentences(text, max_chars=50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces) == text
