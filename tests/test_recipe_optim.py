"""recipes.optim: weight decay only on weight matrices; the warm-up + cosine schedule."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

pytest.importorskip("lightning")


def _group_ids(groups):
    decay, no_decay = groups
    return {id(p) for p in decay["params"]}, {id(p) for p in no_decay["params"]}


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 4, 3)
        self.norm = nn.LayerNorm(4)
        self.proj = nn.Linear(4, 4)
        self.gate = nn.Parameter(torch.ones(1))  # a scalar gate, like VALL-E's alpha
        self.grn_gamma = nn.Parameter(torch.zeros(1, 1, 4))  # 3-D but not a weight matrix
        self.frozen = nn.Linear(4, 4).requires_grad_(False)
        self.tied = self.proj  # the same module twice: its parameters once


def test_decay_only_on_linear_and_conv_weights():
    from recipes.optim import param_groups

    model = Toy()
    groups = param_groups(model, 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    decay, no_decay = _group_ids(groups)
    assert decay == {id(model.conv.weight), id(model.proj.weight)}
    assert no_decay == {id(p) for p in (model.embed.weight, model.conv.bias, model.norm.weight, model.norm.bias,
                                         model.proj.bias, model.gate, model.grn_gamma)}


@pytest.mark.parametrize("family", ["flow", "valle", "maskgct", "melrvq", "aligner"])
def test_every_parameter_of_the_models_in_one_group(family):
    from recipes.optim import param_groups

    if family == "flow":
        from flow import FlowConfig, FlowTTS
        model = FlowTTS(FlowConfig(dim=32, depth=1, heads=2, text_dim=16, text_conv_layers=1))
    elif family == "valle":
        from codec_lm.valle import VallE, VallEConfig
        model = VallE(VallEConfig(n_codebooks=2, codebook_size=16, dim=32, heads=2, ar_layers=1, nar_layers=1))
    elif family == "maskgct":
        from codec_lm.maskgct import MaskGCT, MaskGCTConfig
        model = MaskGCT(MaskGCTConfig(n_codebooks=2, codebook_size=16, dim=32, heads=2, t2s_layers=1, s2a_layers=1))
    elif family == "melrvq":
        from codec_lm.codecs import MelRVQ, MelRVQConfig
        model = MelRVQ(MelRVQConfig(n_codebooks=2, codebook_size=16, dim=32, n_layers=1, kmeans_init=False))
    else:
        from aligner import AlignerConfig, PhoneAligner
        model = PhoneAligner(AlignerConfig(vocab_size=500, dim=32, conv_layers=1, layers=1, heads=2, attn_dim=16,
                                           text_conv_layers=1))
    decay, no_decay = _group_ids(param_groups(model, 0.01))
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert decay | no_decay == trainable and not decay & no_decay
    assert decay, "no weight matrix is decayed"
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, (nn.Embedding, nn.LayerNorm)) or name != "weight" or p.dim() < 2:
                assert id(p) not in decay, f"{module_name}.{name} ({type(module).__name__}) is decayed"
            elif isinstance(module, (nn.Linear, nn.Conv1d)):
                assert id(p) in decay, f"{module_name}.{name} is not decayed"


def _factor(step, warmup, total):
    """The schedule as written down: (step + 1) / warmup, then a half cosine to 0 at total."""
    if step < warmup:
        return (step + 1) / warmup
    if total <= 0:
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


@pytest.mark.parametrize("warmup,total", [(10, 60), (0, 40), (1, 20), (5, 0), (0, 0)])
def test_warmup_cosine_follows_its_formula(warmup, total):
    from recipes.optim import warmup_cosine

    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=2.0)
    schedule = warmup_cosine(opt, warmup, total)
    for step in range(max(total, 30)):
        if total <= 0 or step <= total:
            assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * _factor(step, warmup, total), abs=1e-9), step
        opt.step()
        schedule.step()


def test_mixin_builds_adamw_with_two_groups():
    from lightning.fabric.utilities.data import AttributeDict

    from recipes.optim import AdamWCosineMixin

    module = SimpleNamespace(model=Toy(), trainer=SimpleNamespace(max_steps=100),
                             hparams=AttributeDict(learning_rate=1e-3, weight_decay=0.05, warmup_steps=10,
                                                   betas=(0.9, 0.95), grad_clip=1.0))
    module.optimized = lambda: AdamWCosineMixin.optimized(module)
    opt = AdamWCosineMixin.configure_optimizers(module)["optimizer"]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
    assert sum(len(g["params"]) for g in opt.param_groups) == sum(p.requires_grad for p in module.model.parameters())
    # A recipe's training-only head joins through optimized().
    head = torch.nn.Linear(3, 2)
    module.optimized = lambda: torch.nn.ModuleList([module.model, head])
    opt = AdamWCosineMixin.configure_optimizers(module)["optimizer"]
    assert {id(p) for g in opt.param_groups for p in g["params"]} >= {id(head.weight), id(head.bias)}
    assert opt.param_groups[0]["betas"] == (0.9, 0.95)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 / 10)  # the first warm-up step
