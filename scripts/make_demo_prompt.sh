#!/usr/bin/env bash
# Regenerates assets/demo_prompt.wav: flite's `slt` voice, which TinyVoices never
# trains on (it is reserved as a zero-shot test voice), resampled to 24 kHz mono.
set -euo pipefail
cd "$(dirname "$0")/.."
text="$(cat assets/demo_prompt.txt)"
tmp="$(mktemp --suffix=.wav)"
trap 'rm -f "$tmp"' EXIT
flite -voice slt -t "$text" -o "$tmp"
sox "$tmp" -r 24000 -c 1 -b 16 assets/demo_prompt.wav
soxi assets/demo_prompt.wav
