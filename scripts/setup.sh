#!/usr/bin/env bash
# `make setup`: a virtual environment with a matching torch/torchaudio pair, the
# project (editable) with its extras, and the system tools TinyVoices needs.
# Idempotent: when nothing it depends on changed, it checks and returns in ~1 s.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-train,eval,dev}"
# torch and torchaudio must be a matching pair; 2.11 works on CPU and GPU machines
# (see ../shared/DESIGN.md, "The machines").
TORCH_PINS=("torch==2.11.*" "torchaudio==2.11.*")
# TinyVoices synthesizes its corpus with these engines and texts (see tts/data/tinyvoices).
APT_PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k sox fortunes)
STAMP="$VENV/.setup-stamp"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# Everything that should trigger a re-install when it changes.
fingerprint() {
    cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1
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

system_packages

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] \
    && "$VENV/bin/python" -c "import torch, torchaudio, tts, text_frontend" 2>/dev/null; then
    say "up to date ($VENV)"
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    say "ERROR: Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1)). Set PYTHON=python3.11."
    exit 1
fi
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }

PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
say "installing ${TORCH_PINS[*]}"
"${PIP[@]}" "${TORCH_PINS[@]}"
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
printf '%s\n' "${TORCH_PINS[@]}" > "$constraints"
say "installing the project with extras [$EXTRAS]"
"${PIP[@]}" -c "$constraints" -e ".[$EXTRAS]"
"$VENV/bin/python" - <<'PY'
import torch, torchaudio
assert torch.__version__.split("+")[0].rsplit(".", 1)[0] == torchaudio.__version__.split("+")[0].rsplit(".", 1)[0], \
    f"torch {torch.__version__} and torchaudio {torchaudio.__version__} do not match"
print(f"setup: torch {torch.__version__}, torchaudio {torchaudio.__version__}, CUDA available: {torch.cuda.is_available()}")
PY
fingerprint > "$STAMP"
say "done"
