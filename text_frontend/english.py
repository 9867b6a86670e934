"""English text normalization: what is written becomes what is said.

The rules run in a fixed order, most specific first, so that a later, more general
rule never sees text an earlier one should have handled:

e-mail and web addresses -> abbreviations -> dates -> phone numbers -> times -> currency
-> percentages -> numbers with units
-> decades -> ordinals -> fractions -> ranges -> signed and decimal numbers
-> grouped numbers -> letter/digit splits -> years and cardinals -> symbols.

Every rule is a regex plus a function that returns words; the number words come
from :mod:`text_frontend.english_numbers` (``inflect``). The output keeps sentence
punctuation (``, . ! ? ; :``), which phonemizer turns into pauses.
"""

from __future__ import annotations

import re

from .english_addresses import EMAIL, PHONE, URL, phone_reader, read_url
from .english_numbers import cardinal, decimal, digits, fraction, ordinal, plural, year

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
_MONTH_RE = "|".join(_MONTHS + [m[:3] for m in _MONTHS] + ["Sept"])

# Abbreviations that are always followed by a name, so never end a sentence.
_TITLES = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor",
    "rev": "reverend", "gen": "general", "sen": "senator", "rep": "representative",
    "gov": "governor", "lt": "lieutenant", "col": "colonel", "capt": "captain",
    "sgt": "sergeant", "mt": "mount",
}
# Abbreviations that may end a sentence: the period is kept when they do.
_TRAILING = {
    "jr": "junior", "sr": "senior", "inc": "incorporated", "ltd": "limited",
    "corp": "corporation", "co": "company", "etc": "et cetera", "approx": "approximately",
    "dept": "department", "vs": "versus", "fig": "figure", "est": "established",
    "st": "Street",
}
_LATIN = {"e.g.": "for example", "i.e.": "that is", "a.k.a.": "also known as", "cf.": "compare"}

# symbol -> (unit, units, sub-unit, sub-units); None where there is no sub-unit.
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
    "₩": ("won", "won", None, None),
}
_SCALES = {
    "thousand": "thousand", "k": "thousand", "million": "million", "m": "million",
    "mn": "million", "billion": "billion", "b": "billion", "bn": "billion",
    "trillion": "trillion", "t": "trillion", "tn": "trillion",
}
# Unit symbols read after a number. Ambiguous ones ("in", "m" for minutes) are left out.
_UNITS = {
    "km": "kilometer", "cm": "centimeter", "mm": "millimeter", "m": "meter",
    "kg": "kilogram", "g": "gram", "mg": "milligram", "lb": "pound", "lbs": "pound",
    "oz": "ounce", "ft": "foot", "mi": "mile", "mph": "mile per hour",
    "km/h": "kilometer per hour", "kph": "kilometer per hour", "ml": "milliliter",
    "l": "liter", "hz": "hertz", "khz": "kilohertz", "mhz": "megahertz", "ghz": "gigahertz",
    "kb": "kilobyte", "mb": "megabyte", "gb": "gigabyte", "tb": "terabyte",
    "ms": "millisecond", "kw": "kilowatt", "kwh": "kilowatt hour", "v": "volt",
    "°c": "degree Celsius", "°f": "degree Fahrenheit", "°": "degree",
}

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
# "am", "pm", "a.m.", "P.M.": group 1 is the a/p letter, group 2 the dotted form.
_AMPM = r"([AaPp])(?:(\.\s?[Mm]\.)|\s?[Mm]\b)"
_SENTENCE_FOLLOWS = re.compile(r"\s+[A-Z]|\s*$")


def _keep_stop(m: re.Match[str]) -> str:
    """A full stop to put back when an abbreviation's own period also ended the sentence."""
    return "." if _SENTENCE_FOLLOWS.match(m.string, m.end()) else ""


def _num_value(s: str) -> float:
    return float(s.replace(",", ""))


def _read_number(s: str, british: bool) -> str:
    """Read a plain number token: ``"1,234"``, ``"3.5"`` or ``"42"``."""
    s = s.replace(",", "")
    if "." in s:
        return decimal(s, british)
    if len(s) > 15:  # an identifier, not a quantity
        return digits(s)
    return cardinal(int(s), british)


def _pluralize_phrase(phrase: str, count: float) -> str:
    # "mile per hour" -> "miles per hour": the head noun is the first word.
    head, _, rest = phrase.partition(" ")
    if head == "degree" or rest.startswith("per") or not rest:
        return " ".join([plural(head, count)] + ([rest] if rest else []))
    return " ".join([head, plural(rest, count)])


class EnglishNormalizer:
    """Callable that normalizes English text.

    Args:
        british: read numbers the British way ("one hundred and five").
    """

    def __init__(self, british: bool = False) -> None:
        self.british = british
        units = sorted(_UNITS, key=len, reverse=True)
        unit_re = "|".join(re.escape(u) for u in units)
        self._rules: list[tuple[re.Pattern[str], object]] = [
            # Addresses first: their dots, slashes and digits are not abbreviations or numbers.
            (EMAIL, read_url),
            (URL, read_url),
            (re.compile(r"(?i)(?<![\w.])(" + "|".join(re.escape(k) for k in _LATIN) + r")(?=\s|$|,)"),
             lambda m: _LATIN[m.group(1).lower()]),
            (re.compile(r"\b(" + "|".join(_TITLES) + r")\.(?=\s+[A-Z])", re.I),
             lambda m: _TITLES[m.group(1).lower()]),
            (re.compile(r"\bSt\.(?=\s+[A-Z])"), lambda m: "Saint"),
            (re.compile(r"\bNo\.\s*(?=\d)", re.I), lambda m: "number "),
            (re.compile(r"#\s?(?=\d)"), lambda m: "number "),
            # Case-insensitive abbreviation, case-sensitive look at what follows: a
            # capital after it means the abbreviation also ended the sentence.
            (re.compile(r"\b(?i:(" + "|".join(_TRAILING) + r"))\."), lambda m: _TRAILING[m.group(1).lower()] + _keep_stop(m)),
            (re.compile(r"\bvs\b", re.I), lambda m: "versus"),
            (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), self._iso_date),
            (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), self._us_date),
            (re.compile(r"\b(" + _MONTH_RE + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?"),
             self._month_day),
            (PHONE, phone_reader("GB" if british else "US")),
            (re.compile(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*" + _AMPM + ")?"), self._time),
            # "7.30 pm", as British English writes it: a time only with its am/pm (else a decimal).
            (re.compile(r"\b(\d{1,2})\.(\d{2})()\s*(?=[AaPp]\.?\s?[Mm]\b)" + _AMPM), self._time),
            (re.compile(r"\b(\d{1,2})\s*" + _AMPM), self._hour_ampm),
            # "$5 million", "$5m", "$2bn"; a short scale must touch the number.
            (re.compile(r"([$£€¥₹₩])\s?(" + _NUM + r")(?:\s?(thousand|million|billion|trillion)\b|(k|m|mn|b|bn|t|tn)\b)?", re.I),
             self._currency),
            (re.compile(r"\b(\d+)\s?¢"), lambda m: f"{cardinal(int(m.group(1)), self.british)} {plural('cent', int(m.group(1)))}"),
            (re.compile(r"(?<![\w.])(" + _NUM + r")\s?%?\s?-\s?(" + _NUM + r")\s?%"),
             lambda m: f"{self._range_end(m.group(1))} to {self._range_end(m.group(2))} percent"),
            (re.compile(r"(?<![\w.])(-?" + _NUM + r")\s?%"), lambda m: f"{self._signed(m.group(1))} percent"),
            (re.compile(r"(?<![\w.])(-?" + _NUM + r")\s?(" + unit_re + r")(?![\w°])", re.I), self._unit),
            (re.compile(r"\b(\d{2})(\d)0'?s\b"), self._decade),
            (re.compile(r"'(\d)0s\b"), lambda m: self._decade_word(int(m.group(1)))),
            (re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.I), lambda m: ordinal(int(m.group(1)), self.british)),
            (re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])"), self._fraction),
            (re.compile(r"(?<![\w.-])(" + _NUM + r")\s?-\s?(" + _NUM + r")(?!\w|\.\d)"),
             lambda m: f"{self._range_end(m.group(1))} to {self._range_end(m.group(2))}"),
            (re.compile(r"(?<![\w-])-(" + _NUM + r")\b"), lambda m: f"minus {_read_number(m.group(1), self.british)}"),
            (re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"), lambda m: " "),
            (re.compile(r"(?<![\d.,])(\d{4})(?!\d|[.,]\d)"), lambda m: self._range_end(m.group(1))),
            (re.compile(r"(?<![\d])(?:\d+(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\d])\.\d+"),
             lambda m: _read_number(m.group(0), self.british)),
            (re.compile(r"\s*&\s*"), lambda m: " and "),
            (re.compile(r"\s*\+\s*"), lambda m: " plus "),
            (re.compile(r"\s*=\s*"), lambda m: " equals "),
            (re.compile(r"(?<=\w)@(?=\w)"), lambda m: " at "),
            (re.compile(r"\s*@\s*"), lambda m: " at "),
            (re.compile(r"\s*×\s*"), lambda m: " times "),
            (re.compile(r"\s+>\s+"), lambda m: " greater than "),
            (re.compile(r"\s+<\s+"), lambda m: " less than "),
            (re.compile(r"°"), lambda m: " degrees"),
            (re.compile(r"(?<=\w)/(?=\w)"), lambda m: " "),
            (re.compile(r"\s+-+\s+"), lambda m: ", "),
            (re.compile(r"[*_~^|\\<>{}\[\]#/©®™`]"), lambda m: " "),
        ]

    # --- rule callbacks -------------------------------------------------------

    def _signed(self, s: str) -> str:
        if s.startswith("-"):
            return "minus " + _read_number(s[1:], self.british)
        return _read_number(s, self.british)

    def _date(self, y: int, mo: int, d: int) -> str | None:
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            return None
        return f"{_MONTHS[mo - 1]} {ordinal(d, self.british)}, {year(y, self.british)}"

    def _iso_date(self, m: re.Match[str]) -> str:
        out = self._date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return out if out is not None else m.group(0)

    def _us_date(self, m: re.Match[str]) -> str:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        # British writers put the day first; a value over 12 settles it either way.
        mo, d = (b, a) if self.british or a > 12 else (a, b)
        out = self._date(y, mo, d)
        return out if out is not None else m.group(0)

    def _month_day(self, m: re.Match[str]) -> str:
        month = next(x for x in _MONTHS if x.lower().startswith(m.group(1).lower()[:3]))
        day = int(m.group(2))
        if not 1 <= day <= 31:
            return m.group(0)
        out = f"{month} {ordinal(day, self.british)}"
        if m.group(3):
            out += f", {year(int(m.group(3)), self.british)}"
        return out

    def _time(self, m: re.Match[str]) -> str:
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 24 or mi > 59:
            return m.group(0)
        ampm = m.group(4)
        words = [cardinal(h, self.british)]
        if mi == 0:
            if not ampm:
                words.append("o'clock")
        elif mi < 10:
            words += ["oh", cardinal(mi)]
        else:
            words.append(cardinal(mi, self.british))
        if m.group(3) and int(m.group(3)):
            secs = int(m.group(3))
            words.append(f"and {cardinal(secs)} {plural('second', secs)}")
        if ampm:
            words.append("AM" if ampm.lower() == "a" else "PM")
        return " ".join(words) + (_keep_stop(m) if m.group(5) else "")

    def _hour_ampm(self, m: re.Match[str]) -> str:
        h = int(m.group(1))
        if h > 12:
            return m.group(0)
        stop = _keep_stop(m) if m.group(3) else ""
        return f"{cardinal(h)} {'AM' if m.group(2).lower() == 'a' else 'PM'}{stop}"

    def _currency(self, m: re.Match[str]) -> str:
        unit, units, sub, subs = _CURRENCIES[m.group(1)]
        amount = m.group(2).replace(",", "")
        scale = m.group(3) or m.group(4)
        if scale:
            # "$1.5 million" -> "one point five million dollars"
            return f"{_read_number(amount, self.british)} {_SCALES[scale.lower()]} {units}"
        whole_s, _, frac_s = amount.partition(".")
        if frac_s and (sub is None or len(frac_s) != 2):
            return f"{decimal(amount, self.british)} {units}"  # "$5.5" -> "five point five dollars"
        whole, cents = int(whole_s or 0), int(frac_s or 0)
        parts = []
        if whole or not cents:
            parts.append(f"{cardinal(whole, self.british)} {unit if whole == 1 else units}")
        if cents:
            parts.append(f"{cardinal(cents, self.british)} {sub if cents == 1 else subs}")
        return " and ".join(parts)

    def _unit(self, m: re.Match[str]) -> str:
        value = abs(_num_value(m.group(1)))
        phrase = _UNITS[m.group(2).lower()]
        return f"{self._signed(m.group(1))} {_pluralize_phrase(phrase, value)}"

    def _decade_word(self, tens: int) -> str:
        word = cardinal(tens * 10)
        return word[:-1] + "ies" if word.endswith("y") else word + "s"

    def _decade(self, m: re.Match[str]) -> str:
        century, tens = int(m.group(1)), int(m.group(2))
        if tens:
            return f"{cardinal(century)} {self._decade_word(tens)}"  # "nineteen nineties"
        if century % 10 == 0:
            return f"{cardinal(century * 100, self.british)}s"  # "2000s" -> "two thousands"
        return f"{cardinal(century)} hundreds"  # "1900s" -> "nineteen hundreds"

    def _fraction(self, m: re.Match[str]) -> str:
        num, den = int(m.group(1)), int(m.group(2))
        if den == 0 or den > 100:
            return f"{cardinal(num, self.british)} slash {cardinal(den, self.british)}"
        return fraction(num, den, self.british)

    def _range_end(self, s: str) -> str:
        """Read one number; a plain integer in 1100..2099 is read as a year.

        That is how people read "1999", "in 1850-1900" and also counts such as
        "1500 people" ("fifteen hundred people").
        """
        if s.isdigit() and len(s) == 4 and 1100 <= int(s) <= 2099:
            return year(int(s), self.british)
        return _read_number(s, self.british)

    # --- entry point ----------------------------------------------------------

    def __call__(self, text: str) -> str:
        for pattern, repl in self._rules:
            text = pattern.sub(repl, text)  # type: ignore[arg-type]
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r"\s+([,.!?;:])", r"\1", text)
        return text.strip()
