#!/usr/bin/env bash
# `make setup`: a virtual environment installed from requirements/lock.txt (exact
# versions of every package, the torch/torchaudio pair included), the project
# (editable) with its extras, and the system tools TinyVoices needs.
#
# Idempotent: when nothing it depends on changed and scripts/check_env.py finds the
# venv healthy, it returns in seconds. A venv that fails the check (a package at
# another version than the lock, torchaudio's extension not loading, an import
# failing) is repaired by re-installing from the lock; if that cannot fix it, one
# line says what is wrong and how to start over.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-train,eval,dev,web}"
LOCK="${LOCK:-requirements/lock.txt}"
# TinyVoices synthesizes its corpus with these engines and texts (see tts/data/tinyvoices).
APT_PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k sox fortunes)
STAMP="$VENV/.setup-stamp"

# Bold only on a terminal: logs and CI get plain text.
if [ -t 1 ]; then say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }; else say() { printf 'setup: %s\n' "$*"; }; fi
fail() { say "ERROR: $*"; exit 1; }

# Everything that should trigger a re-install when it changes.
fingerprint() {
    cat pyproject.toml "$LOCK" scripts/setup.sh | sha256sum | cut -d' ' -f1
    echo "$EXTRAS"
}

system_packages() {
    local missing=()
    command -v espeak-ng >/dev/null || missing+=(espeak-ng)
    command -v flite >/dev/null || missing+=(flite)
    command -v festival >/dev/null || missing+=(festival)
    [ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
    [ -d /usr/share/festival/voices/english/ked_diphone ] || missing+=(festvox-kdlpc16k)
    command -v sox >/dev/null || missing+=(sox)
    [ -f /usr/share/games/fortunes/fortunes ] || missing+=(fortunes)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} (apt-get; needed to synthesize the TinyVoices corpus)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
            || say "WARNING: apt-get failed; TinyVoices needs ${missing[*]}. Install them by hand."
    else
        say "NOTE: ${missing[*]} missing. TinyVoices needs them: sudo apt-get install ${APT_PACKAGES[*]}"
    fi
}

check() { "$VENV/bin/python" scripts/check_env.py --lock "$LOCK" --extras "$EXTRAS"; }

[ -f "$LOCK" ] || fail "the lock file $LOCK is missing: restore it (git checkout -- $LOCK) or make one with 'make lock'."
system_packages

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null; then
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && problems="$(check)"; then
        say "up to date ($VENV)"
        exit 0
    fi
    [ -f "$STAMP" ] && [ -n "${problems:-}" ] && say "repairing $VENV: $problems"
else
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        fail "Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1)). Set PYTHON=python3.11."
    fi
    [ -e "$VENV" ] && { say "$VENV does not run; creating it again"; rm -rf "$VENV"; }
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
rm -f "$STAMP"

# Every package comes from the lock (-c): an extra that is not chosen installs nothing,
# and a package installed at another version is replaced by the locked one.
# PYTHONWARNINGS: setuptools' notices about editable installs are not for our users.
PIP=(env PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install --disable-pip-version-check -q -c "$LOCK")
say "installing build tools from $LOCK"
"${PIP[@]}" pip setuptools wheel || fail "pip could not install pip/setuptools/wheel from $LOCK (see above)."
say "installing the project with extras [$EXTRAS] from $LOCK (the first time downloads about 3 GB)"
"${PIP[@]}" --no-build-isolation -e ".[$EXTRAS]" \
    || fail "pip could not install the project from $LOCK (see above); check the network, or start over: rm -rf $VENV && make setup"
if ! problems="$(check)"; then
    fail "$VENV is still broken after installing from $LOCK: $problems. Start over: rm -rf $VENV && make setup"
fi
"$VENV/bin/python" -c 'import torch, torchaudio; print(f"setup: torch {torch.__version__}, torchaudio {torchaudio.__version__}, CUDA available: {torch.cuda.is_available()}")'
fingerprint > "$STAMP"
say "done"
