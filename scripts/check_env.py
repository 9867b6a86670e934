"""Checks that a virtual environment matches requirements/lock.txt and that what matters works.

Run by ``make setup`` (scripts/setup.sh) with the venv's Python, before it decides to
re-install and after it has installed. It checks, cheapest first:

1. every locked package that is installed has the locked version (a package the
   chosen extras do not need may be absent);
2. the packages of the chosen extras import: torch, torchaudio (its C++ extension
   loads and runs), vocos, encodec, lhotse, faster-whisper, ...;
3. the project itself imports from this checkout.

Prints nothing and exits 0 when all is well; otherwise prints one line naming the
packages at fault and exits 1. Standard library only: it must run in a broken venv.

    python scripts/check_env.py --lock requirements/lock.txt --extras train,eval,dev,web
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import re
import sys
import warnings
from pathlib import Path

# Modules that must import for each extra (the base install is "").
IMPORTS = {
    "": ("torch", "torchaudio", "numpy", "soundfile", "phonemizer", "vocos", "encodec", "safetensors", "rich"),
    "train": ("lightning", "lhotse", "torchmetrics", "jsonargparse"),
    "eval": ("faster_whisper", "resemblyzer", "speechbrain", "transformers", "jiwer", "matplotlib"),
    "dev": ("pytest", "playwright"),
    "web": ("gradio", "matplotlib"),
}
PROJECT = ("tts", "text_frontend", "codec_lm", "flow")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` from ``name==version`` lines (comments and options skipped)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==", 1)
            pins[canonical(name.split("[", 1)[0])] = version.strip()
    return pins


def version_problems(pins: dict[str, str]) -> list[str]:
    problems = []
    for dist in md.distributions():
        name = canonical(dist.metadata["Name"] or "")
        want = pins.get(name)
        if want is not None and dist.version != want:
            problems.append(f"{name} {dist.version} (lock: {want})")
    return problems


def torchaudio_extension_works() -> str | None:
    """None, or why torchaudio's compiled extension does not run against this torch."""
    try:
        import torch
        import torchaudio.functional as AF

        # forced_align is implemented in libtorchaudio: calling it loads the extension.
        log_probs = torch.log_softmax(torch.zeros(1, 4, 3), dim=-1)
        AF.forced_align(log_probs, torch.tensor([[1, 2]], dtype=torch.int32), blank=0)
    except Exception as err:  # a dlopen failure, an undefined symbol, a missing op
        return f"torchaudio's extension does not load ({type(err).__name__}: {str(err).splitlines()[0][:120]})"
    return None


def import_problems(extras: list[str]) -> list[str]:
    problems = []
    for extra in ["", *extras]:
        for module in IMPORTS.get(extra, ()):
            try:
                importlib.import_module(module)
            except Exception as err:
                problems.append(f"{module} does not import ({type(err).__name__}: {str(err).splitlines()[0][:100]})")
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lock", type=Path, default=Path("requirements/lock.txt"))
    p.add_argument("--extras", default="train,eval,dev,web", help="comma-separated extras that should be installed")
    args = p.parse_args()
    warnings.filterwarnings("ignore")  # deprecation notices of imported packages are not problems of the venv
    extras = [e for e in args.extras.split(",") if e]
    unknown = [e for e in extras if e not in IMPORTS]
    if unknown:
        print(f"unknown extra(s) {', '.join(unknown)}: choose from {', '.join(e for e in IMPORTS if e)}")
        return 1
    problems = version_problems(read_lock(args.lock)) if args.lock.is_file() else [f"no lock file {args.lock}"]
    if not problems:  # imports of mismatched packages fail in confusing ways; versions first
        problems = import_problems(extras)
    if not problems:
        problems = [p for p in [torchaudio_extension_works()] if p]
    if not problems:
        for module in PROJECT:
            try:
                importlib.import_module(module)
            except Exception as err:
                problems.append(f"the project's {module} does not import ({type(err).__name__}: {err})")
    if problems:
        print("; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
