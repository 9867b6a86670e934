#!/usr/bin/env bash
# `make lock`: resolve every dependency of the project with all its extras afresh, in a
# new temporary venv, and write the exact versions to requirements/lock.txt, which
# `make setup` installs from. Run it on purpose (to take new releases), then run
# `make test` and commit the lock with what it changed.
#
# torch and torchaudio are asked for as an exact pair: torchaudio's compiled extension
# only loads against the torch it was built for (torchaudio 2.11.1 does not load
# against torch 2.11.0). Change TORCH_PAIR to move both together.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_PAIR=(torch==2.11.0 torchaudio==2.11.0)
PYTHON="${PYTHON:-python3}"
LOCK="${LOCK:-requirements/lock.txt}"
EXTRAS=train,eval,dev,web

if [ -t 1 ]; then say() { printf '\033[1mlock:\033[0m %s\n' "$*"; }; else say() { printf 'lock: %s\n' "$*"; }; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
say "resolving in a fresh venv ($tmp) with ${TORCH_PAIR[*]} and extras [$EXTRAS]"
"$PYTHON" -m venv "$tmp/venv"
PIP=("$tmp/venv/bin/python" -m pip install --disable-pip-version-check -q)
"${PIP[@]}" --upgrade pip setuptools wheel
"${PIP[@]}" "${TORCH_PAIR[@]}" -e ".[$EXTRAS]"
freeze="$("$tmp/venv/bin/python" -m pip freeze --all --exclude-editable)"
printf '%s\n' "$freeze" > "$tmp/lock.txt"
"$tmp/venv/bin/python" scripts/check_env.py --lock "$tmp/lock.txt" --extras "$EXTRAS" \
    || { say "ERROR: the fresh resolution does not work (above); $LOCK is unchanged."; exit 1; }
mkdir -p "$(dirname "$LOCK")"
{
    echo "# Exact versions of every package of zeroshot-tts with extras [$EXTRAS], as resolved by"
    echo "# 'make lock' (scripts/lock.sh) on $(date -u +%Y-%m-%d) with $("$tmp/venv/bin/python" --version) on $(uname -m)."
    echo "# 'make setup' installs from it as pip constraints (-c): any subset of the extras gets these"
    echo "# versions. Do not edit by hand; run 'make lock' to take new releases."
    printf '%s\n' "$freeze"
} > "$LOCK"
say "wrote $LOCK ($(printf '%s\n' "$freeze" | wc -l) packages)"
