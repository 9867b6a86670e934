"""recipes/align_noise: noisy alignments keep their frames, their ends and their order."""

import pytest
import torch

from recipes.align_noise import drop_symbols, perturb_alignment, shift_boundaries


def test_zero_noise_is_the_identity():
    ids, d = torch.tensor([1, 5, 6, 2, 7, 1]), torch.tensor([3, 4, 0, 2, 5, 3])
    out_ids, out_d = perturb_alignment(ids, d)
    assert torch.equal(out_ids, ids) and torch.equal(out_d, d)


def test_shifted_boundaries_keep_the_sum_and_a_frame_for_every_symbol_that_had_one():
    g = torch.Generator().manual_seed(0)
    d = torch.tensor([2, 1, 6, 0, 3, 1, 9, 4])
    moved = 0
    for _ in range(200):
        out = shift_boundaries(d, 3, g)
        assert int(out.sum()) == int(d.sum())
        assert bool((out[d > 0] >= 1).all()) and bool((out[d == 0] == 0).all())
        moved += int((out != d).any())
    assert moved > 150  # it does move them


def test_shifts_stay_within_the_bound_where_there_is_room():
    g = torch.Generator().manual_seed(1)
    d = torch.full((20,), 10)
    for _ in range(50):
        ends = torch.cumsum(shift_boundaries(d, 2, g), 0)
        assert int((ends - torch.cumsum(d, 0)).abs().max()) <= 2


def test_dropped_symbols_give_their_frames_to_the_one_before():
    ids, d = torch.tensor([1, 5, 0, 6, 7, 1]), torch.tensor([3, 4, 2, 2, 5, 3])
    out_ids, out_d = drop_symbols(ids, d, 1.0, keep={0})
    # every inner symbol but the kept boundary (0) is dropped; the ends never are
    assert out_ids.tolist() == [1, 0, 1]
    assert out_d.tolist() == [7, 9, 3]
    assert int(out_d.sum()) == int(d.sum())


def test_drop_rate_is_about_the_probability():
    g = torch.Generator().manual_seed(2)
    ids, d = torch.arange(1002), torch.ones(1002, dtype=torch.long)
    out_ids, _ = drop_symbols(ids, d, 0.2, generator=g)
    assert 150 < 1002 - out_ids.numel() < 250


@pytest.mark.parametrize("call", [lambda: shift_boundaries(torch.tensor([1, 2]), -1),
                                  lambda: drop_symbols(torch.tensor([1, 2]), torch.tensor([1, 2]), 1.5),
                                  lambda: drop_symbols(torch.tensor([1, 2]), torch.tensor([1]), 0.1)])
def test_bad_arguments_are_refused(call):
    with pytest.raises(ValueError):
        call()
