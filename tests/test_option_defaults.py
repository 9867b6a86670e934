"""A model's own option defaults (model.yaml ``options``): stored, checked, used where no
value is given, overridden by a given one, and shown by `tts models` and the web page."""

from __future__ import annotations

import pytest
import torch
import yaml

from tts.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from tts.model_yaml import set_option_defaults
from tts.options import OptionError, family_options, with_defaults


def _folder(tmp_path, family="maskgct", name="m"):
    return save_checkpoint(tmp_path / name, family, {"dim": 8}, {"w": torch.zeros(2)})


def test_defaults_are_stored_checked_and_read_back(tmp_path):
    path = _folder(tmp_path)
    assert read_checkpoint(path).options == {}
    stored = set_option_defaults(path, {"steps": "10", "cfg": 0, "s2a_steps": 1})
    assert stored == {"steps": 10, "cfg": 0.0, "s2a_steps": 1}
    doc = yaml.safe_load((path / "model.yaml").read_text())
    assert doc["options"] == stored and doc["family"] == "maskgct" and "sha256" in doc  # the rest is kept
    info = read_checkpoint(path)  # the checksum still holds: only model.yaml changed
    assert info.options == stored and "options" not in info.meta
    assert set_option_defaults(path, {}) == {} and read_checkpoint(path).options == {}


@pytest.mark.parametrize("options, message", [
    ({"steps": 0}, "--steps must be an integer in [1, 1000], got 0."),
    ({"nfe": 8}, "does not take --nfe"),
])
def test_a_bad_default_is_refused_when_set(tmp_path, options, message):
    path = _folder(tmp_path)
    with pytest.raises(OptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        set_option_defaults(path, options)
    assert "options" not in yaml.safe_load((path / "model.yaml").read_text())  # nothing written


@pytest.mark.parametrize("options, message", [
    ({"steps": 0}, "sets a default option the model cannot use: --steps must be an integer"),
    ({"nfe": 8}, "does not take --nfe"),
    ([10], "'options' must map option names to values"),
])
def test_a_bad_default_in_model_yaml_is_a_one_line_error(tmp_path, options, message):
    path = _folder(tmp_path)
    doc = yaml.safe_load((path / "model.yaml").read_text())
    doc["options"] = options
    (path / "model.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(CheckpointError, match=message) as err:
        read_checkpoint(path)
    assert "\n" not in str(err.value) and "model.yaml" in str(err.value)


def test_a_family_without_options_takes_no_defaults(tmp_path):
    with pytest.raises(CheckpointError, match="has no synthesis options"):
        set_option_defaults(_folder(tmp_path, family="melrvq"), {"steps": 10})


def test_given_options_override_the_models_defaults():
    own = {"steps": 10, "cfg": 0.0}
    assert with_defaults("maskgct", {}, own) == own
    assert with_defaults("maskgct", {"cfg": "1.5", "steps": None}, own) == {"steps": 10, "cfg": 1.5}
    assert with_defaults("maskgct", {"top_k": 5}, None) == {"top_k": 5}
    with pytest.raises(OptionError, match="--steps must be"):
        with_defaults("maskgct", {"steps": "0"}, own)


def test_an_options_default_is_the_models_own_else_the_familys():
    steps, duration = family_options("maskgct")["steps"], family_options("flow")["duration"]
    assert steps.default_for({"steps": 10}) == 10
    assert steps.default_for({"cfg": 0.0}) == steps.default == steps.default_for(None)
    assert duration.default_for({}) is None  # decided per input


def test_runs_use_the_models_defaults(tmp_path):
    from tts.prechecks import check_model
    from tts.synthesizer import Synthesizer

    path = _folder(tmp_path)
    set_option_defaults(path, {"steps": 10, "s2a_steps": 1})
    assert check_model(str(path), {"cfg": "0"}) == ("maskgct", {"steps": 10, "s2a_steps": 1, "cfg": 0.0})
    synth = Synthesizer(None, None, read_checkpoint(path), torch.device("cpu"))
    assert synth.check_options({"steps": 4}) == {"steps": 4, "s2a_steps": 1}
    defaults = synth.option_defaults
    assert defaults["steps"] == 10 and defaults["cfg"] == 2.5 and defaults["duration"] is None


def test_export_writes_the_defaults_and_the_card_names_them(tmp_path, capsys):
    """`tts export --option`: refused before loading when wrong; stored and carded when right."""
    from tts.cli import main

    assert main(["export", "maskgct", str(tmp_path / "none.ckpt"), "-o", str(tmp_path / "x"),
                 "--option", "steps"]) == 2
    assert "--option takes NAME=VALUE" in capsys.readouterr().err
    assert main(["export", "maskgct", str(tmp_path / "none.ckpt"), "-o", str(tmp_path / "x"),
                 "--option", "nfe=8"]) == 2
    assert "does not take --nfe" in capsys.readouterr().err
    assert main(["export", "vocos", str(tmp_path / "none.ckpt"), "-o", str(tmp_path / "x"),
                 "--option", "steps=8"]) == 2
    assert "--option does not apply to vocos" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_tts_models_lists_the_defaults(tmp_path, capsys):
    from tts.cli import main
    from tts.catalog import find_models

    path = _folder(tmp_path / "dir")
    set_option_defaults(path, {"steps": 10, "cfg": 0})
    row = next(r for r in find_models([str(tmp_path / "dir")]) if r["name"] == "m")
    assert row["options"] == "--steps 10 --cfg 0"
    assert main(["models", str(path)]) == 0
    assert "default options of m: --steps 10 --cfg 0" in capsys.readouterr().out


def test_web_widgets_show_and_compare_with_the_models_defaults(tmp_path):
    from tts.web.models import web_models
    from tts.web.service import given_options

    path = _folder(tmp_path)
    set_option_defaults(path, {"steps": 10, "cfg": 0})
    model = next(m for m in web_models(extra=(str(path),)) if m.path == path)
    assert model.options == {"steps": 10, "cfg": 0.0}
    shown = {"steps": "10", "cfg": "0", "top_k": "20", "duration": ""}
    assert given_options("maskgct", shown, model.options) == {}  # untouched: the model's defaults apply
    # the family default typed into a model whose own default differs is a choice, not "untouched"
    assert given_options("maskgct", {**shown, "steps": "25"}, model.options) == {"steps": "25"}
    assert given_options("maskgct", {**shown, "steps": "25"}) == {"cfg": "0"}  # a model without its own


def test_the_page_shows_the_picked_models_defaults():
    from tts.options import FAMILY_OPTIONS
    from tts.web.app import import_gradio
    from tts.web.widgets import option_widgets, shown_values

    gr = import_gradio()
    with gr.Blocks():
        groups = option_widgets(gr, ["flow", "maskgct"], "maskgct", "t", {"steps": 10})
    values = {(g.family, opt.name): w.value for g in groups for opt, w in g.widgets}
    assert values[("maskgct", "steps")] == "10" and values[("maskgct", "cfg")] == "2.5"
    assert values[("flow", "nfe")] == "16"
    shown = shown_values(groups, "maskgct", {"cfg": 0.0})
    names = [(g.family, opt.name) for g in groups for opt, _ in g.widgets]
    by_name = dict(zip(names, shown))
    assert by_name[("maskgct", "steps")] == "25" and by_name[("maskgct", "cfg")] == "0"
    assert by_name[("flow", "nfe")] is None  # another family's widgets are left as they are
    assert len(shown) == sum(len(FAMILY_OPTIONS[f]) for f in ("flow", "maskgct"))


def test_an_option_of_several_values_round_trips(tmp_path):
    """``--s2a-steps 8,2,1``: one count per codebook, as the family's own default is."""
    from tts.catalog import find_models
    from tts.options import check_options

    assert check_options("maskgct", {"s2a_steps": "8,2,1"}) == {"s2a_steps": (8, 2, 1)}
    assert check_options("maskgct", {"s2a_steps": " 4 "}) == {"s2a_steps": 4}
    for bad in ("8,0", "8,,1", ",", "1.5,2"):
        with pytest.raises(OptionError, match=f"--s2a-steps must be an integer in \\[1, 1000\\], or several "
                                              f"separated by commas, got {bad}."):
            check_options("maskgct", {"s2a_steps": bad})
    path = _folder(tmp_path / "dir")
    set_option_defaults(path, {"s2a_steps": "8,2,1"})
    assert yaml.safe_load((path / "model.yaml").read_text())["options"] == {"s2a_steps": [8, 2, 1]}
    assert read_checkpoint(path).options == {"s2a_steps": (8, 2, 1)}
    assert next(r for r in find_models([str(tmp_path / "dir")]) if r["origin"] == "local")["options"] == "--s2a-steps 8,2,1"
