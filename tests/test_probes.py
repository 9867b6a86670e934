"""recipes.probes: the text-gap probe must be ~0 for a model that ignores its text and
clearly > 0 for one whose loss depends on it (so the probe can fail), and the rolled
batch keeps the timing of aligned batches."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("lightning")

from recipes.probes import roll_text, text_gap  # noqa: E402


class Toy:
    """A 'model' whose loss predicts each item's features from its phonemes (or from nothing)."""

    text_keys = ("phonemes", "phoneme_lens")

    def __init__(self, reads_text: bool) -> None:
        self.reads_text = reads_text

    def probe_loss(self, batch: dict) -> torch.Tensor:
        noise = 0.01 * torch.randn(batch["feature"].shape)  # the same draw for both passes (seeded)
        if self.reads_text:
            mask = torch.arange(batch["phonemes"].shape[1])[None] < batch["phoneme_lens"][:, None]
            guess = (batch["phonemes"] * mask).sum(1).float() / batch["phoneme_lens"]
        else:
            guess = torch.full_like(batch["feature"], float(batch["feature"].mean()))
        return ((guess - batch["feature"] + noise) ** 2).mean()


def toy_batch(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(3, 9, (6,), generator=g)
    phonemes = torch.zeros(6, 8, dtype=torch.long)
    for i, n in enumerate(lens.tolist()):
        phonemes[i, :n] = torch.randint(5, 60, (n,), generator=g)
    feature = (phonemes.sum(1).float() / lens)  # the text fully determines the target
    return {"phonemes": phonemes, "phoneme_lens": lens, "feature": feature}


def test_text_gap_is_zero_for_a_text_blind_model_and_positive_for_a_reader():
    batches = [toy_batch(0), toy_batch(1)]
    blind, reader = text_gap(Toy(False), batches, seed=0), text_gap(Toy(True), batches, seed=0)
    assert abs(blind) < 1e-6
    assert reader > 10.0  # squared errors of mean phoneme ids in the tens


def test_roll_text_moves_only_the_text():
    batch = toy_batch(0)
    rolled = roll_text(batch, ("phonemes", "phoneme_lens"))
    assert torch.equal(rolled["phonemes"][0], batch["phonemes"][1]) and rolled["feature"] is batch["feature"]
    assert torch.equal(rolled["phoneme_lens"], torch.roll(batch["phoneme_lens"], -1))


def test_roll_text_keeps_the_timing_of_aligned_batches():
    batch = {"phonemes": torch.tensor([[4, 7, 8, 4], [4, 9, 4, 0]]), "phoneme_lens": torch.tensor([4, 3]),
             "durations": torch.tensor([[2, 3, 1, 2], [5, 1, 2, 0]])}
    rolled = roll_text(batch, ("phonemes", "phoneme_lens"))
    assert rolled["phonemes"].tolist() == [[4, 9, 4, 4], [4, 7, 8, 0]]
    assert rolled["phoneme_lens"] is batch["phoneme_lens"] and rolled["durations"] is batch["durations"]


def test_per_of_syntheses_is_measured_with_the_aligner(random_aligner):
    from recipes.probes import TextProbe
    from text_frontend import Frontend, PhonemeVocab
    from tts.audio import load
    from tts.mel import MelFeatures

    from conftest import DEMO_PROMPT, REPO

    vocab = PhonemeVocab.default()
    text = (REPO / "assets" / "demo_prompt.txt").read_text().strip()
    ids = list(Frontend("en-us", vocab=vocab).encode(text).ids)
    mel = MelFeatures()(load(DEMO_PROMPT, 24000).wav[None])[0]

    class Speaker:
        device = torch.device("cpu")

        def __init__(self):
            self.vocab = vocab

        def probe_synthesize(self, batch, n, seed):
            return [mel, mel[:, :200]], [ids, ids]

    per = TextProbe(aligner=str(random_aligner)).phone_error_rate(Speaker(), {})
    assert per is not None and per > 0.5  # a random recognizer hears nothing right
    # no aligner: a warning, and no PER
    with pytest.warns(UserWarning, match="no PER"):
        assert TextProbe(aligner=str(random_aligner.parent / "missing")).phone_error_rate(Speaker(), {}) is None


def test_probe_batches_hold_two_items_or_more():
    """Validation batches of one item are passed over: rolling their text changes nothing."""
    from types import SimpleNamespace

    from recipes.probes import TextProbe

    full = toy_batch(0)
    single = {k: v[:1] for k, v in full.items()}
    probe = TextProbe(batches=2)
    trainer = SimpleNamespace(val_dataloaders=[[single, full, single, toy_batch(1), toy_batch(2)]])  # one loader
    picked = probe._fixed_batches(trainer, Toy(True))
    assert [len(b["phoneme_lens"]) for b in picked] == [6, 6] and picked[0] is full
    assert text_gap(Toy(True), [single], seed=0) == 0.0  # why: a batch of one cannot be rolled
