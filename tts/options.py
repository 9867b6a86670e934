"""Model options: each declared once, with its type and range, per model family.

The `tts` flags (``--nfe``, ``--top-k``, ...), :meth:`tts.Synthesizer.check_options`,
``tts synth --dry-run`` and ``tts eval`` all read this table, so they accept and
refuse the same values with the same message. It imports nothing heavy: the CLI
builds its parser from it and the dry run checks options without loading a model.

    >>> check_options("flow", {"nfe": 8, "speed": 1.2})
    {'nfe': 8, 'speed': 1.2}
    >>> check_options("flow", {"nfe": 0})
    Traceback (most recent call last):
    tts.options.OptionError: --nfe must be an integer in [1, 1000], got 0.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TTSError


class OptionError(TTSError, ValueError):
    """A model option the model does not take, or a value out of its range."""


@dataclass(frozen=True)
class Option:
    """One model option.

    Attributes:
        name: the Python keyword (``top_k``); the flag is ``--top-k``.
        kind: ``int``, ``float`` or ``str``.
        help: what it does, for ``--help``.
        default: the model's default, shown in ``--help`` (None: depends on the input).
        low, high: the range; ``low_open``/``high_open`` exclude the bound itself.
        choices: the allowed strings (``kind=str``).
        several: also takes several values, comma-separated (``8,2,1``) or as a list:
            :meth:`check` returns a tuple of them (one value stays a plain value).
    """

    name: str
    kind: type
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    several: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def default_for(self, own: Mapping[str, Any] | None = None) -> Any:
        """What this option is when not given: the model's own default (``own``: its
        model.yaml ``options``) or else the family's (None: decided per input)."""
        return (own or {}).get(self.name, self.default)

    def describe(self) -> str:
        """The accepted values in words: ``an integer >= 1``, ``a number in (0, 1]``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        what = "an integer" if self.kind is int else "a number"
        if self.several:
            return dataclasses.replace(self, several=False).describe() + ", or several separated by commas"
        if self.low is not None and self.high is not None:
            return f"{what} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{what} {'<' if self.high_open else '<='} {self.high:g}"
        return what

    def check(self, value: Any) -> Any:
        """``value`` (or its text, as the CLI passes it) converted to :attr:`kind` if it is in
        range, else :class:`OptionError`."""
        given = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value  # as given: -1.0 stays -1.0
        bad = OptionError(f"{self.flag} must be {self.describe()}, got {given}.")
        if self.several and (isinstance(value, (list, tuple)) or (isinstance(value, str) and "," in value)):
            items = value.split(",") if isinstance(value, str) else list(value)
            one = dataclasses.replace(self, several=False)
            try:
                checked = tuple(one.check(v) for v in items)
            except OptionError:
                raise bad from None
            if not checked:
                raise bad
            return checked if len(checked) > 1 else checked[0]
        if self.kind is str:
            if not isinstance(value, str) or value not in self.choices:
                raise bad
            return value
        if isinstance(value, str):
            try:
                value = self.kind(value.strip())
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise bad
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise bad
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise bad
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise bad
        return value


def format_value(value: Any) -> str:
    """An option's value as a flag takes it: ``16``, ``0.5``, ``8,2,1``, ``euler``."""
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def as_flags(options: Mapping[str, Any]) -> str:
    """``{"steps": 10, "s2a_steps": (8, 2)}`` -> ``--steps 10 --s2a-steps 8,2``."""
    return " ".join(f"--{name.replace('_', '-')} {format_value(v)}" for name, v in options.items())


# ---------------------------------------------------------------- the options
def _cfg(default: float) -> Option:
    return Option("cfg", float, "classifier-free guidance scale (0: none)", default, low=0.0, high=20.0)


def _speed(help_: str) -> Option:
    return Option("speed", float, help_, 1.0, low=0.1, high=10.0)


_DURATION = Option("duration", float, "seconds of the whole output, shared between sentences by phoneme count "
                   "(default: from the prompt's speaking rate)", None, low=0.0, high=3600.0, low_open=True)
_TEMPERATURE = Option("temperature", float, "sampling temperature (0: greedy)", 1.0, low=0.0, high=10.0)

FAMILY_OPTIONS: dict[str, tuple[Option, ...]] = {
    "flow": (
        Option("nfe", int, "ODE function evaluations (more: slower, smoother)", 16, low=1, high=1000),
        Option("solver", str, "ODE solver", "euler", choices=("euler", "midpoint")),
        _cfg(2.0),
        Option("cfg_audio", float, "guidance scale of the prompt's voice apart from the text's (default: --cfg's; "
               "another value costs 1.5x the work)", None, low=0.0, high=20.0),
        Option("sway", float, "sway-sampling coefficient (0: uniform time steps)", -1.0, low=-1.0, high=1.0),
        _speed("speaking-rate factor (1.0: as the prompt, 2.0: twice as fast)"),
        _DURATION,
    ),
    "valle": (
        _TEMPERATURE,
        Option("top_k", int, "sample among the k most likely codes (0: off)", 0, low=0),
        Option("top_p", float, "nucleus sampling mass (1.0: off)", 0.8, low=0.0, high=1.0, low_open=True),
        Option("num_candidates", int, "samples per sentence; --rerank picks the one kept", 1, low=1, high=64),
        Option("rerank", str, "how the kept candidate is chosen: 'likelihood' (the AR's most likely of those "
               "that ended by themselves) or 'phones' (monotonic models: the one the phone aligner hears saying "
               "the sentence's phones most clearly)", "likelihood", choices=("likelihood", "phones")),
        Option("advance", str, "monotonic models: 'median' moves the phoneme pointer on once the head's chance "
               "of having moved on passes 1/2, 'sample' draws stay/advance at every step", "median",
               choices=("median", "sample")),
        _speed("monotonic models: speaking-rate factor (0.9: the phoneme pointer moves on about a tenth later)"),
        Option("cfg", float, "monotonic models trained with phone dropout: classifier-free guidance scale of the "
               "AR's codes (0: none; about doubles the AR's work)", 0.0, low=0.0, high=20.0),
        Option("nar_decode", str, "what the codec decodes of codebooks 2..8: the NAR's 'codes', or the 'expected' "
               "codebook vectors under its distributions (MelRVQ codecs; a small vector where the NAR is unsure)",
               "codes", choices=("codes", "expected")),
        Option("decode_codebooks", int, "how many codebooks are generated and decoded (default: all; 1: the AR's "
               "alone, no NAR): fewer for a codec that decodes its first codebooks alone (trained with quantize "
               "dropout) where the NAR's codes add more error than voice", None, low=1, high=64),
    ),
    "maskgct": (
        Option("steps", int, "decoding steps of the first (text-to-semantic) stage", 25, low=1, high=1000),
        Option("s2a_steps", int, "decoding steps per acoustic codebook, or one count per codebook (8,2,1: "
               "8 for the first, 2 for the next, 1 for the rest; default 8,2,1)", None, low=1, high=1000,
               several=True),
        Option("temperature", float, "sampling temperature of the first step, annealed to 0", 1.0,
               low=0.0, high=10.0),
        Option("top_k", int, "sample among the k most likely codes (0: off)", 20, low=0),
        _cfg(2.5),
        Option("s2a_cfg", float, "guidance scale of the second (acoustic) stage", 0.0, low=0.0, high=20.0),
        _speed("speaking-rate factor for the estimated length (ignored with --duration)"),
        _DURATION,
    ),
}


def _flow_rules(options: Mapping[str, Any]) -> str | None:
    if options.get("solver") == "midpoint" and options.get("nfe", 16) % 2:
        return f"--solver midpoint spends two evaluations per step: give an even --nfe (got {options.get('nfe', 16)})."
    return None


# Checks that involve more than one option: family -> function returning a message or None.
RULES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {"flow": _flow_rules}


def family_options(family: str) -> dict[str, Option]:
    """``{name: Option}`` of a family (empty for a family with no options)."""
    return {o.name: o for o in FAMILY_OPTIONS.get(family, ())}


def all_options() -> dict[str, list[tuple[str, Option]]]:
    """``{name: [(family, Option), ...]}`` over every family, in declaration order (for the CLI)."""
    table: dict[str, list[tuple[str, Option]]] = {}
    for family, opts in FAMILY_OPTIONS.items():
        for opt in opts:
            table.setdefault(opt.name, []).append((family, opt))
    return table


class CheckedOptions(dict):
    """The options of a run, checked for one model folder (:func:`tts.prechecks.check_model`,
    :meth:`tts.Synthesizer.check_options`): the Synthesizer of that folder uses them as they
    are, so that a run checks its options once."""

    def __init__(self, values: Mapping[str, Any], folder: str | os.PathLike) -> None:
        super().__init__(values)
        self.folder = Path(folder)


def with_defaults(family: str, options: Mapping[str, Any], defaults: Mapping[str, Any] | None = None,
                  model: str | None = None) -> dict[str, Any]:
    """The options a run uses: those given (not None) over the model's own ``defaults``
    (``model.yaml`` ``options``, :attr:`tts.checkpoint.CheckpointInfo.options`), checked
    together by :func:`check_options`. Options in neither are left to the family's defaults.

    >>> with_defaults("maskgct", {"cfg": 1.5}, {"steps": 10, "cfg": 0.0})
    {'steps': 10, 'cfg': 1.5}
    """
    merged = dict(defaults or {})
    merged.update({k: v for k, v in options.items() if v is not None})
    return check_options(family, merged, model=model)


def check_options(family: str, options: Mapping[str, Any], model: str | None = None) -> dict[str, Any]:
    """The options that are not None, checked and converted, for a model of ``family``.

    Args:
        family: the checkpoint family (``flow``, ``valle``, ``maskgct``).
        options: keyword -> value (``None`` values are dropped: "not given").
        model: the model's name, for the message.

    Raises:
        OptionError: an option the family does not take (the message lists the flags
            it does take), a value of the wrong type or out of range, or a combination
            that does not work.
    """
    spec = family_options(family)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = [k for k in given if k not in spec]
    if unknown:
        who = f"{model} ({family})" if model else f"The {family} model"
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        takes = ", ".join(o.flag for o in spec.values()) or "none"
        raise OptionError(f"{who} does not take {flags}; its options are {takes} and --seed.")
    checked = {k: spec[k].check(v) for k, v in given.items()}
    rule = RULES.get(family)
    message = rule(checked) if rule else None
    if message:
        raise OptionError(message)
    return checked
