"""`tts web`: serve the synthesis and editing page (tts/web) on this machine."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import time

from ..errors import TTSError
from . import SHIPPED_MODELS, console

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def register(sub) -> None:
    w = sub.add_parser("web", help="a web page for synthesis and speech editing (needs the [web] extra)",
                       description="Serves a page (Gradio) at http://HOST:PORT: speak a text in the voice of an "
                                   "uploaded or recorded prompt, or change words in a recording. It listens on "
                                   "this machine only unless --host says otherwise, and never makes a share link.")
    w.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only; 0.0.0.0 opens it to "
                        "the network, without a login)")
    w.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    w.add_argument("--model", default="tiny-flow",
                   help=f"model selected and loaded at start: {', '.join(SHIPPED_MODELS)} or a checkpoint folder")
    w.add_argument("--model-dir", action="append", default=[],
                   help="also offer the checkpoint folders under this folder (as `tts models --dir`)")
    w.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    w.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload in MiB (default 20)")
    w.add_argument("--max-text-chars", type=int, default=5000, help="longest text in characters (default 5000)")
    w.set_defaults(func=run)


def _check_address(host: str, port: int) -> None:
    """Fail with one line if ``host:port`` cannot be listened on (taken, or not this machine's)."""
    if not 1 <= port <= 65535:
        raise TTSError(f"--port must be in [1, 65535], got {port}.")
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise TTSError(f"Cannot listen on {host}:{port} ({err.strerror or err}): pick another --port, "
                       "or stop what uses it.") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from ..validation import check_device, check_model_dirs
    from ..web.app import build_app, import_gradio, launch
    from ..web.inputs import WebLimits
    from ..web.models import pick, web_models
    from ..web.service import WebService

    limits = WebLimits(max_upload_mb=args.max_upload_mb, max_text_chars=args.max_text_chars)
    check_model_dirs(args.model_dir, "--model-dir")
    check_device(args.device)
    _check_address(args.host, args.port)
    gr = import_gradio()
    models = web_models(args.model_dir, extra=(args.model,))
    default = pick(models, args.model)
    service = WebService(models, upload_root=gr.utils.get_upload_folder(), limits=limits, device=args.device)
    con = console()
    t0 = time.perf_counter()
    service.preload(default.ref)
    con.print(f"loaded {default.name} ({default.family}) in {time.perf_counter() - t0:.1f} s; "
              f"offering {', '.join(m.name for m in models)}")
    app = build_app(service, default.ref)
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}"
    if not _is_loopback(args.host):
        con.print(f"[yellow]note:[/yellow] listening on {args.host}: anyone who can reach this machine can use "
                  "the page (it has no login).")
    con.print(f"serving the page at {url} (Ctrl+C stops it)")
    launch(app, args.host, args.port, limits.max_upload_bytes)
    return 0
