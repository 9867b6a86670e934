"""Teacher-forced next-code accuracy of a monotonic VALL-E, by the step's place in its phoneme.

A causal AR step reads its own phoneme; without ``lookahead`` it does not know the next
one, yet the last step of a phoneme writes the codes that lead into it. This splits the
accuracy of codebook 1 on the dev batches of the recipe (the same prompts as validation)
into the first step of a phoneme, the last, the steps between, and one-step phonemes,
per frame of the step:

    OMP_NUM_THREADS=1 python experiments/valle_position_accuracy.py --model checkpoints/tiny-valle \\
        --data data/tinyvoices --batches 8

``--model`` takes an exported folder (or a shipped name) or a run's ``.ckpt``. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, also when run from elsewhere

PLACES = ("all", "first step", "between", "last step", "one-step phoneme")


def load_model(source: str):
    """A monotonic ``VallE`` in eval mode from an export folder, a shipped name or a run's ``.ckpt``."""
    import torch

    from codec_lm.valle import VallE, VallEConfig
    from recipes.finetune import initial_weights

    if source.endswith(".ckpt"):  # the recipe's module rebuilds the config from its codec and overrides
        from recipes.valle.module import VallEModule

        hparams = torch.load(source, map_location="cpu", weights_only=False)["hyper_parameters"]
        config = VallEModule(codec=hparams["codec"], valle=hparams.get("valle"), aligner=hparams.get("aligner")).config
    else:
        from tts.checkpoint import build_config, read_checkpoint

        config = build_config(VallEConfig, read_checkpoint(source, family="valle"))
    if not config.monotonic:
        sys.exit(f"error: '{source}' is not a monotonic VALL-E (alignment: {config.alignment}); nothing to split.")
    model = VallE(config).eval()
    model.load_state_dict(initial_weights(source, "valle"))
    return model


def main() -> None:
    import torch

    from codec_lm.valle.alignment import align_batch, group_codes
    from nn_common import lengths_to_mask
    from recipes.valle.data import VallEDataModule

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="export folder, shipped name or a run's .ckpt")
    p.add_argument("--data", required=True, help="corpus folder with codes/cuts_dev_aligned_codes.jsonl.gz")
    p.add_argument("--batches", type=int, default=8, help="dev batches (validation uses 8)")
    args = p.parse_args()

    torch.manual_seed(0)
    model = load_model(args.model)
    c = model.config
    # the tiny config's validation data: speaker prompts of 3-5 s, 40 s of target speech a batch
    dm = VallEDataModule(args.data, val_cuts="codes/cuts_dev_aligned_codes.jsonl.gz", prompt="speaker",
                         prompt_seconds=(3.0, 5.0), max_prompt_seconds=8.0, alignment="monotonic",
                         group_size=c.group_size, max_duration=40.0, max_utterance_duration=15.0, num_workers=0,
                         separator_id=c.separator_id)
    dm.setup("validate")
    g = c.group_size
    hits = {(place, j): [0, 0] for place in PLACES for j in range(g)}
    for i, batch in enumerate(dm.val_dataloader()):
        if i >= args.batches:
            break
        a = align_batch(batch["lm_phonemes"], batch["lm_phoneme_lens"], batch["lm_prompt_phoneme_lens"],
                        batch["lm_durations"], batch["prompt_codes"], batch["prompt_lens"], batch["target_codes"],
                        batch["target_lens"], g, c.lookahead)
        prompt, target = group_codes(a.prompt[:, 0], g), group_codes(a.target[:, 0], g)  # [b, m, g]
        steps = a.target_lens // g
        valid = lengths_to_mask(steps, target.shape[1])
        bos = torch.full_like(target[:, :1], c.bos_id)
        target_in = torch.cat([bos, target.masked_fill(~valid[..., None], 0)[:, :-1]], dim=1)
        with torch.no_grad():
            codes, _ = model.ar.logits(batch["lm_phonemes"], batch["lm_phoneme_lens"], prompt, a.prompt_lens // g,
                                       target_in, steps, a.prompt_phones, a.target_phones)
        hit = codes.argmax(-1) == target
        last = a.advance.bool()  # the step after this one reads the next phoneme
        first = torch.ones_like(last)
        first[:, 1:] = last[:, :-1]
        places = {"all": valid, "first step": valid & first & ~last, "between": valid & ~first & ~last,
                  "last step": valid & last & ~first, "one-step phoneme": valid & first & last}
        for place, sel in places.items():
            for j in range(g):
                hits[(place, j)][0] += int(hit[..., j][sel].sum())
                hits[(place, j)][1] += int(sel.sum())
    print(f"| place in the phoneme | steps | {' | '.join(f'accuracy, frame {j + 1} of {g}' for j in range(g))} |")
    print(f"|---|---|{'---|' * g}")
    for place in PLACES:
        n = hits[(place, 0)][1]
        accs = " | ".join(f"{hits[(place, j)][0] / max(n, 1):.3f}" for j in range(g))
        print(f"| {place} | {n} | {accs} |")


if __name__ == "__main__":
    main()
