"""Each model family's option widgets, built from :data:`tts.options.FAMILY_OPTIONS`.

One widget per option, labelled with its CLI flag (the error messages name the flag),
showing the picked model's default (its model.yaml ``options``, else the family's) and, below it, the help and the accepted range. Numbers
are typed as text, as on the command line, and the widgets check nothing themselves:
the text goes to :func:`tts.options.check_options`, which parses it as it parses a
flag's value, so a bad value gets the CLI's message. An empty field is "not given".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..options import FAMILY_OPTIONS, Option
from .service import default_text


@dataclass
class OptionWidgets:
    """The widgets of one family, inside a group the page shows for that family's models."""

    family: str
    group: Any
    widgets: list[tuple[Option, Any]]


def _widget(gr, opt: Option, elem_id: str, own: Mapping[str, Any] | None):
    info = f"{opt.help}; {opt.describe()}"
    if opt.choices:
        return gr.Dropdown(list(opt.choices), value=opt.default_for(own), label=opt.flag, info=info,
                           elem_id=elem_id)
    if opt.default is None:
        info += "; empty: the model decides"
    return gr.Textbox(default_text(opt, own), label=opt.flag, info=info, max_lines=1, elem_id=elem_id)


def option_widgets(gr, families: list[str], visible_family: str | None, prefix: str,
                   own: Mapping[str, Any] | None = None) -> list[OptionWidgets]:
    """A group of widgets per family in ``families`` (those of the offered models), in the
    order of :data:`FAMILY_OPTIONS`; only ``visible_family``'s group is shown at first, its
    widgets holding the first model's own defaults ``own`` where it has them.
    Each widget's element id is ``{prefix}-{family}-{option}`` (``synth-flow-nfe``)."""
    groups = []
    for family, opts in FAMILY_OPTIONS.items():
        if family not in families:
            continue
        shown = own if family == visible_family else None
        with gr.Group(visible=family == visible_family) as group:
            groups.append(OptionWidgets(family, group, [(opt, _widget(gr, opt, f"{prefix}-{family}-{opt.name}", shown))
                                                     for opt in opts]))
    return groups


def shown_values(groups: list[OptionWidgets], family: str | None, own: Mapping[str, Any] | None) -> list[Any]:
    """The values :func:`flat_widgets` should show for a model of ``family`` with its own
    defaults ``own`` (the page sets them when that model is picked); None for the widgets
    of other families, which keep theirs."""
    return [(opt.default_for(own) if opt.choices else default_text(opt, own)) if g.family == family else None
            for g in groups for opt, _ in g.widgets]


def flat_widgets(groups: list[OptionWidgets]) -> list[Any]:
    """Every option widget, in the order :func:`values_by_family` reads their values."""
    return [widget for g in groups for _, widget in g.widgets]


def values_by_family(groups: list[OptionWidgets], values: tuple) -> dict[str, dict[str, Any]]:
    """``{family: {option name: value}}`` from the values of :func:`flat_widgets`, in order."""
    found: dict[str, dict[str, Any]] = {}
    it = iter(values)
    for g in groups:
        found[g.family] = {opt.name: next(it) for opt, _ in g.widgets}
    return found
