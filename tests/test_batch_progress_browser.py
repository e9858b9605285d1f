"""The batch progress bar and result table in a real JupyterLab page (headless Debian Chromium), light and dark.

A notebook runs a parallel batch with one failing item. While it runs the bar is tqdm's widget; once it
ends the page must show the static final state (100 %, done/failed badges) and no leftover widget.
Screenshots of both themes go to ``build/screenshots/`` (look at them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
CELL = """\
import tempfile, time
from perf_storage_nb import LocalStorage
from perf_storage_nb.workflows import run_batch


def process(item, store):
    time.sleep(0.3)
    if item == "page-3":
        raise ValueError("page 3 is broken")
    store.save_string("output/rendered.html", item)


storage = LocalStorage("shots", "setup", root=tempfile.mkdtemp())
result = run_batch(storage, [f"page-{n}" for n in range(8)], process, target_id=str, workers=4, desc="pages")
result"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """JupyterLab on 127.0.0.1 (app exposed to the page, to switch themes); stopped at the end."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e '.[test]')")
    base = tmp_path_factory.mktemp("lab")
    root, state = base / "nb", base / "state"
    root.mkdir()
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "batch", "metadata": {}, "outputs": [],
                   "source": CELL}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    (root / "batch.ipynb").write_text(json.dumps(nb))
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "rt"), "JUPYTERLAB_SETTINGS_DIR": str(state / "s"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "w")}  # fmt: skip
    log = (base / "lab.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.expose_app_in_browser=True"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (base / "lab.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer in 90 s"
            time.sleep(0.3)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_finished_batch_shows_its_final_state_in_light_and_dark(lab: tuple[str, str]) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_chromium.sh as root (make test does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(f"{url}/lab/tree/batch.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.get_by_text(re.compile(r"^Python 3.*\| Idle$")).wait_for(timeout=60_000)
            page.locator(".jp-Cell .cm-content").first.click()
            page.keyboard.press("Control+Enter")
            page.locator(".jp-OutputArea .widget-hprogress, .jp-OutputArea .psnb-progress").first.wait_for(
                timeout=60_000
            )
            summary = page.locator(".jp-OutputArea .psnb-progress")
            summary.wait_for(timeout=60_000)
            page.locator(".jp-OutputArea .psnb-batch").wait_for(timeout=30_000)
            text = summary.inner_text()
            assert "pages" in text and "7 done" in text and "1 failed" in text and "100% · 8/8 items" in text
            assert page.locator(".jp-OutputArea .widget-hprogress").count() == 0  # the live widget is gone
            for theme in ("JupyterLab Light", "JupyterLab Dark"):
                page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
                page.wait_for_function("t => document.body.dataset.jpThemeName === t", arg=theme, timeout=30_000)
                time.sleep(0.5)  # let the theme's CSS variables apply
                name = "light" if "Light" in theme else "dark"
                page.locator(".jp-Cell").first.screenshot(path=str(SHOTS / f"batch_progress_{name}.png"))
                assert (SHOTS / f"batch_progress_{name}.png").stat().st_size > 5_000
        finally:
            browser.close()
