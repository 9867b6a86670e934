"""File modes that follow the user's umask.

``tempfile.mkstemp``/``mkdtemp`` create private files (0600) and folders (0700); a
result written through them and renamed into place would keep that mode. Outputs
get what ``open()``/``mkdir`` would give them instead: 0666 / 0777 minus the umask.
"""

from __future__ import annotations

import os
import re


def umask() -> int:
    """The process umask, read without changing it where Linux allows (thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            found = re.search(r"^Umask:\s*([0-7]+)$", f.read(), re.M)
        if found:
            return int(found.group(1), 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore, the only portable way to read it
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new regular file: ``0o666 & ~umask`` (0644 under the usual umask 022)."""
    return 0o666 & ~umask()


def dir_mode() -> int:
    """Mode of a new folder: ``0o777 & ~umask`` (0755 under the usual umask 022)."""
    return 0o777 & ~umask()
