"""`tts web` in a real browser: the command runs as a subprocess on a free loopback port and
headless Debian Chromium (``/usr/bin/chromium``, driven by Playwright's Python package;
Playwright's own browser download is never used) uploads the demo prompt, types, clicks
and waits for the results as a person would.

Marked ``browser``: skipped where Chromium or Playwright is missing; ``make test-browser``
installs Debian's ``chromium`` and runs these. Screenshots go to ``artifacts/`` (or
``$TTS_ARTIFACTS``), which git ignores.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile as sf

from conftest import DEMO_PROMPT, REPO

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TTS_CHROMIUM", "/usr/bin/chromium")
# Flags that run Chromium headless in a container and keep it from calling any other host.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("TTS_ARTIFACTS", REPO / "artifacts"))
DEMO_TEXT = (REPO / "assets" / "demo_prompt.txt").read_text(encoding="utf-8").strip()
START_TIMEOUT_S = 120
RESULT_TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`tts web` on a free port of 127.0.0.1, its uploads in a temporary folder."""
    if os.environ.get("TTS_REQUIRE_BROWSER"):  # CI (.ci/run) installed Chromium: a skip would hide a failure
        assert Path(CHROMIUM).is_file(), f"TTS_REQUIRE_BROWSER is set, but there is no Chromium at {CHROMIUM}"
        import playwright.sync_api  # noqa: F401
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test-browser` installs Debian's chromium")
    pytest.importorskip("playwright.sync_api", reason="Playwright is in the [dev] extra: run `make setup`")
    import httpx

    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    tts = shutil.which("tts", path=os.path.dirname(sys.executable))
    cmd = [tts, "web"] if tts else [sys.executable, "-m", "tts.cli", "web"]
    env = dict(os.environ, OMP_NUM_THREADS="1", GRADIO_TEMP_DIR=str(tmp / "gradio"))
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    t0 = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`tts web` exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > START_TIMEOUT_S:
                pytest.fail(f"`tts web` did not answer within {START_TIMEOUT_S} s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield SimpleNamespace(url=url, port=port, log=log_path, startup_s=time.monotonic() - t0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    """The page, freshly loaded; every request it makes is recorded."""
    page = browser.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(server.url, wait_until="domcontentloaded")
    page.wait_for_selector("#synth-button", timeout=60_000)
    yield page
    # The page asks nothing of any host but the server (no fonts, analytics or CDN).
    hosts = {re.match(r"\w+://([^/]+)", u).group(1) for u in page.requests if u.startswith("http")}
    assert hosts == {f"127.0.0.1:{server.port}"}, hosts
    page.close()


def _fill(page, elem_id: str, text: str) -> None:
    """Type ``text`` into a field and make sure it stays there.

    The widgets of an accordion are mounted when it opens, and a fill in that moment can be
    overwritten by the widget's initial value (Gradio 6: one fill in ~10 right after the
    click was lost, and the request then ran with the default), so it fills again until the
    value holds."""
    field = page.locator(f"#{elem_id} textarea, #{elem_id} input").first
    for _ in range(5):
        field.fill(text)
        page.wait_for_timeout(200)
        if field.input_value() == text:
            return
    pytest.fail(f"#{elem_id} does not keep the value {text!r}: it shows {field.input_value()!r}")


def _upload(page, elem_id: str, path: Path) -> None:
    """Upload ``path`` into an audio widget and wait until the server has it and the page shows it."""
    with page.expect_response(lambda r: "/gradio_api/upload" in r.url and r.request.method == "POST",
                              timeout=30_000) as response:
        page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    assert response.value.ok, response.value.status
    page.wait_for_selector(f"#{elem_id} audio", state="attached", timeout=30_000)


def _wait_for_result(page, prefix: str) -> str:
    """The "Time taken" line of a result; fails with the page's error message if one shows instead."""
    page.wait_for_function(
        """(prefix) => {
            const info = document.querySelector(`#${prefix}-info textarea, #${prefix}-info input`);
            return (info && info.value.length > 0) || document.querySelector('.toast-body');
        }""", arg=prefix, timeout=RESULT_TIMEOUT_MS)
    toasts = page.locator(".toast-body")
    if toasts.count():
        pytest.fail(f"the page showed an error: {toasts.first.inner_text()}")
    return page.locator(f"#{prefix}-info textarea, #{prefix}-info input").first.input_value()


def _result_audio(page, prefix: str):
    """``(samples, sample rate)`` of the result, fetched through its download link."""
    href = page.locator(f"#{prefix}-download a").first.get_attribute("href")
    reply = page.request.get(href)
    assert reply.ok, reply.status
    return sf.read(io.BytesIO(reply.body()))


def _seconds_of_audio(summary: str) -> float:
    return float(re.match(r"([\d.]+) s of audio in ", summary).group(1))


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_synthesis_in_the_browser(page, server):
    _upload(page, "synth-prompt", DEMO_PROMPT)
    _fill(page, "synth-prompt-text", DEMO_TEXT)
    _fill(page, "synth-text", "Hello from the web page. It speaks two sentences.")
    page.locator("#synth-options").get_by_text("Model options").click()
    _fill(page, "synth-flow-nfe", "8")
    _fill(page, "synth-seed", "0")
    page.locator("#synth-button").click()
    summary = _wait_for_result(page, "synth")
    wav, rate = _result_audio(page, "synth")
    assert rate == 24000 and 1.0 < len(wav) / rate < 15
    assert len(wav) / rate == pytest.approx(_seconds_of_audio(summary), abs=0.01)
    assert page.locator("#synth-spectrogram img").count() == 1
    page.locator("#synth-options").get_by_text("Model options").click()  # folded again for the screenshot
    shot = _screenshot(page, "web-synthesis.png")
    print(f"\n`tts web` answered {server.startup_s:.1f} s after it was started; {summary} Screenshot: {shot}")


def test_a_bad_option_shows_the_cli_message_in_the_page(page):
    _upload(page, "synth-prompt", DEMO_PROMPT)
    _fill(page, "synth-prompt-text", DEMO_TEXT)
    _fill(page, "synth-text", "Hello.")
    page.locator("#synth-options").get_by_text("Model options").click()
    _fill(page, "synth-flow-nfe", "0")
    page.locator("#synth-button").click()
    page.wait_for_function(
        """() => {
            const info = document.querySelector('#synth-info textarea, #synth-info input');
            return document.querySelector('.toast-body') || (info && info.value.length > 0);
        }""", timeout=RESULT_TIMEOUT_MS)
    toast = page.locator(".toast-body").first
    assert toast.count(), "the page synthesized instead of showing the error for --nfe 0"
    text = toast.inner_text()
    assert "--nfe must be an integer in [1, 1000], got 0." in text and "Traceback" not in text, text
    assert page.locator("#synth-info textarea, #synth-info input").first.input_value() == ""


def test_editing_in_the_browser(page):
    page.get_by_role("tab", name="Editing").click()
    _upload(page, "edit-recording", DEMO_PROMPT)
    _fill(page, "edit-transcript", DEMO_TEXT)
    _fill(page, "edit-new-transcript", DEMO_TEXT.replace("smooth planks", "wooden planks"))
    page.locator("#edit-options").get_by_text("Model options").click()
    _fill(page, "edit-flow-nfe", "8")
    _fill(page, "edit-seed", "0")
    page.locator("#edit-button").click()
    summary = _wait_for_result(page, "edit")
    wav, rate = _result_audio(page, "edit")
    source = sf.info(DEMO_PROMPT).duration
    assert rate == 24000 and abs(len(wav) / rate - source) < 1.5
    assert len(wav) / rate == pytest.approx(_seconds_of_audio(summary), abs=0.01)
    _screenshot(page, "web-editing.png")


def test_picking_a_model_shows_its_own_option_defaults(page):
    """tiny-maskgct's model.yaml sets steps 10 (the family's default is 25): its widget shows 10."""
    page.locator("#synth-model input").first.click()
    page.get_by_role("option", name="tiny-maskgct (maskgct)").click()
    page.locator("#synth-options").get_by_text("Model options").click()
    steps = page.locator("#synth-maskgct-steps textarea, #synth-maskgct-steps input").first
    steps.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("() => { const f = document.querySelector('#synth-maskgct-steps textarea, "
                           "#synth-maskgct-steps input'); return f && f.value === '10'; }", timeout=30_000)
    top_k = page.locator("#synth-maskgct-top_k textarea, #synth-maskgct-top_k input").first
    assert steps.input_value() == "10" and top_k.input_value() == "20"  # its own, then the family's
