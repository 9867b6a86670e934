"""The model-option flags of `tts synth`, `tts edit` and `tts eval`, built from :mod:`tts.options`.

Values are taken as text and checked by :func:`tts.options.check_options` once the
model's family is known, so a bad value gets the same one-line message from the CLI,
the dry run and the Python API (argparse's own type errors would print usage too).
"""

from __future__ import annotations

import argparse

from ..options import all_options


def add_model_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("model options", "each model family takes its own; another family's is an error. "
                                 "A model may set its own defaults (its model.yaml's options, which `tts models` "
                                 "lists); a flag given here overrides them")
    for name, entries in all_options().items():
        opt = entries[0][1]
        defaults = "; ".join(family if o.default is None else f"{family} default {o.default:g}"
                             if isinstance(o.default, (int, float)) else f"{family} default {o.default}"
                             for family, o in entries)
        metavar = ("{" + ",".join(opt.choices) + "}" if opt.choices else "N[,N...]" if opt.several
                   else "N" if opt.kind is int else "X")
        group.add_argument(opt.flag, dest=name, metavar=metavar,
                           help=f"{opt.help}; {opt.describe()} ({defaults})")


def model_options(args: argparse.Namespace) -> dict:
    """The model options given on the command line, as text (checked later against the model's family)."""
    return {name: getattr(args, name) for name in all_options() if getattr(args, name, None) is not None}
