"""The dependency rules of the layout (docs/architecture.md, "Who imports whom").

- The model packages (``text_frontend``, ``nn_common``, ``codec_lm``, ``flow``, ``aligner``)
  are plain PyTorch: they never import Lightning, ``tts`` or ``recipes``.
- Among themselves, a model package imports only the ones :data:`MODEL_EDGES` allows:
  ``nn_common`` (what they share) and ``text_frontend`` (the aligner's phone table).
- ``recipes`` is imported by nothing but the ``tts train``/``tts export`` launcher
  (``tts/commands/train.py``), and only when those commands run.
- Over the project's own modules, the import graph has no circle and no arrow that points
  up the :data:`LAYERS` (the library never imports the commands, the web page or the recipes).

Each rule is checked twice: statically, over every ``import`` of the source files (those
inside functions too, which an import-time check cannot see), and at import time, by
importing every module of a package in a fresh interpreter and looking at ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

MODEL_PACKAGES = ("text_frontend", "nn_common", "codec_lm", "flow", "aligner")
# The project packages each model package may import (docs/architecture.md, "Who imports whom").
# A new edge is a decision: add it here and to the diagram, or move the shared piece to nn_common.
MODEL_EDGES = {"text_frontend": set(), "nn_common": set(), "codec_lm": {"nn_common"}, "flow": {"nn_common"},
               "aligner": {"nn_common", "text_frontend"}}
NOT_IN_MODEL_PACKAGES = {"lightning", "pytorch_lightning", "tts", "recipes"}
PROJECT = {"tts", "recipes", "text_frontend", "codec_lm", "flow", "aligner", "nn_common"}
LAUNCHER = REPO / "tts" / "commands" / "train.py"
# Lowest first: a module imports modules of its own layer and of the layers below, never above
# (docs/architecture.md, "Who imports whom"). A module belongs to the longest prefix that names it.
LAYERS = (
    ("text_frontend", "nn_common"),  # model packages that import no other project package
    ("aligner", "codec_lm", "flow"),  # model packages over them
    ("tts",),  # the library: every module of tts but those named below
    ("recipes",),  # training: the model packages and the library, under Lightning
    ("tts.web",),  # the web page, over the library
    ("tts.commands",),  # the `tts` sub-commands; the launcher (train.py) also imports recipes
    ("tts.cli",),  # the parser over the sub-commands
)


def imported_names(path: Path) -> set[str]:
    """Top-level names of every absolute import in ``path`` (``import a.b`` and ``from a.b import c`` give ``a``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "import_module", "__import__") and node.args:
            # importlib.import_module("x.y") or f"x.{name}": the constant start names the package
            arg = node.args[0]
            head = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else arg
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                names.add(head.value.split(".")[0])
    return names


def violations(package_dir: Path, forbidden: set[str], skip: tuple[Path, ...] = ()) -> list[str]:
    """``file: name`` for every forbidden import under ``package_dir``."""
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        if path in skip:
            continue
        for name in sorted(imported_names(path) & forbidden):
            found.append(f"{path.relative_to(REPO)}: imports {name}")
    return found


def present(package: str) -> bool:
    return (REPO / package / "__init__.py").is_file()


def imported_at_runtime(packages: list[str], skip: tuple[str, ...] = ()) -> set[str]:
    """Top-level names in ``sys.modules`` after importing every module of ``packages`` in a fresh interpreter."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"skip = {list(skip)!r}\n"
        f"for name in {packages!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        if info.name not in skip:\n"
        "            importlib.import_module(info.name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("package", MODEL_PACKAGES)
def test_model_packages_import_no_lightning_tts_recipes_or_other_models(package):
    if not present(package):
        pytest.skip(f"{package}/ does not exist in this checkout yet")
    forbidden = NOT_IN_MODEL_PACKAGES | (PROJECT - {package} - MODEL_EDGES[package])
    assert violations(REPO / package, forbidden) == []


def test_model_packages_load_no_lightning_tts_or_recipes():
    packages = [p for p in MODEL_PACKAGES if present(p)]
    assert NOT_IN_MODEL_PACKAGES & imported_at_runtime(packages) == set()


def test_only_the_launcher_imports_recipes():
    assert violations(REPO / "tts", {"recipes"}, skip=(LAUNCHER,)) == []
    assert "recipes" in imported_names(LAUNCHER)  # the launcher is where it happens (else this test is stale)


def test_tts_loads_without_recipes_or_lightning():
    # Every module of tts, the launcher included: it imports the recipes only when a command runs.
    loaded = imported_at_runtime(["tts"])
    assert {"recipes", "lightning"} & loaded == set()


def test_the_check_sees_imports_inside_functions(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(
        "import torch\n\ndef f():\n    from lightning import Trainer\n    import tts.audio\n\n"
        "def g(name):\n    import importlib\n    return importlib.import_module(f'recipes.{name}')\n")
    assert imported_names(tmp_path / "pkg" / "m.py") >= {"lightning", "tts", "recipes"}


def test_launcher_lists_every_recipe():
    from recipes.registry import RECIPES
    from tts.commands.train import RECIPES as LISTED

    assert sorted(LISTED) == sorted(RECIPES)


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=REPO, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = []
    for name in out.splitlines():
        path = REPO / name
        if path.is_file() and path.suffix not in (".wav", ".bin", ".safetensors"):
            files.append(path)
    return files


def test_nothing_refers_to_a_path_outside_the_repository():
    """A user's clone holds only the repository: README, docs, code and configs may not point
    at files beside it (``../shared/...``) or at a machine's folders."""
    import re

    outside = []
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for match in re.finditer(r"(?<![\w./])((?:\.\./)+[\w.-][\w./-]*)", text):
            target = (path.parent / match.group(1)).resolve()
            if not target.is_relative_to(REPO.resolve()):
                outside.append(f"{path.relative_to(REPO)}: {match.group(1)}")
        outside += [f"{path.relative_to(REPO)}: {m}" for m in re.findall(r"(?<![\w.])/work/\w+", text)]
    assert outside == []


def test_architecture_doc_covers_every_package():
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = [p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()]
    assert packages and all(f"{name}/" in doc for name in packages), packages
    assert "docs/architecture.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_scripts_hold_only_what_make_setup_or_the_docs_use():
    """scripts/ is part of the product: each file is run by the Makefile or the setup, or the
    docs give a command for it. Research probes live in experiments/, each with a line in its README."""
    users = [REPO / "Makefile", REPO / "README.md", *(REPO / "scripts").glob("*.sh"), *(REPO / "docs").glob("*.md"),
             *(REPO / "checkpoints").glob("*/README.md")]
    named = " ".join(path.read_text(encoding="utf-8") for path in users)
    unused = [p.name for p in sorted((REPO / "scripts").iterdir()) if f"scripts/{p.name}" not in named]
    assert unused == []
    listed = (REPO / "experiments" / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted((REPO / "experiments").glob("*.py")) if f"`{p.name}`" not in listed] == []


def module_graph(root: Path, packages) -> dict[str, set[str]]:
    """Module -> the project modules it imports, over every ``import`` of the source files under
    ``root/<package>`` (inside functions and ``if TYPE_CHECKING`` too: an import that is put off
    still makes the two modules depend on each other). ``from a import b`` points at the module
    ``a.b`` when there is one, else at ``a``; a package is its ``__init__``."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in files.items():
        here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else node.module
                targets.update(resolve(f"{base}.{alias.name}") for alias in node.names)
        graph[module] = targets - {None, module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of ``graph``: each strongly connected set of two or more modules, sorted (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def layer(module: str) -> int:
    named = [(len(prefix), i) for i, prefixes in enumerate(LAYERS) for prefix in prefixes
             if module == prefix or module.startswith(prefix + ".")]
    assert named, f"{module} is in no layer of LAYERS"
    return max(named)[1]


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if layer(b) > layer(a))


def test_the_import_graph_has_no_circles_and_no_upward_arrows():
    graph = module_graph(REPO, sorted(PROJECT))
    assert len(graph) > 150 and "recipes.registry" in graph["recipes.cli"]  # the graph is read at all
    assert find_cycles(graph) == []
    assert upward_arrows(graph) == []


def test_the_cycle_and_layer_checks_find_what_they_look_for(tmp_path):
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    # A circle through a relative import inside a function, and one through TYPE_CHECKING.
    pkg = tmp_path / "tts"
    (pkg / "eval").mkdir(parents=True)
    (pkg / "commands").mkdir()
    for init in (pkg, pkg / "eval", pkg / "commands"):
        (init / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .eval import b\n")
    (pkg / "eval" / "b.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "eval" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import X\n")
    (pkg / "eval" / "d.py").write_text("from . import c\n")
    (pkg / "commands" / "x.py").write_text("import tts.a\n")
    (pkg / "eval" / "up.py").write_text("from tts.commands.x import y\n")
    graph = module_graph(tmp_path, ["tts"])
    assert graph["tts.a"] == {"tts.eval.b"} and graph["tts.eval.b"] == {"tts.a"}
    assert find_cycles(graph) == [["tts.a", "tts.eval.b"], ["tts.eval.c", "tts.eval.d"]]
    assert upward_arrows(graph) == ["tts.eval.up -> tts.commands.x"]
