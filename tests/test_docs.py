"""The documentation stays a reference: short, free of one machine's run folders and of
test counts, with links that resolve and `tts` commands that the CLI accepts."""

import re
import shlex

import pytest

from conftest import REPO
from tts.cli import build_parser

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
CARDS = sorted((REPO / "checkpoints").glob("*/README.md"))
README_MAX_LINES = 300
CARD_MAX_LINES = 150


def _name(path) -> str:
    return str(path.relative_to(REPO))


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines, over {README_MAX_LINES}: move reference into docs/"


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.parent.name)
def test_model_card_is_short(card):
    lines = card.read_text(encoding="utf-8").count("\n")
    assert lines <= CARD_MAX_LINES, f"{_name(card)} has {lines} lines, over {CARD_MAX_LINES}: histories belong in git"


# A path into a run or experiment folder of the machine that wrote the text ("runs/valle-x/...",
# "exp/melrvq-ph1"): a clone has none of them.
RUN_PATH = re.compile(r"(?<![\w./-])(?:runs|exp)/[\w.{<*-]")


def test_docs_name_no_run_folders():
    found = [f"{_name(p)}:{n}: {m.group(0)}" for p in [README, *DOCS, *CARDS]
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) for m in RUN_PATH.finditer(line)]
    assert found == []


# "840 tests", "7 slow tests", "809 passed": the runner prints these; written down, they go stale.
TEST_COUNT = re.compile(r"\b\d[\d,]*\s+(?:[a-z-]+\s+)?tests\b|\b\d+\s+(?:passed|failed|skipped|deselected)\b", re.I)


def test_no_test_counts_in_readme_docs_or_makefile():
    found = [f"{_name(p)}:{n}: {m.group(0)}" for p in [README, REPO / "Makefile", *DOCS]
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) for m in TEST_COUNT.finditer(line)]
    assert found == []


def test_the_checks_catch_what_they_look_for():
    assert RUN_PATH.search("tts export valle runs/valle-ph1dp/checkpoints/x.ckpt -o exp/v")
    assert not RUN_PATH.search("--out eval/tiny-flow (training runs/ nothing) reruns/x")
    assert TEST_COUNT.search("CPU, 840 tests, about 10 min") and TEST_COUNT.search("4 browser tests skip")
    assert TEST_COUNT.search("809 passed in 9 min")
    assert not TEST_COUNT.search("the first 60 test items") and not TEST_COUNT.search("tests/test_docs.py")


def test_relative_links_resolve():
    broken = []
    for path in [README, *DOCS]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if "://" not in target and not (path.parent / target).exists():
                broken.append(f"{_name(path)}: {target}")
    assert broken == []


def test_named_scripts_exist():
    """A script moved or removed takes its mentions in the README, docs and cards with it."""
    missing = [f"{_name(p)}: {s}" for p in [README, *DOCS, *CARDS]
               for s in re.findall(r"(?<![\w/])scripts/[\w.-]+\.(?:py|sh)\b", p.read_text(encoding="utf-8"))
               if not (REPO / s).is_file()]
    assert missing == []


def _tts_commands(path) -> list[str]:
    """The `tts ...` command lines of a Markdown file's bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"\s(?:\||&&)\s", line):  # `echo x | tts synth -`, `mkdir -p d && tts ...`
                words = shlex.split(part, comments=True)
                if words[:1] == ["tts"]:
                    commands.append(part.strip())
    return commands


@pytest.mark.parametrize("doc", [README, *DOCS, *CARDS], ids=_name)
def test_tts_commands_in_docs_parse(doc):
    """Every documented `tts` command names a sub-command and options the CLI has (values are
    parsed as the CLI parses them), and `tts train` a config its recipe ships."""
    parser = build_parser()
    bad = []
    for command in _tts_commands(doc):
        argv = shlex.split(command, comments=True)[1:]
        if "--help" in argv:
            continue
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            bad.append(command)
            continue
        if args.command == "train" and "--config" in args.rest:
            config = args.rest[args.rest.index("--config") + 1]
            if not (REPO / "recipes" / args.recipe / "configs" / f"{config}.yaml").is_file():
                bad.append(f"{command}  (no recipes/{args.recipe}/configs/{config}.yaml)")
    assert bad == [], "\n".join(bad)


def test_readme_commands_are_found():
    commands = _tts_commands(README)
    assert any(c.startswith("tts synth") for c in commands) and any(c.startswith("tts train") for c in commands)
