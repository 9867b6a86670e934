"""English readings of addresses: web addresses, e-mail addresses and phone numbers.

* A **web address** is read as a person reads it out: ``https://example.com/docs?id=42``
  -> "example dot com slash docs question mark I-D equals forty-two". The ``http(s)://``
  before it is not said (other schemes are: "F-T-P colon slash slash ..."); each
  separator is named; a name with a vowel is read as a word, one without (``www``,
  ``html``) or of one or two letters (``id``, ``uk``) letter by letter; numbers of up
  to four digits are read as numbers, longer ones digit by digit.
* An **e-mail address** the same way around its "at": "jane dot doe at example dot org".
* A **phone number** digit by digit in its groups, with a pause (a comma) between them:
  ``555-123-4567`` -> "five five five, one two three, four five six seven". Which text
  is a number, and its groups, come from Google's libphonenumber (``phonenumbers``):
  a run of digit groups that looks like a phone number (a ``+``, an area code in
  brackets, or at least three groups; 7 to 15 digits) is read as one where the library
  finds it a possible number of the region (US, or GB for British English), grouped as
  the library formats it for that region (``+44 20 7946 0958``, ``01 23 45 67 89``).

Letters to spell are written upper case and joined by hyphens (``I-D``): so written,
espeak-ng names each letter (written apart, it reads a lone "A" as the article).
"""

from __future__ import annotations

import re

from .english_numbers import cardinal, digits

_TLDS = ("com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "ai", "co", "uk", "us", "ca", "au",
         "de", "fr", "es", "it", "nl", "eu", "jp", "cn", "in", "ru", "br", "ch", "se", "no", "dev", "app", "me", "tv")
_LABEL = r"[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*"
_TRAIL = r"[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]"  # a path or query, without the punctuation that ends a sentence
URL = re.compile(r"(?i)(?<![\w@.])(?:(?:https?|ftp)://|www\.)" + _TRAIL
                 + r"|(?<![\w@.])(?:" + _LABEL + r"\.)+(?:" + "|".join(_TLDS) + r")\b(?:[/?#]" + _TRAIL + ")?")
EMAIL = re.compile(r"(?i)(?<![\w.+-])[\w.+-]*\w@(?:" + _LABEL + r"\.)+[a-z]{2,}\b")
PHONE = re.compile(r"(?<![\w+/.:-])(\+\d{1,3}[\s.-]?)?(\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,5}"
                   r"(?![\w]|[.,:/-]\d)")

_SYMBOLS = {".": "dot", "/": "slash", "?": "question mark", "=": "equals", "&": "and", "#": "hash", "-": "dash",
            "_": "underscore", "~": "tilde", "%": "percent", ":": "colon", "+": "plus", "@": "at"}
# Names people spell out even though they could be read as words.
_SPELLED = {"api", "url", "faq", "pdf", "gif", "jpg", "png", "svg", "csv", "usa", "ftp", "http", "https", "html",
            "php", "xml", "json", "sql", "ssh", "tcp", "ios"}


def _spell(letters: str) -> str:
    return "-".join(letters.upper())


def _name(token: str) -> str:
    """One run of letters of an address: a word, or its letters spelled."""
    if len(token) <= 2 or token.lower() in _SPELLED or not re.search(r"[aeiouy]", token, re.I):
        return _spell(token)
    return token


def read_address(text: str) -> str:
    """The words of a web or e-mail address (see the module docstring)."""
    text = re.sub(r"(?i)^https?://", "", text)
    words = []
    for token in re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]", text):
        if token.isdigit():
            words.append(cardinal(int(token)) if len(token) <= 4 and not token.startswith("0") else digits(token))
        elif token.isalpha():
            words.append(_name(token))
        elif token in _SYMBOLS:
            words.append(_SYMBOLS[token])
    return " ".join(words)


def read_url(m: re.Match[str]) -> str:
    return read_address(m.group(0))


def phone_reader(region: str):
    """A ``PHONE`` match -> its reading in ``region`` (``"US"``, ``"GB"``), or the text
    unchanged where it is not a phone number (a range, a date, a plain number)."""
    import phonenumbers

    def read(m: re.Match[str]) -> str:
        text = m.group(0)
        number_digits = re.sub(r"\D", "", text)
        groups = len(re.findall(r"\d+", text))
        looks_like_phone = m.group(1) or m.group(2) or groups >= 3
        if not looks_like_phone or not 7 <= len(number_digits) <= 15:
            return text
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return text
        if not phonenumbers.is_possible_number(number):
            return text
        style = phonenumbers.PhoneNumberFormat.INTERNATIONAL if m.group(1) else phonenumbers.PhoneNumberFormat.NATIONAL
        parts = re.findall(r"\d+", phonenumbers.format_number(number, style))
        spoken = [digits(p) for p in parts]
        if m.group(1):
            spoken[0] = f"plus {spoken[0]}"
        return ", ".join(spoken)

    return read
