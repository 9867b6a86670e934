"""The phone aligner: monotonic search, the forward-sum loss, the prior, PER, and the
recipe end to end (train a few steps, export, `tts prepare align`, durations in batches)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from aligner import (AlignerConfig, PhoneAligner, beta_binomial_log_prior, edit_distance, forward_sum_loss,
                     monotonic_durations, phone_error_rate, phone_ids, phone_table, with_boundaries)
from text_frontend import PhonemeVocab


def scores_for(durations: list[int], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """``[N, L]`` log-scores that favour the given segmentation, plus noise."""
    rng = np.random.default_rng(seed)
    n = sum(durations)
    lp = np.full((n, len(durations)), -4.0) + noise * rng.standard_normal((n, len(durations)))
    start = 0
    for sym, d in enumerate(durations):
        lp[start: start + d, sym] += 4.0
        start += d
    return lp


def test_monotonic_search_recovers_known_boundaries():
    truth = [12, 3, 7, 1, 20, 5, 9]  # a pause (12), short and one-frame symbols, a long vowel
    assert monotonic_durations(scores_for(truth)).tolist() == truth
    # with noise the boundaries stay within 2 frames
    noisy = monotonic_durations(scores_for(truth, noise=1.5, seed=3))
    assert noisy.sum() == sum(truth) and (noisy >= 1).all()
    assert np.abs(np.cumsum(noisy) - np.cumsum(truth)).max() <= 2


def test_monotonic_search_covers_every_frame_and_refuses_impossible():
    d = monotonic_durations(torch.randn(50, 17))
    assert d.sum() == 50 and (d >= 1).all() and len(d) == 17
    assert monotonic_durations(np.zeros((4, 4))).tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="each symbol needs a frame"):
        monotonic_durations(np.zeros((3, 4)))


def test_beta_binomial_prior_is_a_distribution_along_the_diagonal():
    prior = beta_binomial_log_prior(40, 10)
    assert torch.allclose(prior.exp().sum(-1), torch.ones(40), atol=1e-5)
    peaks = prior.argmax(-1)
    assert peaks[0] == 0 and peaks[-1] == 9 and (peaks[1:] >= peaks[:-1]).all()


def test_forward_sum_loss_is_the_sum_over_monotonic_paths():
    torch.manual_seed(0)
    n, length = 6, 3
    attn = torch.log_softmax(torch.randn(1, n, length), -1)
    # every way to split n frames into `length` consecutive non-empty runs
    total = []
    for cuts in itertools.combinations(range(1, n), length - 1):
        bounds = (0, *cuts, n)
        total.append(sum(float(attn[0, t, s]) for s in range(length) for t in range(bounds[s], bounds[s + 1])))
    expected = -torch.logsumexp(torch.tensor(total), 0) / length
    got = forward_sum_loss(attn, torch.tensor([n]), torch.tensor([length]), blank_logprob=-1e4)
    assert got.item() == pytest.approx(expected.item(), abs=1e-4)


def test_symbols_phones_and_boundaries():
    vocab = PhonemeVocab.default()
    table = phone_table(vocab.symbols)
    ids = vocab.encode(["h", "ə", "ˈ", "l", "oʊ"[0], "ː", " ", ",", "x"])
    assert vocab.decode(phone_ids(ids, table)) == ["h", "ə", "l", "o", "ː", "x"]
    assert with_boundaries([7, 8], vocab.space_id) == [vocab.space_id, 7, 8, vocab.space_id]


def test_phone_error_rate():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], [1, 2]) == 2
    assert phone_error_rate([[1, 2, 3], [4]], [[1, 2, 3], [5, 6]]) == pytest.approx(2 / 5)
    with pytest.raises(ValueError):
        phone_error_rate([[1]], [[]])


def test_model_losses_gradients_and_inference_shapes():
    torch.manual_seed(0)
    cfg = AlignerConfig(vocab_size=500, dim=32, conv_layers=1, layers=1, heads=2, attn_dim=16, text_conv_layers=1)
    model = PhoneAligner(cfg)
    mel, mel_lens = torch.randn(2, 100, 60) - 2, torch.tensor([60, 41])
    ids, id_lens = torch.randint(5, 300, (2, 12)), torch.tensor([12, 9])
    phones, phone_lens = torch.randint(5, 300, (2, 8)), torch.tensor([8, 5])
    out = model(mel, mel_lens, ids, id_lens, phones, phone_lens)
    assert set(out) == {"loss", "ctc", "align"} and all(math.isfinite(v.item()) for v in out.values())
    out["loss"].backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad)
    model.eval()
    durations, scores = model.align(mel, mel_lens, ids, id_lens)
    assert [d.sum().item() for d in durations] == [60, 41] and [len(d) for d in durations] == [12, 9]
    assert all(s <= 0 for s in scores)
    assert len(model.recognize(mel, mel_lens)) == 2


def test_config_is_checked():
    with pytest.raises(ValueError, match="divisible"):
        AlignerConfig(dim=30, heads=4)
    with pytest.raises(ValueError, match="at least one"):
        AlignerConfig(ctc_weight=0, align_weight=0)


# ------------------------------------------------------------------ recipe end to end
pytest.importorskip("lightning")


def tiny_args(corpus, run_dir, max_steps, *extra):
    return ["--config", "tiny", "--data.data_dir", str(corpus), "--data.val_cuts", "cuts_test_seen.jsonl.gz",
            "--trainer.default_root_dir", str(run_dir), "--trainer.logger.init_args.save_dir", str(run_dir),
            "--trainer.max_steps", str(max_steps), "--trainer.val_check_interval", "3",
            "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--trainer.callbacks.init_args.every_n_train_steps", "3", "--model.warmup_steps", "2",
            "--model.aligner.dim", "32", "--model.aligner.layers", "1", "--model.aligner.heads", "2",
            "--model.aligner.conv_layers", "1", "--model.aligner.attn_dim", "16",
            "--model.aligner.text_conv_layers", "1", "--data.max_duration", "12", "--data.num_workers", "0", *extra]


@pytest.fixture(scope="module")
def trained(tinyvoices, tmp_path_factory):
    from recipes.cli import train

    root = tmp_path_factory.mktemp("alignrun")
    run_dir, export = root / "run", root / "tiny-aligner"
    result = train("aligner", tiny_args(tinyvoices, run_dir, 3, "--export_dir", str(export)))
    return run_dir, export, result


def test_train_and_export(trained):
    from tts.checkpoint import read_checkpoint

    run_dir, export, result = trained
    assert result["global_step"] == 3
    info = read_checkpoint(export, family="aligner")
    assert info.vocab_path is not None and "tts prepare align" in (export / "README.md").read_text()
    metrics = (next(run_dir.glob("logs/version_*")) / "metrics.csv").read_text()
    for key in ("train/ctc", "train/align", "val/per", "val/align_score"):
        assert key in metrics


def test_prepare_align_writes_durations_that_batches_return(trained, tinyvoices, tmp_path, capsys):
    from tts.cli import main
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import load_cuts

    _, export, _ = trained
    # An untrained aligner: accept every path (thresholds off) to check the plumbing.
    assert main(["prepare", "align", "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--aligner", str(export),
                 "--out", str(tmp_path), "--min-score=-1e9", "--max-per=1e9"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cuts = load_cuts(tmp_path / "cuts_dev_aligned.jsonl.gz")
    assert summary["aligned"] == len(cuts) == len(load_cuts(tinyvoices / "cuts_dev.jsonl.gz")) > 0
    items = cuts[0].supervisions[0].alignment["phone"]
    assert items[0].symbol == " " and items[-1].symbol == " "
    ds = TTSDataset(features="audio", durations=True)
    batch = ds[cuts.subset(first=3)]
    mel_lens = batch["audio_lens"] // 256 + 1
    for b in range(3):
        d = batch["durations"][b, : batch["phoneme_lens"][b]]
        assert (d >= 1).all() and d.sum() == mel_lens[b]
    assert (batch["durations"].shape == batch["phonemes"].shape)
    # rerun: nothing left to do
    assert main(["prepare", "align", "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--aligner", str(export),
                 "--out", str(tmp_path), "--min-score=-1e9", "--max-per=1e9"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["aligned"] == 0 and again["already_done"] == summary["aligned"]


def test_prepare_align_lists_what_it_skips(trained, tinyvoices, tmp_path, capsys):
    from tts.cli import main

    _, export, _ = trained
    assert main(["prepare", "align", "--cuts", str(tinyvoices / "cuts_dev.jsonl.gz"), "--aligner", str(export),
                 "--out", str(tmp_path), "--min-score", "0.5"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (tmp_path / "cuts_dev_align_skipped.jsonl").read_text().splitlines()]
    assert summary["aligned"] == 0 and summary["skipped"] == len(rows) > 0
    assert all(r["kind"] == "score" and "alignment score" in r["reason"] for r in rows)


def test_batches_without_alignments_say_what_to_run(tinyvoices):
    from tts.data.dataset import TTSDataset
    from tts.data.manifests import DataError, load_cuts

    with pytest.raises(DataError, match="tts prepare align"):
        TTSDataset(features="audio", durations=True)[load_cuts(tinyvoices / "cuts_dev.jsonl.gz").subset(first=1)]


# ------------------------------------------------------------------ external alignments (MFA TextGrids)
def write_textgrid(path, intervals, tier="phones"):
    end = intervals[-1][1]
    rows = "".join(f'            intervals [{k}]:\n                xmin = {a}\n                xmax = {b}\n'
                   f'                text = "{label}"\n' for k, (a, b, label) in enumerate(intervals, 1))
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = {end}\ntiers? <exists>\n'
                    'size = 1\nitem []:\n    item [1]:\n        class = "IntervalTier"\n'
                    f'        name = "{tier}"\n        xmin = 0\n        xmax = {end}\n'
                    f'        intervals: size = {len(intervals)}\n{rows}', encoding="utf-8")


def test_textgrid_phones_become_durations_of_our_symbols(tmp_path):
    from tts.data.textgrid import durations_from_intervals, read_intervals

    grid = tmp_path / "a.TextGrid"
    write_textgrid(grid, [(0, 0.2, ""), (0.2, 0.3, "HH"), (0.3, 0.35, "AH0"), (0.35, 0.45, "L"), (0.45, 0.6, "OW1"),
                          (0.6, 0.8, "sp"), (0.8, 0.9, "W"), (0.9, 1.1, "ER1"), (1.1, 1.2, "L"), (1.2, 1.3, "D"),
                          (1.3, 1.5, "")])
    symbols = [" ", "h", "ə", "l", "ˈ", "o", "ʊ", " ", "w", "ˈ", "ɜ", "ː", "l", "d", ".", " "]
    rate = 93.75
    n = round(1.5 * rate) + 1
    d = durations_from_intervals(symbols, read_intervals(grid), n, rate)
    starts = [sum(d[:i]) for i in range(len(d))]
    assert sum(d) == n and min(d) >= 1
    assert starts[1] == round(0.2 * rate)  # h: the leading silence belongs to the leading boundary
    assert starts[5] >= round(0.45 * rate) and starts[6] == round((0.45 + 0.075) * rate)  # o and ʊ share OW1
    assert starts[7] == round(0.6 * rate) and starts[8] == round(0.8 * rate)  # the pause goes to the word boundary
    assert starts[14] == round(1.3 * rate)  # the final silence to the full stop


def test_textgrid_for_another_text_is_refused(tmp_path):
    from tts.data.textgrid import TextGridError, durations_from_intervals, read_intervals

    grid = tmp_path / "b.TextGrid"
    write_textgrid(grid, [(0, 0.5, "S"), (0.5, 1.0, "IY1")])
    with pytest.raises(TextGridError, match="another text"):
        durations_from_intervals([" ", "h", "ə", "l", "o", "ʊ", " "], read_intervals(grid), 94, 93.75)
    with pytest.raises(TextGridError, match="no interval tier"):
        read_intervals(grid, tier="words")


def test_prepare_align_imports_textgrids(tinyvoices, tmp_path, capsys):
    """TextGrids made from espeak-ng's own phone events (the exact reference) import to onsets within a frame."""
    from tts.cli import main
    from tts.data.manifests import load_cuts
    from tts.data.tinyvoices.reference import split_references

    refs, _ = split_references(tinyvoices, "dev")
    refs = refs[:3]
    grids = tmp_path / "grids"
    grids.mkdir()
    for ref in refs:
        phones = [(p.start, p.end, p.event) for p in ref.phones if p.onset and p.start is not None and p.end > p.start]
        intervals = [(0.0, phones[0][0], "")] + phones + [(phones[-1][1], phones[-1][1] + 0.15, "")]
        write_textgrid(grids / f"{ref.cut_id}.TextGrid", intervals)
    cuts = load_cuts(tinyvoices / "cuts_dev.jsonl.gz").filter(lambda c: c.id in {r.cut_id for r in refs}).to_eager()
    cuts.to_file(tmp_path / "cuts_three.jsonl.gz")
    assert main(["prepare", "align", "--cuts", str(tmp_path / "cuts_three.jsonl.gz"), "--textgrids", str(grids),
                 "--out", str(tmp_path)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["aligned"] == 3, summary
    for cut in load_cuts(tmp_path / "cuts_three_aligned.jsonl.gz"):
        items = cut.supervisions[0].alignment["phone"]
        ref = next(r for r in refs if r.cut_id == cut.id)
        errors = [abs(items[i + 1].start - t) for i, t in ref.onsets()]
        assert sorted(errors)[len(errors) // 2] < 0.011  # median within one frame


def test_fold_stress_gives_the_marks_frames_to_the_vowel():
    from aligner import fold_stress

    symbols = [" ", "h", "ˈ", "ɛ", "l", " "]
    assert fold_stress(symbols, [3, 4, 5, 6, 2, 1]) == [3, 3, 1, 11, 2, 1]  # ɛ starts where ˈ started
    assert fold_stress(symbols, [3, 1, 5, 6, 2, 1]) == [3, 1, 1, 10, 2, 1]  # no frame to spare before
    assert sum(fold_stress(symbols, [3, 4, 5, 6, 2, 1])) == 21


def test_fine_tuning_starts_from_the_given_weights(trained, tinyvoices, tmp_path):
    """model.init_from (an export, then a run's .ckpt): how the shipped aligner is carried to
    a new corpus (ManyVoices) without training from random weights."""
    import recipe_probe

    _, export, result = trained
    recipe_probe.assert_fine_tuning_starts_from(
        "aligner", lambda run_dir, *extra: tiny_args(tinyvoices, run_dir, 1, *extra), export, result["last"], tmp_path)


def test_augmentation_options_are_checked_and_reach_the_training_batch():
    """model.band_limit_prob / model.mel_warp (ManyVoices' 8 kHz real voices): a training batch
    is band-limited as asked, a validation batch never is, and a wrong value is one clear error."""
    from recipes.aligner.module import AlignerModule
    from recipes.common import RecipeError

    small = {"dim": 32, "layers": 1, "heads": 2, "conv_layers": 1, "attn_dim": 16, "text_conv_layers": 1}
    for bad in ({"band_limit_prob": 1.5}, {"mel_warp": -0.1}, {"band_limit_rates": (48000,)}):
        with pytest.raises(RecipeError, match="model\\.(band_limit|mel_warp)"):
            AlignerModule(aligner=small, **bad)
    module = AlignerModule(aligner=small, band_limit_prob=1.0, band_limit_rates=(8000,))
    torch.manual_seed(0)
    batch = {"audio": torch.randn(2, 24000) * 0.1, "audio_lens": torch.tensor([24000, 24000]),
             "phonemes": torch.tensor([[5, 6, 7], [5, 6, 0]]), "phoneme_lens": torch.tensor([3, 2])}
    top = slice(72, None)  # mel bins from 4.9 kHz up (recipes.augment.mel_centers)
    plain = module.prepare(batch)["mel"][:, top].mean()
    limited = module.prepare(batch, augment=True)["mel"][:, top].mean()
    assert float(plain - limited) > 3.0, (plain, limited)  # natural-log mel: the band is gone, not dimmed
