"""Running the speech engines and sox for one utterance.

Each engine writes a wav at its own rate (espeak-ng 22.05 kHz, flite 8/16 kHz,
festival 16 kHz); a voice change (Praat's Change Gender, through praat-parselmouth) comes
next where the speaker has one; sox then applies the speaker's perturbation (flite/festival),
trims leading/trailing silence to 0.15 s, peak-normalizes to -3 dBFS and writes
24 kHz mono 16-bit FLAC. The final file is renamed into place only when complete,
so an interrupted run never leaves a file that looks finished.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import TTSError
from .voices import Speaker

SAMPLE_RATE = 24000
REQUIRED_TOOLS = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
_TIMEOUT = 120


class EngineError(TTSError, RuntimeError):
    """A speech engine or sox failed for one utterance."""


def missing_tools(engines: set[str]) -> list[str]:
    """Command-line tools that the given engines (plus sox) need and that are absent."""
    tools = {"sox"} | {REQUIRED_TOOLS[e] for e in engines}
    return sorted(t for t in tools if shutil.which(t) is None)


def _run(cmd: list[str], what: str) -> None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT)
    except subprocess.TimeoutExpired as err:
        raise EngineError(f"{what} timed out after {_TIMEOUT} s: {' '.join(cmd[:4])} ...") from err
    if res.returncode != 0:
        raise EngineError(f"{what} failed (exit {res.returncode}): {res.stderr.strip()[:300]}")


def engine_wav(speaker: Speaker, text: str, wav: Path, workdir: Path) -> None:
    engine, voice = speaker.base.engine, speaker.base.voice
    if engine == "espeak":
        _run(["espeak-ng", "-v", voice, "-p", str(speaker.pitch), "-s", str(int(speaker.rate)), "-w", str(wav), text],
             f"espeak-ng ({voice})")
    elif engine == "flite":
        _run(["flite", "-voice", voice, "-t", text, "-o", str(wav)], f"flite ({voice})")
    elif engine == "festival":
        txt = workdir / "text.txt"
        txt.write_text(text + "\n", encoding="utf-8")
        _run(["text2wave", "-eval", f"(voice_{voice})", str(txt), "-o", str(wav)], f"festival ({voice})")
    else:
        raise EngineError(f"Unknown engine {engine!r}.")


def change_voice(wav: Path, out: Path, f0: float, formant: float) -> None:
    """Praat's Change Gender: median pitch to ``f0`` Hz, formants x ``formant``,
    pitch range and timing unchanged (so the text's timing is the engine's)."""
    try:
        import parselmouth
        from parselmouth.praat import call
    except ImportError as err:
        raise EngineError("Voice changes need praat-parselmouth: run `make setup` "
                          "(or `pip install praat-parselmouth`).") from err
    try:
        sound = parselmouth.Sound(str(wav))
        # Pitch analysis floor/ceiling 75-600 Hz: Praat's defaults for speech.
        changed = call(sound, "Change gender", 75, 600, formant, f0, 1.0, 1.0)
        call(changed, "Scale peak", 0.9)  # Praat writes 16-bit WAV: keep it from clipping
        changed.save(str(out), "WAV")
    except parselmouth.PraatError as err:
        raise EngineError(f"Praat's Change Gender failed: {str(err).strip()[:300]}") from err


def finish(raw: Path, out: Path, pitch_cents: int = 0, tempo: float = 1.0) -> None:
    """The last step of every utterance: sox pitch shift (cents) and tempo where asked, silence
    trimmed at both ends and 0.15 s padded back, peak at -3 dBFS, 24 kHz mono 16-bit ``out``
    (renamed into place only when complete)."""
    effects: list[str] = []
    if pitch_cents:
        effects += ["pitch", str(pitch_cents)]
    if tempo != 1.0:
        effects += ["tempo", "-s", f"{tempo:.3f}"]
    # Trim silence at both ends (reverse trick), then pad 0.15 s back on.
    effects += ["silence", "1", "0.02", "0.1%", "reverse", "silence", "1", "0.02", "0.1%", "reverse",
                "pad", "0.15", "0.15", "gain", "-n", "-3", "rate", "-v", str(SAMPLE_RATE)]
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".partial-{out.name}")
    # -D: no dither, so the same input always gives the same bits (determinism).
    _run(["sox", "-D", str(raw), "-c", "1", "-b", "16", str(partial), *effects], "sox")
    os.replace(partial, out)


def synthesize(speaker: Speaker, text: str, out: Path) -> None:
    """Speak ``text`` in ``speaker``'s voice into ``out`` (24 kHz mono FLAC).

    Raises:
        EngineError: the engine or sox failed.
    """
    with tempfile.TemporaryDirectory(prefix="tinyvoices-") as tmp:
        work = Path(tmp)
        raw = work / "raw.wav"
        engine_wav(speaker, text, raw, work)
        if speaker.f0:
            changed = work / "changed.wav"
            change_voice(raw, changed, speaker.f0, speaker.formant)
            raw = changed
        if speaker.base.engine == "espeak":  # espeak-ng perturbs natively (-p, -s)
            finish(raw, out)
        else:
            finish(raw, out, speaker.pitch, speaker.rate)
