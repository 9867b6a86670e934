"""Model cards (``README.md``) written next to exported weights."""

from __future__ import annotations

from datetime import date
from typing import Any


def model_card(title: str, summary: str, facts: dict[str, Any], usage: str) -> str:
    """A short Markdown card: what the model is, how it was made, how to load it."""
    rows = "\n".join(f"| {k} | {v} |" for k, v in facts.items())
    return (f"# {title}\n\n{summary}\n\n| fact | value |\n|---|---|\n{rows}\n| exported | {date.today()} |\n\n"
            f"## Use\n\n```python\n{usage}\n```\n")
