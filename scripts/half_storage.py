"""Copy a model folder with its weights stored in float16 (or bfloat16): half the bytes.

    python scripts/half_storage.py SRC OUT [--dtype float16] [--overwrite]

For a folder whose training checkpoint is gone (``tts export --dtype`` needs the Lightning
checkpoint). Config, dependencies (re-pointed from OUT to the same folders), vocabulary,
card, option defaults and training facts are kept; ``model.yaml`` gets ``weights_dtype`` and the new
sha256. Loading casts the weights back to float32, so only their rounding changes: check
what it costs the model (for a codec, ``tts eval codec``; for a TTS model, ``tts eval``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tts.checkpoint import (CARD_FILE, STORAGE_DTYPES, VOCAB_FILE, CheckpointError,  # noqa: E402
                            load_state_dict, read_checkpoint, save_checkpoint)
from tts.errors import TTSError  # noqa: E402

# Of what read_checkpoint leaves in ``meta``, the keys save_checkpoint writes anew; the rest is carried over.
_REWRITTEN = ("toolkit_version", "weights_dtype")


def half_storage(src: str | Path, out: str | Path, dtype: str = "float16", overwrite: bool = False) -> Path:
    """Write ``src``'s model as ``out`` with half-precision storage; returns ``out``."""
    if dtype not in STORAGE_DTYPES or dtype == "float32":
        raise CheckpointError(f"--dtype {dtype}: choose float16 or bfloat16.")
    info = read_checkpoint(src)  # verifies the weights' sha256 and the dependencies
    if Path(out).resolve() == info.path.resolve():
        raise CheckpointError(f"'{out}' is the source folder: write the copy elsewhere, then move it.")
    if info.meta.get("weights_dtype") in ("float16", "bfloat16"):
        raise CheckpointError(f"'{info.path}' is already stored in {info.meta['weights_dtype']}.")
    card = (info.path / CARD_FILE).read_text(encoding="utf-8") if (info.path / CARD_FILE).is_file() else None
    meta = {k: v for k, v in info.meta.items() if k not in _REWRITTEN}
    if info.options:
        meta["options"] = info.options
    out = save_checkpoint(out, info.family, info.config, load_state_dict(info), dependencies=info.dependencies,
                          card=card, meta=meta, overwrite=overwrite, dtype=dtype)
    if (info.path / VOCAB_FILE).is_file():
        shutil.copyfile(info.path / VOCAB_FILE, out / VOCAB_FILE)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="a model folder (or a shipped model's name)")
    p.add_argument("out", help="the folder to write")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16"))
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    args = p.parse_args(argv)
    try:
        out = half_storage(args.src, args.out, args.dtype, args.overwrite)
    except TTSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({sum(f.stat().st_size for f in out.iterdir()) / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
