"""Do a codec's training levels cover the level that synthesis gives its prompts?

Synthesis scales every prompt to -20 LUFS (``tts.audio.TARGET_LUFS``, peak-limited at
0.99) before the codec encodes it; the codec and vocoder recipes train on crops scaled to
a random peak level in ``--gain-db`` (``recipes.crops.AudioCrops``: -6 to -1 dBFS). This
script reads every ``--every``-th cut of ``--cuts`` and prints, over those utterances:

- the peak level (dBFS) each reaches at -20 LUFS, the way prompts are prepared;
- the loudness (LUFS) each has at the two ends of the training peak range.

If the prompt peaks fall inside the training range (equivalently, -20 LUFS inside the
loudness range), the codec has seen prompt-level audio and retraining it at -20 LUFS
would not change what it hears.

    python experiments/codec_levels.py --cuts data/tinyvoices/cuts_train.jsonl.gz --every 8
"""

from __future__ import annotations

import argparse
import statistics
import sys


def _deciles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.1f}"
    d = statistics.quantiles(values, n=10)
    return f"10% {d[0]:.1f}, 50% {d[4]:.1f}, 90% {d[8]:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cuts", required=True, help="a manifest (lhotse CutSet) of speech")
    ap.add_argument("--every", type=int, default=8, help="read every N-th cut (default 8)")
    ap.add_argument("--gain-db", type=float, nargs=2, default=(-6.0, -1.0), metavar=("LOW", "HIGH"),
                    help="the training crops' peak range in dBFS (default -6 -1, as recipes/crops.py)")
    args = ap.parse_args(argv)
    if args.every < 1 or args.gain_db[0] > args.gain_db[1]:
        print("error: --every must be >= 1 and --gain-db LOW <= HIGH.", file=sys.stderr)
        return 2

    import torch

    from tts.audio import TARGET_LUFS, loudness, normalize_loudness, peak_dbfs
    from tts.data.manifests import load_cuts
    from tts.errors import TTSError

    try:
        cuts = list(load_cuts(args.cuts))[::args.every]
    except TTSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    peaks, low, high = [], [], []
    for cut in cuts:
        wav = torch.from_numpy(cut.load_audio()).float().mean(0)
        if wav.abs().max() <= 0:
            continue
        peaks.append(peak_dbfs(normalize_loudness(wav, cut.sampling_rate, TARGET_LUFS)))
        unit = wav / wav.abs().max()
        low.append(loudness(unit * 10 ** (args.gain_db[0] / 20), cut.sampling_rate))
        high.append(loudness(unit * 10 ** (args.gain_db[1] / 20), cut.sampling_rate))
    if not peaks:
        print(f"error: no audible cut among the {len(cuts)} read from {args.cuts}.", file=sys.stderr)
        return 2
    inside = sum(args.gain_db[0] <= p <= args.gain_db[1] for p in peaks) / len(peaks)
    print(f"{len(peaks)} utterances of {args.cuts}")
    print(f"peak at {TARGET_LUFS:g} LUFS (dBFS): {_deciles(peaks)}")
    print(f"loudness at a {args.gain_db[0]:g} dBFS peak (LUFS): {_deciles(low)}")
    print(f"loudness at a {args.gain_db[1]:g} dBFS peak (LUFS): {_deciles(high)}")
    print(f"prompt peaks inside the training range: {inside:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
