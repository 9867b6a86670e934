"""Zero-shot evaluation of a model (or of the ground truth) on a test split.

``run_zero_shot`` synthesizes every case of :func:`tts.eval.cases.build_cases` through
the :class:`tts.Synthesizer` (prompt = another utterance of the speaker, with its
transcript), times it, and evaluates the audio with an :class:`Evaluator`:
WER and DNSMOS of the output, SIM of output vs prompt, and the same metrics of the
ground-truth recording, so the gap to real speech is visible next to each number.
Without a model it evaluates the ground truth alone (the ceiling row).

Output folder: ``prompts/``, ``reference/``, ``audio/`` (wav files), ``manifest.jsonl``
(re-evaluate with ``tts eval --manifest``), ``report.json``, ``report.md`` and PNG plots.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cases import EvalCase, save_cut_audio
from .errors import EvalError
from .manifest import EvalItem, write_manifest
from .report import Evaluator
from .speed import PeakMemory


def prepare_out_dir(out_dir: str | os.PathLike, overwrite: bool) -> Path:
    """Create ``out_dir``; an existing non-empty one needs ``overwrite`` (nothing is lost unasked)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise EvalError(f"Output folder '{out}' is not empty: pass --overwrite to replace its report, "
                        "or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_zero_shot(cases: list[EvalCase], out_dir: str | os.PathLike, synthesizer=None, evaluator=None,
                  language: str = "en-us", seed: int = 0, options: dict[str, Any] | None = None,
                  overwrite: bool = False, progress: Callable[[str, int, int], None] | None = None):
    """Synthesize (if a model is given) and evaluate every case; return the :class:`EvalReport`.

    Args:
        cases: from :func:`build_cases`.
        out_dir: report folder (see the module docstring).
        synthesizer: a loaded :class:`tts.Synthesizer`, or None for the ground truth only.
        evaluator: an :class:`Evaluator` (default: Whisper-base, Resemblyzer, DNSMOS).
        seed: case ``k`` is synthesized with ``seed + k``.
        options: model options (``nfe``, ``cfg``, ...).
        progress: ``progress(stage, done, total)`` with stage ``"synthesize"`` or ``"evaluate"``.
    """
    out = prepare_out_dir(out_dir, overwrite)
    for sub in ("prompts", "reference", "audio"):
        (out / sub).mkdir(exist_ok=True)
    evaluator = evaluator or Evaluator()
    options = options or {}
    items: list[EvalItem] = []
    peak = None
    if synthesizer is not None:  # one warm-up call, so that the first item's RTF is not load time
        synthesizer.synthesize("Warm up.", save_cut_audio(cases[0].prompt, out / "prompts" / "_warmup.wav"),
                               prompt_text=cases[0].prompt_text, language=language, seed=seed, options=options)
        (out / "prompts" / "_warmup.wav").unlink()
    with PeakMemory(str(synthesizer.device) if synthesizer is not None else "cpu") as peak:
        for k, case in enumerate(cases):
            prompt = save_cut_audio(case.prompt, out / "prompts" / f"{case.id}.wav")
            sr = synthesizer.sample_rate if synthesizer is not None else None
            reference = save_cut_audio(case.target, out / "reference" / f"{case.id}.wav", sr)
            if synthesizer is None:
                items.append(EvalItem(case.id, audio=reference, text=case.text, prompt=prompt,
                                      prompt_text=case.prompt_text))
            else:
                t0 = time.perf_counter()
                audio = synthesizer.synthesize(case.text, prompt, prompt_text=case.prompt_text, language=language,
                                               seed=seed + k, options=options)
                seconds = time.perf_counter() - t0
                path = audio.save(out / "audio" / f"{case.id}.wav", overwrite=True)
                items.append(EvalItem(case.id, audio=str(path), text=case.text, prompt=prompt, reference=reference,
                                      prompt_text=case.prompt_text, rtf=seconds / audio.duration))
            if progress:
                progress("synthesize", k + 1, len(cases))
    write_manifest(items, out / "manifest.jsonl")
    report = evaluator.evaluate(items, progress=(lambda d, t, _id: progress("evaluate", d, t)) if progress else None)
    report.summary["peak_memory_mib"] = round(peak.increase_bytes / 2**20, 1) if synthesizer is not None else None
    report.summary["model"] = str(synthesizer.info.path) if synthesizer is not None else "ground truth"
    report.summary["options"] = dict(options, seed=seed)
    report.write(out, items)
    return report
