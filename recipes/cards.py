"""Model cards (``README.md``) written next to exported weights: what a model is, how it was
made (data, command, steps, validation curve), how to load it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class Card:
    """What a model card says about one export (see :func:`model_card`)."""

    title: str
    summary: str
    usage: str
    facts: dict[str, Any] = field(default_factory=dict)


def model_card(card: Card) -> str:
    """A short Markdown card: what the model is, how it was made, how to load it."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in card.facts.items())
    return (f"# {card.title}\n\n{card.summary}\n\n| fact | value |\n|---|---|\n{rows}\n| exported | {date.today()} |\n\n"
            f"## Use\n\n```python\n{card.usage}\n```\n")


def millions(module) -> float:
    """Parameters of ``module``, in millions (for the card's summary)."""
    return sum(p.numel() for p in module.parameters()) / 1e6


def synthesizer_usage(directory: str | os.PathLike, options: str = "") -> str:
    """The card's usage snippet of a TTS model (loaded through ``tts.Synthesizer``)."""
    return (f'from tts import Synthesizer\ntts = Synthesizer.from_pretrained("{directory}")\n'
            f'audio = tts.synthesize("Hello there.", "prompt.wav", prompt_text="..."{options})')


def curve_table(metrics_csv, keys: list[str], every: int = 1) -> str:
    """A Markdown table of validation metrics by step, from Lightning ``CSVLogger`` metrics.csv files.

    Args:
        metrics_csv: one metrics.csv, or several in order (a run resumed with
            ``--ckpt_path last`` logs to a new ``version_N``); where two files log the same
            step, the later file's row wins.
        keys: the columns to show (e.g. ``["val/per", "val/text_gap"]``); rows where none
            is logged are skipped.
        every: keep every ``every``-th validation row (and always the last).
    """
    import csv

    paths = [metrics_csv] if isinstance(metrics_csv, (str, os.PathLike)) else list(metrics_csv)
    by_step: dict[int, dict] = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            by_step.update({int(r["step"]): r for r in csv.DictReader(f) if any(r.get(k) for k in keys)})
    rows = [by_step[s] for s in sorted(by_step)]
    rows = [r for i, r in enumerate(rows) if i % every == every - 1 or i == len(rows) - 1]
    lines = ["| step | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for r in rows:
        cells = [f"{float(r[k]):.4g}" if r.get(k) else "" for k in keys]
        lines.append(f"| {int(r['step']) + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
