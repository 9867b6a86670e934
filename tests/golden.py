"""Short syntheses of the shipped models, compared with a stored fixture (``data/golden_synthesis.json``).

A refactor must not change what the shipped checkpoints say: each model speaks one
short sentence in the demo prompt's voice with a fixed seed and fast options, and the
length, a few statistics and a few hundred evenly spaced samples of the waveform are
compared with the fixture, within 1e-5 (absolute).

Regenerate the fixture only when an output change is intended (and say why in the
commit): ``.venv/bin/python tests/golden.py``.

Synthesis runs on one thread: reductions split over several threads may round
differently, and the codec models sample discrete tokens, where a last-bit difference
can pick another token.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE = HERE / "data" / "golden_synthesis.json"
PROMPT = REPO / "assets" / "demo_prompt.wav"
PROMPT_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
TEXT = "Three lazy dogs."
SEED = 0
SAMPLES = 200  # evenly spaced waveform samples stored per model
# Few steps, so that all three run in seconds on a CPU core.
OPTIONS = {"tiny-flow": {"nfe": 4}, "tiny-maskgct": {"steps": 4, "s2a_steps": 1}, "tiny-valle": {}}


def synthesize(name: str) -> dict:
    """``{"length", "sample_rate", "mean_abs", "rms", "samples"}`` of ``name``'s synthesis of :data:`TEXT`."""
    import torch

    from tts import Synthesizer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        synth = Synthesizer.from_pretrained(name, device="cpu")
        audio = synth.synthesize(TEXT, PROMPT, prompt_text=PROMPT_TEXT, seed=SEED, **OPTIONS[name])
    finally:
        torch.set_num_threads(threads)
    wav = audio.wav.double().flatten()
    n = wav.numel()
    idx = torch.linspace(0, n - 1, SAMPLES).round().long()
    return {"length": n, "sample_rate": audio.sample_rate, "mean_abs": float(wav.abs().mean()),
            "rms": float(wav.pow(2).mean().sqrt()), "samples": [round(float(v), 7) for v in wav[idx]]}


def main() -> None:
    fixture = {"text": TEXT, "seed": SEED, "options": OPTIONS,
               "models": {name: synthesize(name) for name in sorted(OPTIONS)}}
    FIXTURE.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
