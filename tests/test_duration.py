"""nn_common.duration, the duration model of aligned flow and MaskGCT models: it learns
symbol-dependent durations and respects its context."""

import torch

from nn_common.duration import DurationPredictor


def toy(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    lens = torch.tensor([12, 9, 15, 7])
    ids = torch.zeros(4, 15, dtype=torch.long)
    for i, n in enumerate(lens.tolist()):
        ids[i, :n] = torch.randint(5, 20, (n,), generator=g)
    durations = (ids % 7 + 1) * (ids > 0)  # each symbol has its own length
    return ids, lens, durations


def test_duration_model_overfits_symbol_dependent_durations():
    torch.manual_seed(0)
    ids, lens, durations = toy()
    model = DurationPredictor(vocab_size=32, dim=32, layers=1, heads=2, drop_context_prob=0.5)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model(ids, lens, durations)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    none = torch.zeros_like(ids, dtype=torch.bool)
    pred = model.predict(ids, lens, durations, none)
    valid = ids > 0
    assert (pred[valid] - durations[valid]).abs().float().mean() < 0.5
    assert (pred[~valid] == 0).all() and (pred[valid] >= 1).all()


def test_known_durations_are_kept_and_speed_scales_the_rest():
    torch.manual_seed(0)
    ids, lens, durations = toy()
    model = DurationPredictor(vocab_size=32, dim=16, layers=1, heads=2).eval()
    known = torch.zeros_like(ids, dtype=torch.bool)
    known[:, :3] = True
    pred = model.predict(ids, lens, durations, known)
    assert torch.equal(pred[:, :3], durations[:, :3])
    torch.nn.init.constant_(model.out[1].bias, 3.0)  # about 19 frames everywhere
    slow, fast = model.predict(ids, lens, durations, known), model.predict(ids, lens, durations, known, speed=2.0)
    assert (fast[:, 3:][ids[:, 3:] > 0].float().mean() < 0.6 * slow[:, 3:][ids[:, 3:] > 0].float().mean())
