"""recipes.cards: the validation-curve table of a model card."""

import pytest

pytest.importorskip("lightning")

from recipes.cards import curve_table  # noqa: E402


def test_curve_table_keeps_validation_rows(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,step,train/loss,val/per,val/text_gap\n0,9,1.5,,\n0,249,,0.9,0.01\n0,259,1.2,,\n"
                   "0,499,,0.5,0.25\n0,749,,0.3,0.5\n")
    table = curve_table(csv, ["val/per", "val/text_gap"])
    assert table.splitlines() == ["| step | val/per | val/text_gap |", "|---|---|---|", "| 250 | 0.9 | 0.01 |",
                                  "| 500 | 0.5 | 0.25 |", "| 750 | 0.3 | 0.5 |"]
    assert curve_table(csv, ["val/per"], every=2).count("\n") == 3  # rows 500 and 750 (the last)


def test_curve_table_joins_a_resumed_run(tmp_path):
    first, resumed = tmp_path / "v0.csv", tmp_path / "v1.csv"
    first.write_text("epoch,step,val/per\n0,249,0.9\n0,499,0.5\n")
    resumed.write_text("epoch,step,val/per\n0,499,0.45\n0,749,0.3\n")  # step 500 validated again after resuming
    table = curve_table([first, resumed], ["val/per"])
    assert table.splitlines()[2:] == ["| 250 | 0.9 |", "| 500 | 0.45 |", "| 750 | 0.3 |"]
