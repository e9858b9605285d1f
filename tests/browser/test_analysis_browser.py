"""The analysis displays in a real JupyterLab page (headless Debian Chromium), in the light and the dark theme.

One cell shows a Comparison, a Matrix, a plot and the "compare sessions" view; the test checks each rendered,
clicks a changed cell of the view and waits for that key's deep diff, and keeps screenshots of both themes
under ``build/screenshots/`` (analysis_light.png, analysis_dark.png and one per display).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import CHROMIUM, CHROMIUM_ARGS, REPO, SHOTS
from labkit import free_port as _free_port

pytestmark = pytest.mark.browser

CELL = """
from IPython.display import display
from perf_storage_nb import MemoryStorage
from perf_storage_nb.analysis import compare, matrix, plot
from perf_storage_nb.notebook.browser import StorageBrowser
s = MemoryStorage("base", "p00", name="shots")
for sess, f in (("base", 1.0), ("cand", 1.3)):
    for i in range(8):
        t = s.for_session(sess, f"p{i:02d}")
        t.save("results/timings.json", {"ms": [(10 + i) * (f if i == 3 else 1.0) + j * 0.01 for j in range(6)],
                                         "nodes": 10 + i + (1 if sess == "cand" and i == 5 else 0)})
        t.save_string("output/page.html", "<p>a</p>" if (sess == "base" or i != 3) else "<p>b</p>")
display(compare(s, "base", "cand", "results/timings.json", tol="5%"))
display(matrix(s, "base", "cand", stages=("output/", "results/")))
display(plot(s, "results/timings.json", "ms", sessions=["base", "cand"]))
StorageBrowser(s).compare_sessions("base", "cand")
"""


def _notebook() -> dict[str, object]:
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": CELL}
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _theme(settings: Path, theme: str) -> None:
    folder = settings / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab on 127.0.0.1 with the notebook; yields (url, token, settings dir); stopped at the end."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e '.[test]')")
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
    base = tmp_path_factory.mktemp("lab_analysis")
    root, state = base / "nb", base / "state"
    root.mkdir()
    (root / "analysis.ipynb").write_text(json.dumps(_notebook(), indent=1))
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    )
    log = (base / "lab.log").open("wb")
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root"]
    command += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{(base / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in 90 s:\n{(base / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, token, state / "settings"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install_chromium.sh as root (make test does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_analysis_displays_render_in_both_themes(lab: tuple[str, str, Path], chromium: object, theme: str) -> None:
    url, token, settings = lab
    _theme(settings, "JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 2200})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        page.goto(f"{url}/lab/tree/analysis.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.get_by_text(re.compile(r"^Python 3.*\| Idle$")).wait_for(timeout=60_000)
        for _attempt in range(3):
            page.locator(".jp-Cell .cm-content").first.click()
            page.keyboard.press("Control+Enter")
            try:
                page.locator(".psnb-compare-view").wait_for(timeout=60_000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError; a keypress lost while Lab was busy
                continue
        else:
            raise AssertionError("the compare view did not appear after running the cell 3 times")
        expected = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
        assert page.evaluate("document.body.dataset.jpThemeName") == expected
        comparison = page.locator(".psnb-comparison")
        assert "2 worse" in (comparison.text_content() or "") and comparison.locator(".psnb-bad").count() >= 2
        grid = page.locator(".psnb-matrix").first
        assert "output/" in (grid.text_content() or "")
        image = page.locator(".jp-OutputArea-output img").first
        image.wait_for(timeout=30_000)
        assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 500
        view = page.locator(".psnb-compare-view")
        view.get_by_role("button", name=re.compile("^~ 1 line changed")).click()
        diff = view.locator(".psnb-compare-diff .psnb-diff")
        diff.wait_for(timeout=30_000)
        assert "base/p03:output/page.html" in (diff.text_content() or "")
        assert "Error displaying widget" not in (page.locator(".jp-Notebook").text_content() or "")
        page.screenshot(path=str(SHOTS / f"analysis_{theme}.png"), full_page=True)
        comparison.screenshot(path=str(SHOTS / f"analysis_comparison_{theme}.png"))
        grid.screenshot(path=str(SHOTS / f"analysis_matrix_{theme}.png"))
        view.screenshot(path=str(SHOTS / f"analysis_compare_view_{theme}.png"))
    except Exception:
        page.screenshot(path=str(SHOTS / f"analysis_{theme}_FAILED.png"), full_page=True)
        raise
    finally:
        context.close()
