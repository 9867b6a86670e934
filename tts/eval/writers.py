"""An evaluation's report (:class:`EvalReport`) and its outputs: JSON, Markdown, and the PNG plots.

The JSON holds ``{"summary", "config", "rows"}`` with ``null`` for metrics that
were not computed (never ``NaN``, which is not JSON). The Markdown shows WER in
percent, as papers print it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import EvalError
from .manifest import EvalItem
from .plots import plot_distributions, plot_mels

# key -> (header, format) of a report column; WER values are fractions shown as %.
_COLUMNS = {
    "id": ("id", "s"),
    "wer": ("WER (%)", "pct"),
    "ref_wer": ("WER GT (%)", "pct"),
    "sim": ("SIM", "3"),
    "sim_ref": ("SIM GT", "3"),
    "dnsmos_ovrl": ("DNSMOS OVRL", "2"),
    "dnsmos_sig": ("SIG", "2"),
    "dnsmos_bak": ("BAK", "2"),
    "dnsmos_p808": ("P.808", "2"),
    "rtf": ("RTF", "3"),
    "duration": ("s", "2"),
    "transcript": ("transcript", "s"),
}
# (key, header, format) of the summary table, and of the per-item table (one row per item,
# so a shorter DNSMOS header).
SUMMARY_COLUMNS = tuple((k, *_COLUMNS[k]) for k in ("wer", "ref_wer", "sim", "sim_ref", "dnsmos_ovrl", "dnsmos_sig",
                                                     "dnsmos_bak", "dnsmos_p808", "rtf"))
_ROW_HEADERS = {"dnsmos_ovrl": "DNSMOS"}
ROW_COLUMNS = tuple((k, _ROW_HEADERS.get(k, _COLUMNS[k][0]), _COLUMNS[k][1])
                    for k in ("id", "wer", "ref_wer", "sim", "sim_ref", "dnsmos_ovrl", "rtf", "duration", "transcript"))


@dataclass
class EvalReport:
    """Rows, summary and the configuration that produced them.

    Attributes:
        rows: one dict per item (see :meth:`tts.eval.report.Evaluator.evaluate` for the columns).
        summary: see :func:`tts.eval.report.summarize`.
        config: the models and options used (for the record).
    """

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "config": self.config, "rows": self.rows}

    def write_json(self, path: str | os.PathLike) -> Path:
        return write_json(self, path)

    def to_markdown(self, **kwargs: Any) -> str:
        return to_markdown(self, **kwargs)

    def write_markdown(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        return write_markdown(self, path, **kwargs)

    def write(
        self, out_dir: str | os.PathLike, items: Sequence[EvalItem] | None = None, mel_items: int = 3
    ) -> dict[str, Path]:
        """Write ``report.json``, ``report.md``, ``distributions.png`` and (given the
        items) ``mels.png`` into ``out_dir``; returns their paths by kind."""
        return write_report(self, out_dir, items=items, mel_items=mel_items)



def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy / torch scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _atomic_write(path: str | os.PathLike, text: str) -> Path:
    out = Path(path).expanduser()
    if not out.parent.is_dir():
        raise EvalError(f"Cannot write '{out}': the folder '{out.parent}' does not exist. Create it first.")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def write_json(report: EvalReport, path: str | os.PathLike) -> Path:
    """Write ``{"summary", "config", "rows"}`` as indented JSON (``NaN`` -> ``null``)."""
    text = json.dumps(_jsonable(report.to_dict()), indent=2, ensure_ascii=False, allow_nan=False)
    return _atomic_write(path, text + "\n")


def _fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "pct":
        return f"{100 * float(value):.2f}"
    if kind == "s":
        # A table cell: no pipes or newlines.
        return str(value).replace("|", "\\|").replace("\n", " ")
    return f"{float(value):.{int(kind)}f}"


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def compare_markdown(reports: Mapping[str, EvalReport]) -> str:
    """One Markdown table, a row per named report (e.g. per model) — the README's
    results table. Columns that no report computed are left out."""
    cols = [c for c in SUMMARY_COLUMNS if any(r.summary.get(c[0]) is not None for r in reports.values())]
    body = [
        [name, str(r.summary.get("items", ""))] + [_fmt(r.summary.get(k), f) for k, _, f in cols]
        for name, r in reports.items()
    ]
    return _table(["model", "items"] + [h for _, h, _ in cols], body)


def _quarters(shares: list) -> str:
    return " / ".join("–" if v is None else f"{100 * v:.1f} %" for v in shares)


def to_markdown(report: EvalReport, title: str = "Evaluation", max_rows: int | None = None) -> str:
    """A summary table, the models used, and a per-item table.

    Args:
        report: the report.
        title: the heading.
        max_rows: show at most this many items (``None``: all).
    """
    s = report.summary
    parts = [f"# {title}", ""]
    parts.append(
        f"{s.get('items', 0)} items ({s.get('audio_seconds', 0.0):.1f} s of generated audio), "
        f"{s.get('references', 0)} with a ground-truth recording."
    )
    parts += ["", compare_markdown({"this run": report}), ""]
    if s.get("wer") is not None:
        parts.append(
            f"WER is the corpus WER (all errors / all reference words) after Whisper's English "
            f"normalization; the mean of per-item WERs is {_fmt(s.get('wer_mean'), 'pct')} %"
            + (f" (ground truth: {_fmt(s.get('ref_wer_mean'), 'pct')} %)." if s.get("ref_wer") is not None else ".")
        )
    if s.get("missed_by_quarter"):
        parts.append(
            "Reference words not heard, by quarter of the sentence: " + _quarters(s["missed_by_quarter"])
            + (f" (ground truth: {_quarters(s['ref_missed_by_quarter'])})" if s.get("ref_missed_by_quarter") else "")
            + ". A first quarter worse than the rest points at the start of the synthesis, next to the prompt."
        )
    if s.get("sim") is not None:
        parts.append("SIM is the cosine of speaker embeddings, generated vs prompt; SIM GT is ground truth vs prompt.")
    cfg = report.config
    if cfg:
        asr = cfg.get("asr") or {}
        parts += [
            "",
            f"Models: ASR {asr.get('model', '–')} ({asr.get('device', '–')}, {asr.get('compute_type', '–')}); "
            f"speaker encoder {cfg.get('speaker_encoder') or '–'}; DNSMOS {cfg.get('dnsmos') or '–'}.",
        ]
    rows = report.rows if max_rows is None else report.rows[:max_rows]
    cols = [c for c in ROW_COLUMNS if c[0] in ("id", "transcript") or any(r.get(c[0]) is not None for r in rows)]
    parts += [
        "",
        "## Items",
        "",
        _table([h for _, h, _ in cols], [[_fmt(r.get(k), f) for k, _, f in cols] for r in rows]),
    ]
    if max_rows is not None and len(report.rows) > max_rows:
        parts.append(f"\n… {len(report.rows) - max_rows} more items in the JSON report.")
    return "\n".join(parts) + "\n"


def write_markdown(report: EvalReport, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write :func:`to_markdown` to ``path``."""
    return _atomic_write(path, to_markdown(report, **kwargs))


def write_report(
    report: EvalReport,
    out_dir: str | os.PathLike,
    items: Sequence[EvalItem] | None = None,
    mel_items: int = 3,
) -> dict[str, Path]:
    """Write ``report.json``, ``report.md``, ``distributions.png`` and, when ``items``
    are given, ``mels.png`` (prompt / output / reference of the first ``mel_items``).

    Returns:
        ``{"json", "markdown", "distributions"[, "mels"]}`` -> paths.
    """
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": write_json(report, out / "report.json"),
        "markdown": write_markdown(report, out / "report.md"),
        "distributions": plot_distributions(report.rows, out / "distributions.png"),
    }
    if items and mel_items > 0:
        paths["mels"] = plot_mels(items, out / "mels.png", max_items=mel_items)
    return paths
