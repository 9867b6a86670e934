"""Does a phone aligner's timing hold when only the voice changes?

Praat's Change Gender (the effect of ``tts prepare tinyvoices --voice-change-hours``) moves
pitch and formants and keeps the timing, so a good aligner should put every phone onset
of a voice-changed copy where it put it in the original. This takes the first N aligned
flite/festival utterances of a manifest, changes their voice, aligns the copies with no
quality filter, and prints the aligner's path score and recognizer PER on the copies and
how far their phone onsets moved (in frames); run it from a checkout:

    OMP_NUM_THREADS=1 .venv/bin/python experiments/voice_change_alignment.py \\
        data/tinyvoices/cuts_train_aligned.jsonl.gz --aligner tiny-aligner --f0 200 --formant 1.18
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cuts", help="an aligned manifest (cuts_<split>_aligned.jsonl.gz)")
    ap.add_argument("--aligner", default="tiny-aligner")
    ap.add_argument("-n", type=int, default=30, help="utterances (default 30)")
    ap.add_argument("--f0", type=float, default=200.0, help="median pitch of the copies, Hz (default 200)")
    ap.add_argument("--formant", type=float, default=1.18, help="formant shift ratio (default 1.18)")
    args = ap.parse_args()

    import gzip

    import numpy as np
    import parselmouth
    import soundfile as sf
    from lhotse import CutSet, Recording
    from parselmouth.praat import call

    from tts.data.alignment import align_cuts

    cuts = [c for c in CutSet.from_file(args.cuts)
            if c.supervisions[0].alignment and c.supervisions[0].speaker.startswith(("flite", "festival"))][: args.n]
    if not cuts:
        print(f"error: '{args.cuts}' holds no aligned flite/festival cuts: give an aligned TinyVoices manifest.")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with gzip.open(tmp / "cuts.jsonl.gz", "wt") as f:
            for c in cuts:
                sr = c.sampling_rate
                sound = parselmouth.Sound(c.load_audio()[0].astype(np.float64), sr)
                changed = call(sound, "Change gender", 75, 600, args.formant, args.f0, 1.0, 1.0).values[0]
                path = tmp / f"{c.id}.wav"
                sf.write(path, 0.9 * changed / np.abs(changed).max(), sr, subtype="PCM_16")
                d = c.to_dict()
                d["recording"] = Recording.from_file(path, recording_id=c.recording.id).to_dict()
                d["supervisions"][0].pop("alignment", None)
                f.write(json.dumps(d) + "\n")
        summary = align_cuts(tmp / "cuts.jsonl.gz", args.aligner, min_score=-1e9, max_per=1e9)
        moved = []
        frame_rate = None
        original = {c.id: c for c in cuts}
        for c in CutSet.from_file(tmp / "cuts_aligned.jsonl.gz"):
            frame_rate = c.supervisions[0].custom["align"]["frame_rate"]
            a = [p.start for p in original[c.id].supervisions[0].alignment["phone"]]
            b = [p.start for p in c.supervisions[0].alignment["phone"]]
            if len(a) == len(b):
                moved.append(np.abs(np.array(a) - np.array(b)))
    d = np.concatenate(moved) * frame_rate
    print(f"{len(moved)} utterances changed to {args.f0:g} Hz, formants x{args.formant:g}: median path score "
          f"{summary['median_score']:.2f}, median PER {summary['median_per']:.2f}; {len(d)} phone onsets moved by "
          f"{d.mean():.2f} frames on average, {100 * np.mean(d > 3):.1f} % by more than 3 frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
