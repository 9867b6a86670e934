"""Synthesis speed of our flow model side by side with F5-TTS, at the same dims (random weights, CPU).

F5-TTS is not a dependency of this toolkit: run this with a Python where ``f5_tts`` is
installed, e.g. a separate venv (our ``flow`` package needs only torch; it is imported
from this checkout):

    python3 -m venv /tmp/f5venv
    /tmp/f5venv/bin/pip install torch==2.11.0 torchaudio==2.11.0 f5-tts==1.1.22
    OMP_NUM_THREADS=1 /tmp/f5venv/bin/python experiments/bench_f5.py

What is timed, on both sides: one call that turns a 3 s prompt (its mel frames) and a
phoneme sequence into 10 s of new mel frames (vocoder excluded on both sides), batch 1,
NFE 16 with Euler, classifier-free guidance 2 with the conditional and unconditional
predictions batched into one call per step (our ``flow.generate.sample``; F5's
``DiT(cfg_infer=True)``), sway sampling -1, the text encoder run once per solve (ours;
F5 caches it). Ours is ``flow.synthesize`` (in aligned mode it includes the duration
model's prediction); F5's is ``CFM.sample(cond, text, duration, steps=16, cfg_strength=2,
sway_sampling_coef=-1)`` (its default EPSS time grid for 16 steps: the grid changes the
times, not the work). A check run counts the velocity calls and their batch on each side
before any timing.

Both models get the same dims (width, depth, heads of 64 channels, MLP ratio, text
width, text ConvNeXt blocks, 100 mel bins, a 500-symbol vocabulary) and all their
parameters drawn from N(0, 0.02^2) (each library's own init zeroes the adaLN gates and
the output layer, which makes every block the identity). Rounds alternate the two sides,
the order flipping every round; the medians of wall-clock and of CPU time are reported,
with their ratios (ours / F5). On a machine shared with other jobs, CPU time is the
steadier figure: it leaves out the time the process waited for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

try:
    from f5_tts.model import CFM, DiT
except ImportError:
    sys.exit("f5_tts is not installed in this Python; install it in a separate venv: python3 -m venv /tmp/f5venv && "
             "/tmp/f5venv/bin/pip install torch==2.11.0 torchaudio==2.11.0 f5-tts==1.1.22, then run this with "
             "/tmp/f5venv/bin/python.")

from flow import FlowConfig, FlowSampling, FlowTTS, synthesize  # noqa: E402
from nn_common.duration import fit_durations  # noqa: E402

MEL, VOCAB = 100, 500
DIM_KEYS = ("dim", "depth", "heads", "ff_mult", "text_dim", "text_conv_layers")


def recipe_flow(name: str) -> dict:
    """The ``model.flow`` section of ``recipes/flow/configs/NAME.yaml``."""
    import yaml

    return yaml.safe_load((REPO / "recipes" / "flow" / "configs" / f"{name}.yaml").read_text())["model"]["flow"]


def cases() -> dict[str, dict]:
    """Our FlowConfig keyword arguments per case; F5 gets the same DIM_KEYS."""
    tiny_filler, tiny_aligned = recipe_flow("tiny_filler"), recipe_flow("tiny")
    large = {"dim": 512, "depth": 12, "heads": 8, "ff_mult": 2, "text_dim": 512, "text_conv_layers": 4,
             "conv_pos_kernel": 31}
    return {"tiny-filler": tiny_filler, "tiny-aligned": tiny_aligned,
            "512x12-filler": {**large, "text_conditioning": "filler"},
            "512x12-aligned": {**large, "text_conditioning": "aligned", "duration_dim": 128, "duration_layers": 3}}


def randomize(model: torch.nn.Module, seed: int) -> None:
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)


def build(case: dict):
    fields = set(FlowConfig.__dataclass_fields__)
    cfg = FlowConfig(**{k: v for k, v in case.items() if k in fields}, mel_dim=MEL, vocab_size=VOCAB)
    ours = FlowTTS(cfg).eval()
    randomize(ours, 0)
    dit = DiT(dim=cfg.dim, depth=cfg.depth, heads=cfg.heads, dim_head=cfg.dim // cfg.heads, ff_mult=cfg.ff_mult,
              mel_dim=MEL, text_num_embeds=VOCAB, text_dim=cfg.text_dim, conv_layers=cfg.text_conv_layers,
              dropout=0.0)
    f5 = CFM(transformer=dit, mel_spec_kwargs={"n_mel_channels": MEL}).eval()
    randomize(f5, 0)
    return ours, f5


def runners(ours: FlowTTS, f5, seconds: float, prompt_seconds: float, nfe: int, cfg_scale: float, sway: float):
    rate = ours.config.frame_rate
    n_prompt, n_gen = round(prompt_seconds * rate), round(seconds * rate)
    gen = torch.Generator().manual_seed(1)
    prompt = torch.randn(MEL, n_prompt, generator=gen)
    prompt_ids = torch.randint(5, 100, (40,), generator=gen)
    target_ids = torch.randint(5, 100, (130,), generator=gen)
    prompt_durations = fit_durations(torch.ones(len(prompt_ids), dtype=torch.long), n_prompt)
    options = FlowSampling(nfe=nfe, solver="euler", cfg=cfg_scale, sway=sway, seed=0)
    space = 4

    def run_ours() -> torch.Tensor:
        return synthesize(ours, [prompt], [prompt_ids], [target_ids], options, frames=[n_gen], space_id=space,
                          prompt_durations=[prompt_durations] if ours.aligned else None)[0]

    cond = prompt.T[None].contiguous()
    text = torch.cat([prompt_ids, torch.tensor([space]), target_ids])[None]

    def run_f5() -> torch.Tensor:
        out, _ = f5.sample(cond, text, n_prompt + n_gen, steps=nfe, cfg_strength=cfg_scale, sway_sampling_coef=sway,
                           seed=0)
        return out[0, n_prompt:].T

    return run_ours, run_f5


def count_calls(run, module: torch.nn.Module) -> list[int]:
    """Batch sizes of the calls of ``module`` (the output layer: once per velocity evaluation) during ``run()``."""
    seen: list[int] = []
    handle = module.register_forward_hook(lambda _m, args, _out: seen.append(args[0].shape[0]))
    try:
        with torch.inference_mode():
            run()
    finally:
        handle.remove()
    return seen


def timed(run) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of ``run()``."""
    with torch.inference_mode():
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        return time.perf_counter() - t0, time.process_time() - c0


def bench_case(name: str, case: dict, args) -> dict:
    ours, f5 = build(case)
    run_ours, run_f5 = runners(ours, f5, args.seconds, args.prompt_seconds, args.nfe, args.cfg, args.sway)
    calls_ours, calls_f5 = count_calls(run_ours, ours.final.proj), count_calls(run_f5, f5.transformer.proj_out)
    params = {"ours": sum(p.numel() for p in ours.parameters()) / 1e6,
              "f5": sum(p.numel() for p in f5.transformer.parameters()) / 1e6}
    dims = {k: getattr(ours.config, k) for k in DIM_KEYS}
    print(f"{name}: {dims}, {ours.config.text_conditioning}; parameters ours {params['ours']:.2f} M "
          f"(duration model included), F5 {params['f5']:.2f} M; velocity calls (batch): ours {len(calls_ours)} "
          f"({set(calls_ours)}), F5 {len(calls_f5)} ({set(calls_f5)})", flush=True)
    if len(calls_ours) != len(calls_f5):
        raise SystemExit(f"{name}: the two sides make different numbers of velocity calls")
    wall: dict[str, list[float]] = {"ours": [], "f5": []}
    cpu: dict[str, list[float]] = {"ours": [], "f5": []}
    sides = [("ours", run_ours), ("f5", run_f5)]
    for side, run in sides:  # warm-up
        timed(run)
    for r in range(args.rounds):
        for side, run in sides if r % 2 == 0 else sides[::-1]:
            w, c = timed(run)
            wall[side].append(w)
            cpu[side].append(c)
        print(f"  round {r + 1}: wall ours {wall['ours'][-1]:.2f} s, F5 {wall['f5'][-1]:.2f} s "
              f"({wall['ours'][-1] / wall['f5'][-1]:.3f}); CPU ours {cpu['ours'][-1]:.2f} s, F5 {cpu['f5'][-1]:.2f} s "
              f"({cpu['ours'][-1] / cpu['f5'][-1]:.3f})", flush=True)
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    row = {"case": name, "text_conditioning": ours.config.text_conditioning, **dims, "params_m": params,
           "nfe_calls": len(calls_ours), "median_wall_s": med, "median_cpu_s": med_cpu,
           "ratio_wall": med["ours"] / med["f5"], "ratio_cpu": med_cpu["ours"] / med_cpu["f5"],
           "wall_s": wall, "cpu_s": cpu}
    print(f"  median wall: ours {med['ours']:.2f} s, F5 {med['f5']:.2f} s -> ours / F5 = {row['ratio_wall']:.3f}; "
          f"median CPU: ours {med_cpu['ours']:.2f} s, F5 {med_cpu['f5']:.2f} s -> {row['ratio_cpu']:.3f}", flush=True)
    return row


def main() -> None:
    import f5_tts

    all_cases = cases()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="tiny-filler,tiny-aligned,512x12-filler",
                   help=f"comma-separated, of {', '.join(all_cases)} (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per side after a warm-up (default 5)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's, i.e. OMP_NUM_THREADS)")
    p.add_argument("--nfe", type=int, default=16)
    p.add_argument("--cfg", type=float, default=2.0)
    p.add_argument("--sway", type=float, default=-1.0)
    p.add_argument("--seconds", type=float, default=10.0, help="speech to generate (default 10)")
    p.add_argument("--prompt-seconds", type=float, default=3.0)
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in all_cases]
    if unknown:
        p.error(f"unknown case(s) {unknown}; known: {list(all_cases)}")
    version = getattr(f5_tts, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("f5-tts")
    print(f"torch {torch.__version__}, f5-tts {version}, {torch.get_num_threads()} thread(s), "
          f"load average {os.getloadavg()[0]:.2f}; {args.seconds:g} s after a {args.prompt_seconds:g} s prompt, "
          f"NFE {args.nfe} Euler, CFG {args.cfg:g}, sway {args.sway:g}, batch 1, vocoder excluded", flush=True)
    rows = [bench_case(name, all_cases[name], args) for name in names]
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        meta = {"torch": torch.__version__, "f5_tts": version, "threads": torch.get_num_threads(), "args": vars(args)}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
