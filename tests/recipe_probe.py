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
