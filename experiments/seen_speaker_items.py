"""A tuning set apart from `test_unseen`: seen speakers' test sentences, each prompted by a training utterance.

`tts eval` draws each item's prompt from the same split, and TinyVoices' `test_seen` has one
utterance per speaker, so it cannot prompt itself. This script pairs every ``--every``-th
item of ``--cuts`` (sorted by id) with the utterance of the same speaker in ``--prompts-from``
whose length is nearest ``--prompt-seconds`` (ties: the lower id), writes the prompts and the
references as WAV files under ``--out``, and writes two files for the two commands that
follow: ``synth-TAG.jsonl`` for ``tts synth --jsonl`` (item ``k`` seeded with ``k``) and
``manifest-TAG.jsonl`` for ``tts eval --manifest``. Options to compare (``--speed``...) go on
the ``tts synth`` line; ``--tag`` keeps their outputs apart:

    python experiments/seen_speaker_items.py --out exp/seen --tag 0.9
    tts synth --jsonl exp/seen/synth-0.9.jsonl --model tiny-maskgct --speed 0.9 --overwrite
    tts eval --manifest exp/seen/manifest-0.9.jsonl --no-dnsmos --out eval/seen-0.9

The prompts come from training data, so this measures options, not generalization to new
voices: choose options here and report them on `test_unseen`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cuts", default="data/tinyvoices/cuts_test_seen.jsonl.gz", help="the items (targets)")
    ap.add_argument("--prompts-from", default="data/tinyvoices/cuts_train.jsonl.gz",
                    help="utterances of the same speakers to prompt them")
    ap.add_argument("--every", type=int, default=2, help="take every N-th item by id (default 2)")
    ap.add_argument("--prompt-seconds", type=float, default=4.0, help="preferred prompt length (default 4)")
    ap.add_argument("--out", required=True, help="folder for prompts/, reference/ and the two JSONL files")
    ap.add_argument("--tag", required=True, help="names the JSONL files and the synthesis folder OUT/out-TAG")
    args = ap.parse_args(argv)
    if args.every < 1 or not args.prompt_seconds > 0:
        print("error: --every must be >= 1 and --prompt-seconds positive.", file=sys.stderr)
        return 2
    for path in (args.cuts, args.prompts_from):
        if not Path(path).is_file():
            print(f"error: {path} does not exist: make the corpus with `tts prepare tinyvoices` first.", file=sys.stderr)
            return 2
    import soundfile as sf
    from lhotse import CutSet

    by_speaker: dict[str, list] = {}
    for cut in CutSet.from_file(args.prompts_from):
        by_speaker.setdefault(cut.supervisions[0].speaker, []).append(cut)
    items = sorted(CutSet.from_file(args.cuts), key=lambda c: c.id)[:: args.every]
    out = Path(args.out).resolve()
    (out / "prompts").mkdir(parents=True, exist_ok=True)
    (out / "reference").mkdir(exist_ok=True)
    synth_lines, manifest_lines = [], []
    for k, cut in enumerate(items):
        candidates = by_speaker.get(cut.supervisions[0].speaker)
        if not candidates:
            print(f"error: no utterance of {cut.supervisions[0].speaker} in {args.prompts_from} to prompt {cut.id}.",
                  file=sys.stderr)
            return 2
        prompt = min(candidates, key=lambda p: (abs(p.duration - args.prompt_seconds), p.id))
        prompt_path, ref_path = out / "prompts" / f"{prompt.id}.wav", out / "reference" / f"{cut.id}.wav"
        sf.write(prompt_path, prompt.load_audio()[0], prompt.sampling_rate)
        sf.write(ref_path, cut.load_audio()[0], cut.sampling_rate)
        text, prompt_text = cut.supervisions[0].text, prompt.supervisions[0].text
        audio = out / f"out-{args.tag}" / f"{cut.id}.wav"
        synth_lines.append(dict(text=text, prompt=str(prompt_path), prompt_text=prompt_text, output=str(audio), seed=k))
        manifest_lines.append(dict(id=cut.id, audio=str(audio), text=text, prompt=str(prompt_path),
                                   reference=str(ref_path), prompt_text=prompt_text))
    (out / f"out-{args.tag}").mkdir(exist_ok=True)
    for name, lines in ((f"synth-{args.tag}.jsonl", synth_lines), (f"manifest-{args.tag}.jsonl", manifest_lines)):
        (out / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"{len(items)} items: {out / f'synth-{args.tag}.jsonl'} and {out / f'manifest-{args.tag}.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
