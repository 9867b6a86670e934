# The two README commands are `make demo` and `make test`; both run `setup` first.
VENV ?= .venv
PY := $(VENV)/bin/python
TTS := $(VENV)/bin/tts
PYTEST_ARGS ?=

.PHONY: setup lock test test-all test-browser web demo bench clean help

help:
	@echo "make setup     create or repair $(VENV) from requirements/lock.txt; flite/festival/sox for TinyVoices"
	@echo "make lock      re-resolve every dependency afresh into requirements/lock.txt (on purpose only)"
	@echo "make demo      synthesize a sentence in the voice of assets/demo_prompt.wav"
	@echo "make test      fast test suite on the CPU (about 10 min on 2 idle cores)"
	@echo "make test-all  every test, slow ones included (GPU tests run when CUDA is present)"
	@echo "make test-browser  the web page in headless Chromium (installs Debian's chromium if missing)"
	@echo "make web       serve the synthesis and editing page at http://127.0.0.1:7860"
	@echo "make bench     speed benchmarks"

setup:
	@bash scripts/setup.sh

lock:
	@bash scripts/lock.sh

test: setup
	$(PY) -m pytest -q -m "not slow and not gpu" $(PYTEST_ARGS)

test-all: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The browser tests of `tts web` (tests/test_web_browser.py): Debian's Chromium, driven by
# Playwright's Python package (Playwright's own browser download is not used).
test-browser: setup
	@bash scripts/install_chromium.sh
	$(PY) -m pytest -q -m browser tests/test_web_browser.py $(PYTEST_ARGS)

web: setup
	$(TTS) web

# Synthesizes with the shipped default model (checkpoints/tiny-flow) on the CPU and
# prints where out.wav is and how long it took. An out.wav from before is kept as
# out.previous.wav rather than overwritten.
demo: setup
	@if [ -e out.wav ]; then mv -f out.wav out.previous.wav && echo "demo: kept the earlier out.wav as out.previous.wav"; fi
	$(TTS) synth "The quick brown fox jumped over 3 lazy dogs at 5:30 pm." \
		--prompt assets/demo_prompt.wav --prompt-text "$$(cat assets/demo_prompt.txt)" \
		--model tiny-flow --seed 0 -o out.wav

bench: setup
	$(TTS) bench frontend

clean:
	rm -rf .pytest_cache build *.egg-info
