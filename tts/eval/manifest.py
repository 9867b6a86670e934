"""Evaluation items, and the JSONL manifest of a folder of generated audio.

One JSON object per line::

    {"id": "p225_003", "audio": "gen/p225_003.wav", "text": "Six spoons of fresh snow peas.",
     "prompt": "prompts/p225_001.wav", "reference": "gt/p225_003.wav"}

``id``, ``audio``, ``text`` and ``prompt`` are required; ``reference`` (the
ground-truth recording of ``text``), ``prompt_text`` and ``rtf`` (the real-time
factor measured when the clip was made) are optional. Any other key is kept in
``EvalItem.meta``; the evaluator reads three of them: ``language`` (the item's own language,
for Whisper and the WER normalizer), ``group`` (a source group, for per-group tables) and
``other_prompt`` (a prompt of another speaker: the SIM floor of the item). Relative paths are resolved against the manifest's folder, so a
folder with its manifest can be moved or archived as a whole. Blank lines and
lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .errors import ManifestError

if TYPE_CHECKING:  # pragma: no cover - keeps `import tts.eval.manifest` free of torch
    from .inputs import AudioLike


def is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


REQUIRED = ("id", "audio", "text", "prompt")
OPTIONAL = ("reference", "prompt_text", "rtf")


@dataclass
class EvalItem:
    """One generated utterance to evaluate.

    Attributes:
        id: unique name of the item.
        audio: the generated audio: a path, an ``Audio`` or a waveform ``[T]``
            (then ``sample_rate`` is needed).
        text: the target text the audio should say.
        prompt: the voice prompt given to the model (path or audio).
        reference: the ground-truth recording of ``text`` by the prompt's speaker,
            if there is one.
        prompt_text: the prompt's transcript, if known (kept for reports).
        rtf: the real-time factor measured while generating ``audio``.
        sample_rate: rate of raw waveforms among ``audio``/``prompt``/``reference``.
        meta: other fields of the manifest line.
    """

    id: str
    audio: "AudioLike"
    text: str
    prompt: "AudioLike"
    reference: "AudioLike | None" = None
    prompt_text: str | None = None
    rtf: float | None = None
    sample_rate: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _fail(path: Path, lineno: int, problem: str) -> ManifestError:
    return ManifestError(f"{path}, line {lineno}: {problem}")


def _resolve_file(manifest: Path, lineno: int, key: str, value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise _fail(manifest, lineno, f"'{key}' must be a non-empty path string, got {value!r}.")
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = manifest.parent / p
    if not p.is_file():
        where = "" if Path(value).is_absolute() else f" (resolved against the manifest's folder to '{p}')"
        raise _fail(
            manifest,
            lineno,
            f"the {key} file '{value}'{where} does not exist: fix the path, or generate the file first.",
        )
    return p


def _parse_line(manifest: Path, lineno: int, line: str) -> EvalItem:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise _fail(
            manifest, lineno, f"not valid JSON ({err.msg} at column {err.colno}); each line is one object."
        ) from err
    if not isinstance(obj, dict):
        raise _fail(manifest, lineno, f"expected a JSON object {{...}}, got {type(obj).__name__}.")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise _fail(
            manifest, lineno, f"missing {', '.join(repr(k) for k in missing)} (required: {', '.join(REQUIRED)})."
        )
    meta = {}
    for key in obj:
        if key in REQUIRED or key in OPTIONAL:
            continue
        close = difflib.get_close_matches(key, REQUIRED + OPTIONAL, n=1, cutoff=0.75)
        if close:
            # A near-miss of a known key is a typo that would silently drop data.
            raise _fail(manifest, lineno, f"unknown key '{key}': did you mean '{close[0]}'?")
        meta[key] = obj[key]
    item_id = obj["id"]
    if not isinstance(item_id, (str, int)) or str(item_id).strip() == "":
        raise _fail(manifest, lineno, f"'id' must be a non-empty string, got {item_id!r}.")
    text = obj["text"]
    if not isinstance(text, str) or not text.strip():
        raise _fail(manifest, lineno, f"'text' must be the non-empty target text, got {text!r}.")
    prompt_text = obj.get("prompt_text")
    if prompt_text is not None and not isinstance(prompt_text, str):
        raise _fail(manifest, lineno, f"'prompt_text' must be a string, got {prompt_text!r}.")
    rtf = obj.get("rtf")
    if rtf is not None and (
        isinstance(rtf, bool) or not isinstance(rtf, (int, float)) or not math.isfinite(rtf) or rtf < 0
    ):
        raise _fail(manifest, lineno, f"'rtf' must be a non-negative number, got {rtf!r}.")
    reference = obj.get("reference")
    return EvalItem(
        id=str(item_id),
        audio=_resolve_file(manifest, lineno, "audio", obj["audio"]),
        text=text,
        prompt=_resolve_file(manifest, lineno, "prompt", obj["prompt"]),
        reference=None if reference in (None, "") else _resolve_file(manifest, lineno, "reference", reference),
        prompt_text=prompt_text,
        rtf=None if rtf is None else float(rtf),
        meta=meta,
    )


def load_manifest(path: str | os.PathLike) -> list[EvalItem]:
    """Read a JSONL evaluation manifest (see the module docstring).

    Args:
        path: the ``.jsonl`` file.

    Returns:
        The items in file order, with absolute paths.

    Raises:
        ManifestError: the file is missing or empty, or a line is malformed, lacks a
            required key, repeats an id, or points at a missing file (the message
            names the line).
    """
    manifest = Path(path).expanduser()
    if not manifest.is_file():
        what = "is a folder; give the manifest file inside it" if manifest.is_dir() else "does not exist"
        raise ManifestError(f"Manifest '{manifest}' {what}: check the path.")
    manifest = manifest.resolve()
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    with open(manifest, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            item = _parse_line(manifest, lineno, line)
            if item.id in seen:
                raise _fail(
                    manifest, lineno, f"id '{item.id}' already used on line {seen[item.id]}: ids must be unique."
                )
            seen[item.id] = lineno
            items.append(item)
    if not items:
        raise ManifestError(f"Manifest '{manifest}' holds no items: write one JSON object per line.")
    return items


def write_manifest(items: Iterable[EvalItem], path: str | os.PathLike) -> Path:
    """Write items whose audio, prompt and reference are paths as a JSONL manifest.

    Paths inside the manifest's folder are written relative to it (so the folder
    can be moved); others stay absolute.

    Raises:
        ManifestError: an item holds a waveform instead of a path (save it first).
    """
    out = Path(path).expanduser()
    base = out.resolve().parent

    def rel(p: "AudioLike", item: EvalItem, key: str) -> str:
        if not is_path(p):
            raise ManifestError(
                f"Item '{item.id}': its {key} is a waveform; save it to a file before writing a manifest."
            )
        p = Path(p).expanduser().resolve()
        return str(p.relative_to(base)) if p.is_relative_to(base) else str(p)

    lines = []
    for item in items:
        obj: dict[str, Any] = {
            "id": item.id,
            "audio": rel(item.audio, item, "audio"),
            "text": item.text,
            "prompt": rel(item.prompt, item, "prompt"),
        }
        if item.reference is not None:
            obj["reference"] = rel(item.reference, item, "reference")
        if item.prompt_text is not None:
            obj["prompt_text"] = item.prompt_text
        if item.rtf is not None:
            obj["rtf"] = item.rtf
        obj.update(item.meta)
        lines.append(json.dumps(obj, ensure_ascii=False))
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, out)  # readers never see a half-written manifest
    return out
