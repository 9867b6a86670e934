"""Evaluation suite: WER (faster-whisper), speaker similarity, DNSMOS, speed; reports.

Everything runs offline: the default models ship inside pip packages (Whisper-base
in CTranslate2 form, Resemblyzer's encoder, DNSMOS' ONNX models); larger ones
(Whisper large-v3, ECAPA, WavLM-SV) load from local folders or the local cache.

``import tts.eval`` is instant: names load on first use, and models load when an
object that needs one is created.

Example::

    from tts.eval import Evaluator, load_manifest, WhisperASR, wer

    report = Evaluator().evaluate(load_manifest("gen/manifest.jsonl"))
    report.write("gen/eval")                              # JSON, Markdown, PNGs
    wer(["Hello, World!"], ["hello world"]).wer           # 0.0

Modules: ``asr`` (WhisperASR), ``whisper_model`` (model resolution and the
packaged default), ``intelligibility`` (normalization + WER), ``similarity`` /
``speaker_encoders`` (SIM), ``quality`` (DNSMOS), ``speed`` (RTF, peak memory),
``manifest`` (items, JSONL), ``report`` (Evaluator), ``writers`` / ``plots``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Name -> module, imported on first use (PEP 562); codec_lm/codecs/__init__.py has a table
# of the same shape for its own names (a model package may not import tts to share one).
_LAZY = {
    # errors
    "EvalError": "errors",
    "EvalDependencyError": "errors",
    "ManifestError": "errors",
    "ModelFolderError": "errors",
    # ASR and WER
    "WhisperASR": "asr",
    "Transcript": "asr",
    "Word": "asr",
    "resolve_whisper_model": "whisper_model",
    "packaged_whisper_base": "whisper_model",
    "normalize_text": "intelligibility",
    "wer": "intelligibility",
    "WERScores": "intelligibility",
    "WordErrors": "intelligibility",
    # speaker similarity
    "SpeakerSimilarity": "similarity",
    "speaker_similarity": "similarity",
    "cosine_similarity": "similarity",
    "SpeakerEncoder": "speaker_encoders",
    "load_speaker_encoder": "speaker_encoders",
    # quality and speed
    "DNSMOS": "quality",
    "DNSMOSScore": "quality",
    "measure_speed": "speed",
    "real_time_factor": "speed",
    "PeakMemory": "speed",
    "SpeedResult": "speed",
    "Stopwatch": "speed",
    # items, evaluation, output
    "EvalItem": "manifest",
    "load_manifest": "manifest",
    "write_manifest": "manifest",
    "Evaluator": "report",
    "EvalReport": "writers",
    "evaluate": "report",
    "summarize": "report",
    "write_json": "writers",
    "write_markdown": "writers",
    "to_markdown": "writers",
    "compare_markdown": "writers",
    "write_report": "writers",
    "plot_distributions": "plots",
    "plot_mels": "plots",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tts.eval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
