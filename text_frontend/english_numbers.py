"""English number verbalization on top of ``num2words``.

American English drops the "and" inside numbers ("one hundred twenty-three");
British English keeps it ("one hundred and twenty-three"): ``british=True``.
num2words puts commas between thousands groups ("one thousand, two hundred");
they are left out so that espeak does not pause inside a number.
"""

from __future__ import annotations

import functools

from num2words.lang_EN import Num2Word_EN

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


class _Num2WordEnglish(Num2Word_EN):
    """num2words' English converter with the American/British "and" as an option."""

    def __init__(self, british: bool) -> None:
        self.british = british
        super().__init__()

    def merge(self, lpair, rpair):
        ltext, lnum = lpair
        rtext, rnum = rpair
        if lnum >= 100 > rnum and not (lnum == 1 and rnum < 100):
            joiner = " and " if self.british else " "
            return f"{ltext}{joiner}{rtext}", lnum + rnum
        text, num = super().merge(lpair, rpair)
        return text.replace(", ", " "), num


@functools.lru_cache(maxsize=2)
def _converter(british: bool) -> _Num2WordEnglish:
    return _Num2WordEnglish(british)


def cardinal(n: int, british: bool = False) -> str:
    """``123`` -> ``"one hundred twenty-three"``; negatives read as ``"minus ..."``."""
    return _converter(british).to_cardinal(int(n))


def ordinal(n: int, british: bool = False) -> str:
    """``23`` -> ``"twenty-third"``."""
    return _converter(british).to_ordinal(int(n))


def digits(s: str) -> str:
    """Read a digit string one digit at a time: ``"0451"`` -> ``"zero four five one"``."""
    return " ".join(_ONES[int(c)] for c in s if c.isdigit())


def decimal(s: str, british: bool = False) -> str:
    """``"3.14"`` -> ``"three point one four"``; ``".5"`` -> ``"point five"``."""
    whole, _, frac = s.partition(".")
    whole = whole.replace(",", "")
    head = cardinal(int(whole), british) if whole else ""
    if not frac:
        return head
    return f"{head} point {digits(frac)}".strip()


def year(n: int, british: bool = False) -> str:
    """Read a year the way people say it.

    ``1999`` -> ``"nineteen ninety-nine"``, ``1905`` -> ``"nineteen oh five"``,
    ``1800`` -> ``"eighteen hundred"``, ``2005`` -> ``"two thousand five"``,
    ``2024`` -> ``"twenty twenty-four"``.
    """
    n = int(n)
    hi, lo = divmod(n, 100)
    if n < 1000 or (2000 <= n < 2010) or n % 1000 == 0:
        return cardinal(n, british)
    if lo == 0:
        return f"{cardinal(hi)} hundred"
    if lo < 10:
        return f"{cardinal(hi)} oh {_ONES[lo]}"
    return f"{cardinal(hi)} {cardinal(lo)}"


_IRREGULAR_PLURALS = {"foot": "feet", "half": "halves", "hertz": "hertz", "kilohertz": "kilohertz",
                      "megahertz": "megahertz", "gigahertz": "gigahertz", "penny": "pence", "inch": "inches"}


def plural(word: str, count: float = 2) -> str:
    """``plural("kilometer", 5)`` -> ``"kilometers"``; exactly one keeps the singular.

    Covers the nouns this normalizer produces (units, currencies, ordinals used as
    fraction denominators), which are regular apart from the listed exceptions.
    """
    if count == 1:
        return word
    return _IRREGULAR_PLURALS.get(word, word + "s")


def fraction(num: int, den: int, british: bool = False) -> str:
    """``1/2`` -> ``"one half"``, ``3/4`` -> ``"three quarters"``, ``2/3`` -> ``"two thirds"``."""
    one = {2: "half", 4: "quarter"}.get(den) or ordinal(den, british)
    return f"{cardinal(num, british)} {plural(one, num)}"
