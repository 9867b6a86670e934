"""A Lightning callback that records the trainer state when training starts (after any
checkpoint was restored), for the resume tests. Named in CLI args as
``--trainer.callbacks+=recipe_probe.StateProbe``."""

from __future__ import annotations

import copy

from lightning.pytorch.callbacks import Callback

RECORDS: list[dict] = []


class StateProbe(Callback):
    def on_train_start(self, trainer, pl_module) -> None:
        RECORDS.append({
            "global_step": trainer.global_step,
            "optimizers": [copy.deepcopy(o.state_dict()) for o in trainer.optimizers],
            "schedulers": [copy.deepcopy(c.scheduler.state_dict()) for c in trainer.lr_scheduler_configs],
            "state_dict": {k: v.detach().clone() for k, v in pl_module.state_dict().items()},
        })


def assert_same_state(record: dict, ckpt: dict) -> None:
    """The state at train start equals the checkpoint's: step, weights, optimizer and scheduler states.

    With weight averaging (EMA) the checkpoint's ``state_dict`` holds the average and
    ``current_model_state`` the weights that training resumes from.
    """
    import torch

    assert record["global_step"] == ckpt["global_step"]
    for k, v in ckpt.get("current_model_state", ckpt["state_dict"]).items():
        assert torch.equal(record["state_dict"][k], v), k
    assert len(record["optimizers"]) == len(ckpt["optimizer_states"])
    for got, saved in zip(record["optimizers"], ckpt["optimizer_states"]):
        assert got["state"].keys() == saved["state"].keys() and got["state"], "optimizer state was not restored"
        for idx, slots in saved["state"].items():
            for name, value in slots.items():
                assert torch.equal(torch.as_tensor(got["state"][idx][name]), torch.as_tensor(value)), (idx, name)
    for got, saved in zip(record["schedulers"], ckpt["lr_schedulers"]):
        assert got["last_epoch"] == saved["last_epoch"]


def kill_and_resume(recipe: str, args_for, run_dir, cwd, min_step: int = 4, timeout: float = 300.0) -> None:
    """Start ``tts train RECIPE`` in a subprocess, SIGKILL it once ``last.ckpt`` holds at
    least ``min_step`` steps, resume in-process with ``--ckpt_path last`` for two more
    steps, and check that training restarts from exactly the checkpoint's state.

    ``args_for(max_steps, *extra)`` returns the recipe's CLI arguments writing to ``run_dir``.
    """
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import torch

    from recipes.cli import train

    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen([sys.executable, "-m", "tts.cli", "train", recipe, *args_for(10_000)], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = Path(run_dir) / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if last.is_file() and torch.load(last, map_location="cpu", weights_only=True)["global_step"] >= min_step:
                    break
            except (RuntimeError, EOFError):  # caught between two writes: look again
                pass
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ckpt = torch.load(last, map_location="cpu", weights_only=True)
    step = ckpt["global_step"]
    assert step >= min_step, f"no checkpoint with {min_step} steps before the kill (last: {step})"
    RECORDS.clear()
    result = train(recipe, args_for(step + 2, "--ckpt_path", "last", "--trainer.callbacks+=recipe_probe.StateProbe"))
    assert_same_state(RECORDS[0], ckpt)
    assert result["global_step"] == step + 2


def train_ddp_on_two_cpu_processes(recipe: str, args_for, run_dir, cwd, steps: int = 4) -> None:
    """Run ``tts train RECIPE`` with ``strategy: ddp`` on 2 CPU processes (gloo) for ``steps``
    steps and check that both ranks joined and the last checkpoint holds the steps."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import torch

    repo = Path(__file__).resolve().parents[1]
    args = args_for(steps, "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.accelerator", "cpu")
    env = {**os.environ, "PYTHONPATH": str(repo)}
    res = subprocess.run([sys.executable, "-m", "tts.cli", "train", recipe, *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"global step {steps}" in res.stdout
    assert "distributed_backend=gloo" in res.stderr and "All distributed processes registered" in res.stderr
    ckpt = torch.load(Path(run_dir) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == steps


def assert_missing_codec_is_clear(export, tmp_path, label: str) -> None:
    """A copy of an exported codec-model folder whose model.yaml names no codec fails to
    load with a CheckpointError that says so (``label``: "VALL-E", "MaskGCT")."""
    import shutil

    import pytest
    import yaml

    from tts import Synthesizer
    from tts.checkpoint import CheckpointError

    copy = tmp_path / "no-codec"
    shutil.copytree(export, copy)
    meta = yaml.safe_load((copy / "model.yaml").read_text())
    meta.pop("dependencies")
    (copy / "model.yaml").write_text(yaml.safe_dump(meta))
    with pytest.raises(CheckpointError, match=f"{label} checkpoint .* names no codec"):
        Synthesizer.from_pretrained(copy, device="cpu")


def assert_starts_from(record: dict, weights: dict) -> None:
    """The module's model held exactly ``weights`` (a model state dict) when training started."""
    import torch

    state = {k[len("model."):]: v for k, v in record["state_dict"].items() if k.startswith("model.")}
    assert set(state) == set(weights)
    for k, v in weights.items():
        assert torch.equal(state[k], v.to(state[k].dtype)), k


def assert_fine_tuning_starts_from(recipe: str, make_args, export, last_ckpt, tmp_path) -> None:
    """``model.init_from`` an exported folder, then a run's ``.ckpt``: each run's model holds
    that source's weights when training starts. ``make_args(run_dir, *extra)`` gives the
    recipe's CLI arguments for a one-step run."""
    import torch

    from recipes.cli import train
    from tts.checkpoint import load_state_dict, read_checkpoint

    ckpt = torch.load(last_ckpt, map_location="cpu", weights_only=True)  # its own weights: other tests may train on
    from_ckpt = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    for i, (source, weights) in enumerate(((export, load_state_dict(read_checkpoint(export))),
                                           (last_ckpt, from_ckpt))):
        RECORDS.clear()
        train(recipe, make_args(tmp_path / f"ft{i}", "--model.init_from", str(source),
                                "--trainer.callbacks+=recipe_probe.StateProbe"))
        assert_starts_from(RECORDS[0], weights)
