"""experiments/seen_speaker_items.py: a tuning set of seen speakers, prompted from their training utterances."""

import json
import runpy

from conftest import REPO

SCRIPT = str(REPO / "experiments" / "seen_speaker_items.py")


def test_pairs_each_item_with_its_speakers_training_utterance(tinyvoices, tmp_path, capsys):
    from lhotse import CutSet

    main = runpy.run_path(SCRIPT)["main"]
    cuts, train = tinyvoices / "cuts_test_seen.jsonl.gz", tinyvoices / "cuts_train.jsonl.gz"
    assert main(["--cuts", str(cuts), "--prompts-from", str(train), "--every", "2", "--out", str(tmp_path),
                 "--tag", "a"]) == 0
    synth = [json.loads(line) for line in (tmp_path / "synth-a.jsonl").read_text().splitlines()]
    manifest = [json.loads(line) for line in (tmp_path / "manifest-a.jsonl").read_text().splitlines()]
    items = sorted(CutSet.from_file(cuts), key=lambda c: c.id)[::2]
    train_cuts = {c.id: c for c in CutSet.from_file(train)}
    assert len(synth) == len(manifest) == len(items) > 0
    for k, (s, m, cut) in enumerate(zip(synth, manifest, items)):
        assert s["seed"] == k and s["text"] == m["text"] == cut.supervisions[0].text and m["id"] == cut.id
        prompt = train_cuts[m["prompt"].rsplit("/", 1)[1][:-4]]
        assert prompt.supervisions[0].speaker == cut.supervisions[0].speaker
        assert s["prompt_text"] == prompt.supervisions[0].text and s["output"] == m["audio"]
        nearest = min(abs(c.duration - 4.0) for c in train_cuts.values()
                      if c.supervisions[0].speaker == cut.supervisions[0].speaker)
        assert abs(prompt.duration - 4.0) == nearest
        assert (tmp_path / "reference" / f"{cut.id}.wav").is_file()
    assert main(["--cuts", str(tmp_path / "none.jsonl.gz"), "--out", str(tmp_path), "--tag", "b"]) == 2
    assert "does not exist" in capsys.readouterr().err
