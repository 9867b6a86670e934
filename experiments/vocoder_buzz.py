"""Does a vocoder buzz at its frame rate? Copy-synthesis of a few utterances, then two measures.

An iSTFT vocoder whose frames do not join up in phase adds spectral lines at its frame
rate (24000 / 256 = 93.75 Hz for Vocos mels) and its multiples. For each utterance and
its copy-synthesis (audio -> log-mel -> vocoder) this prints:

* ``lines``: the mean over k = 1..6 of the power at k x frame rate against the median of
  the +-20 Hz around it, in dB (Welch, 1 Hz bins): ~0-2 dB for speech, far more for a buzz;
* ``f0``: Praat's median pitch (the buzz shows up as a pitch of exactly the frame rate).

Run it from a checkout (needs praat-parselmouth, in the train extra):

    OMP_NUM_THREADS=1 .venv/bin/python experiments/vocoder_buzz.py --vocoder tiny-vocos \\
        --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz -n 12 --wav assets/demo_prompt.wav
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def lines_db(wav, sr: int, frame_rate: float, harmonics: int = 6) -> float:
    import numpy as np
    from scipy.signal import welch

    f, p = welch(wav, sr, nperseg=sr)  # 1 Hz bins
    out = []
    for k in range(1, harmonics + 1):
        c = int(round(frame_rate * k))
        out.append(10 * np.log10(p[c - 1:c + 2].max() / np.median(p[c - 20:c + 21])))
    return float(np.mean(out))


def median_f0(wav, sr: int) -> float:
    import numpy as np
    import parselmouth

    f0 = parselmouth.Sound(wav.astype(np.float64), sr).to_pitch().selected_array["frequency"]
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if f0.size else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocoder", default="tiny-vocos", help="shipped name or exported vocoder folder")
    ap.add_argument("--cuts", help="a manifest; its first -n cuts of 1 s or more are used")
    ap.add_argument("-n", type=int, default=12)
    ap.add_argument("--wav", nargs="*", default=[], help="more audio files")
    args = ap.parse_args()

    import numpy as np
    import torch

    from tts.audio import load
    from tts.vocoder import Vocoder

    voc = Vocoder.from_pretrained(args.vocoder)
    sr = voc.sample_rate
    frame_rate = sr / voc.hop_length
    items = []
    if args.cuts:
        from lhotse import load_manifest

        for cut in load_manifest(args.cuts):
            if len(items) == args.n:
                break
            if cut.duration >= 1.0:
                items.append((cut.id, cut.resample(sr).load_audio()[0]))
    for path in args.wav:
        items.append((Path(path).name, load(path, sr).wav.reshape(-1).numpy()))
    if not items:
        print("error: nothing to measure: give --cuts and/or --wav.")
        return 2
    rows = []
    for name, wav in items:
        with torch.inference_mode():
            copy = voc.resynthesize(torch.from_numpy(wav).float()).squeeze(0).numpy()
        n = min(len(wav), len(copy))
        row = (lines_db(wav[:n], sr, frame_rate), lines_db(copy[:n], sr, frame_rate),
               median_f0(wav[:n], sr), median_f0(copy[:n], sr))
        rows.append(row)
        print(f"{name:24s} lines {row[0]:5.1f} -> {row[1]:5.1f} dB   f0 {row[2]:6.1f} -> {row[3]:6.1f} Hz")
    m = np.nanmean(np.array(rows), axis=0)
    print(f"mean over {len(rows)} ({args.vocoder}, frame rate {frame_rate:g} Hz): lines {m[0]:.1f} -> {m[1]:.1f} dB, "
          f"median f0 {m[2]:.1f} -> {m[3]:.1f} Hz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
