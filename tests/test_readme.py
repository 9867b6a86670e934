"""The Python examples of the README and of docs/ run, and print what their comments say."""

import contextlib
import io
import os
import re

from conftest import REPO


SKIP_MARK = "# not run:"  # first line of an example that needs the reader's own files


def _python_blocks(path) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if not b.startswith(SKIP_MARK)]


def _expected_outputs(block: str) -> list[str]:
    """Comments that state a print's output: on the print line, or on the next line."""
    lines = block.splitlines()
    expected = []
    for i, line in enumerate(lines):
        if not line.startswith("print("):
            continue
        code, _, comment = line.partition("  #")
        if comment.strip():
            expected.append(comment.strip())
        elif i + 1 < len(lines) and lines[i + 1].startswith("# "):
            expected.append(lines[i + 1][2:].strip())
    return expected


def test_readme_python_examples(monkeypatch):
    blocks = _python_blocks(REPO / "README.md")
    assert blocks, "README has no python examples"
    blocks += [b for doc in sorted((REPO / "docs").glob("*.md")) for b in _python_blocks(doc)]
    monkeypatch.chdir(REPO)
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
        printed = out.getvalue()
        for want in _expected_outputs(block):
            assert want in printed, f"README says {want!r}, but the example printed:\n{printed}"
    assert os.getcwd() == str(REPO)
