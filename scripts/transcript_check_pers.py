"""The measurements behind ``tts.recognizer.TRANSCRIPT_MIN_SCORE``: the shipped aligner's
alignment score and its recognizer's phone error rate on recordings with their own
transcript (matching pairs) and with another one (mismatching pairs).

The recordings are made here, as TinyVoices makes its own (espeak-ng and flite voices), of
sentences that are not in TinyVoices' text pool, plus the demo prompt (flite ``slt``,
which TinyVoices holds out):

    .venv/bin/python scripts/transcript_check_pers.py [--aligner tiny-aligner] [--json out.json]

Prints, per kind of pair, the count and the minimum, median and maximum of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SENTENCES = [
    "The orange cat slept on the warm windowsill all afternoon.",
    "Please bring three bags of flour from the market tomorrow.",
    "A cold wind blew across the frozen lake before dawn.",
    "My neighbour repaired the old bicycle with a borrowed wrench.",
    "They painted the fence green and left the brushes to dry.",
    "The library closes early on Sundays during the summer.",
    "We watched the storm roll in from the top of the hill.",
    "Her brother plays the violin in a small jazz band.",
    "The train to the coast was late again this morning.",
    "Fresh bread and honey make a simple breakfast.",
    "He forgot his umbrella and walked home in the rain.",
    "The museum opened a new room for ancient maps.",
]
# engine, voice: espeak-ng's and flite's English voices, as TinyVoices uses them.
VOICES = [("espeak", "en-us"), ("espeak", "en-gb"), ("espeak", "en-us+f3"), ("espeak", "en-gb-x-rp+m7"),
          ("flite", "slt"), ("flite", "awb"), ("flite", "rms"), ("flite", "kal16")]
SHORT_WRONG = ["Completely different words here.", "a b"]


def synthesize(engine: str, voice: str, text: str, wav: Path) -> None:
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", voice, "-w", str(wav), text]
    else:
        cmd = ["flite", "-voice", voice, "-t", text, "-o", str(wav)]
    subprocess.run(cmd, check=True, capture_output=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--aligner", default="tiny-aligner")
    p.add_argument("--json", help="also write every pair's PER here")
    args = p.parse_args()

    from tts.audio import load
    from tts.recognizer import PhoneRecognizer

    rec = PhoneRecognizer(args.aligner)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine, voice in VOICES:
            for k, text in enumerate(SENTENCES):
                wav = Path(tmp) / f"{engine}-{voice}-{k}.wav"
                synthesize(engine, voice, text, wav)
                audio = load(wav, 24000)
                pairs = [("match", text), ("other sentence", SENTENCES[(k + 1) % len(SENTENCES)])]
                pairs += [("short wrong", t) for t in SHORT_WRONG]
                for kind, transcript in pairs:
                    m = rec.score(audio.wav, audio.sample_rate, transcript)
                    rows.append({"kind": kind, "voice": f"{engine}:{voice}", "text": transcript, "score": m.score,
                                 "per": m.per})
    demo = load(REPO / "assets" / "demo_prompt.wav", 24000)
    own = (REPO / "assets" / "demo_prompt.txt").read_text(encoding="utf-8").strip()
    for kind, transcript in [("demo match", own)] + [("demo wrong", t) for t in SHORT_WRONG + SENTENCES[:3]]:
        m = rec.score(demo.wav, demo.sample_rate, transcript)
        rows.append({"kind": kind, "voice": "demo_prompt", "text": transcript, "score": m.score, "per": m.per,
                     "heard": m.heard})
    for key in ("score", "per"):
        print(f"{key:<16} {'n':>4} {'min':>7} {'median':>7} {'max':>7}")
        for kind in dict.fromkeys(r["kind"] for r in rows):
            v = [r[key] for r in rows if r["kind"] == kind]
            print(f"  {kind:<14} {len(v):>4} {min(v):>7.2f} {statistics.median(v):>7.2f} {max(v):>7.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
