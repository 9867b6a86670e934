"""What does a noisy prompt alignment cost an aligned model?

Aligned models (VALL-E R, aligned MaskGCT, the flow model) read the prompt's phone
alignment, measured by the phone aligner, as truth; on a voice far from the aligner's
training voices its boundaries drift and phones go missing. This runs ``tts eval`` on a
model with every prompt alignment perturbed (``recipes/align_noise.py``): each inner
boundary moved by up to ``--shift`` frames, each phone dropped with probability ``--drop``
(its frames go to the phone before it). Compare the report with a run at ``--shift 0
--drop 0`` (the same as plain ``tts eval``). Run it from a checkout:

    OMP_NUM_THREADS=1 .venv/bin/python experiments/prompt_alignment_noise.py --shift 3 --drop 0.1 -- \\
        --model tiny-valle --cuts data/manyvoices/cuts_dev_unseen.jsonl.gz --out eval/valle-noise --seed 0 --no-dnsmos

Everything after ``--`` goes to ``tts eval``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from recipes.align_noise import perturb_alignment  # noqa: E402
from tts import aligner as aligner_module  # noqa: E402
from tts.backends import codec_model, flow  # noqa: E402
from tts.cli import main as tts_main  # noqa: E402


def noisy(align, shift: int, drop: float, seed: int):
    """``align_prompt`` whose alignments are perturbed, from a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    counts = {"prompts": 0, "symbols": 0, "dropped": 0}

    def aligned(aligner, vocab, mel, prompt_ids):
        ids, durations = align(aligner, vocab, mel, prompt_ids)
        new_ids, new_durations = perturb_alignment(ids, durations, shift, drop, {vocab.space_id}, generator)
        counts["prompts"] += 1
        counts["symbols"] += ids.numel()
        counts["dropped"] += ids.numel() - new_ids.numel()
        return new_ids, new_durations

    return aligned, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shift", type=int, default=2, help="largest boundary move, frames (default 2)")
    ap.add_argument("--drop", type=float, default=0.0, help="probability of dropping a phone (default 0)")
    ap.add_argument("--noise-seed", type=int, default=0)
    ap.add_argument("eval_args", nargs=argparse.REMAINDER, help="-- then the arguments of `tts eval`")
    args = ap.parse_args()
    eval_args = args.eval_args[1:] if args.eval_args[:1] == ["--"] else args.eval_args
    aligned, counts = noisy(aligner_module.align_prompt, args.shift, args.drop, args.noise_seed)
    # The backends imported align_prompt by name: patch it where they look it up.
    codec_model.align_prompt = aligned
    flow.align_prompt = aligned
    code = tts_main(["eval", *eval_args])
    print(f"prompt alignments perturbed: {counts['prompts']} prompts, {counts['dropped']} of {counts['symbols']} "
          f"symbols dropped, boundaries moved by up to {args.shift} frames")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
