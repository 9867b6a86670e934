"""What float16 storage does to a MelRVQ codec's codes and log-mels.

Loads the codec folder twice: as stored, and with every floating-point weight rounded to
float16 and back (what ``weights_dtype: float16`` gives after loading). Over the first
``--limit`` cuts of ``--cuts`` it prints the share of frames whose code is the same in each
codebook, and the mean L1 between the two versions' decoded log-mels next to the stored
codec's own reconstruction error (decoded against the input log-mel), for scale.

    python experiments/codec_precision.py --codec exp/melrvq-ph1 --cuts data/tinyvoices/cuts_test_unseen.jsonl.gz --limit 60

The codec must be stored in float32 (an export without ``--dtype``): both shipped codecs
are stored in float16 already, and were measured before they were converted.
"""

from __future__ import annotations

import argparse
import copy
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codec", required=True, help="a MelRVQ codec folder (or a shipped codec's name)")
    ap.add_argument("--cuts", required=True, help="a manifest (lhotse CutSet) of speech")
    ap.add_argument("--limit", type=int, default=60, help="the first N cuts (default 60)")
    args = ap.parse_args(argv)
    if args.limit < 1:
        print("error: --limit must be >= 1.", file=sys.stderr)
        return 2

    import torch

    from tts.checkpoint import read_checkpoint
    from tts.codecs import load_codec
    from tts.data.manifests import load_cuts
    from tts.errors import TTSError

    try:
        stored = load_codec(args.codec).eval()
        cuts = list(load_cuts(args.cuts))[: args.limit]
    except TTSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not cuts:
        print(f"error: '{args.cuts}' holds no cuts: give a manifest of speech.", file=sys.stderr)
        return 2
    dtype = read_checkpoint(stored.path, verify=False).meta.get("weights_dtype")
    if dtype:  # rounding what is already rounded changes nothing: the answer would be a vacuous 100 %
        print(f"error: '{stored.path}' is already stored in {dtype}: measure its float32 export instead.",
              file=sys.stderr)
        return 2
    if stored.sample_rate != cuts[0].sampling_rate:
        # The codec's mel front-end expects its own rate; resampling here would hide a wrong manifest.
        print(f"error: the cuts are at {cuts[0].sampling_rate} Hz, the codec at {stored.sample_rate} Hz.",
              file=sys.stderr)
        return 2
    rounded = copy.deepcopy(stored)
    with torch.no_grad():
        for t in [*rounded.model.parameters(), *rounded.model.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())
    same = torch.zeros(stored.n_codebooks)
    frames, diff, recon = 0, [], []
    with torch.no_grad():
        for cut in cuts:
            wav = torch.from_numpy(cut.load_audio()).float().mean(0, keepdim=True)
            mel = stored.mel(wav)
            a, b = stored.model.encode(mel), rounded.model.encode(mel)
            same += (a == b).float().sum(dim=(0, 2))
            frames += a.shape[-1]
            mel_a, mel_b = stored.model.decode(a), rounded.model.decode(b)
            diff.append((mel_a - mel_b).abs().mean().item())
            recon.append((mel_a - mel).abs().mean().item())
    share = (same / frames).tolist()
    print(f"{args.codec}: {len(cuts)} cuts, {frames} frames")
    print("same code in float16, per codebook: " + " ".join(f"{x:.4f}" for x in share))
    print(f"decoded log-mel L1, float16 vs stored: {sum(diff) / len(diff):.4f}; "
          f"stored codec vs its input: {sum(recon) / len(recon):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
