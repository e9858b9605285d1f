"""StorageBrowser in a real JupyterLab page driven by headless Debian Chromium (Playwright, no browser download).

The test starts JupyterLab on 127.0.0.1 with a token, runs a notebook that stores an HTML page (a known
heading plus a ``<script>`` that tries to reach the notebook page) and opens the browser widget, selects the
key in the widget and checks, inside the preview iframe, that the page rendered, that its script ran, and
that the sandbox kept it away from the notebook page. Screenshots go to ``build/screenshots/``.
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from perf_storage_nb import LocalStorage

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "screenshots"
HEADING = "Perf Report 7f3a"

# The stored page: its script records what it could do; every attempt on the parent page must fail.
PAGE = f"""<!doctype html>
<html><head><title>perf report</title></head>
<body>
<h1 id="known">{HEADING}</h1>
<p id="probe">script did not run</p>
<script>
var out = [];
try {{ window.parent.document.body.setAttribute("data-psnb-pwned", "parent"); out.push("parent: WRITTEN"); }}
catch (e) {{ out.push("parent: blocked"); }}
try {{ window.top.document.title = "PWNED"; out.push("top: WRITTEN"); }}
catch (e) {{ out.push("top: blocked"); }}
try {{ document.cookie = "psnb=1"; out.push(document.cookie ? "cookie: readable" : "cookie: none"); }}
catch (e) {{ out.push("cookie: blocked"); }}
document.getElementById("probe").textContent = "script ran; " + out.join("; ");
</script>
</body></html>
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _notebook(root: Path) -> dict[str, object]:
    source = "\n".join(
        [
            "from perf_storage_nb import LocalStorage",
            "from perf_storage_nb.notebook.browser import StorageBrowser",
            f"storage = LocalStorage('demo', 'pages', root={str(root)!r})",
            f"storage.save_string('report.html', {PAGE!r})",
            "storage.save('metrics.json', {'ops': 123, 'unit': 'ops/s'})",
            "storage.for_target('other').save('x.json', [1])",
            "StorageBrowser(storage)",
        ]
    )
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "browse",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        ],
        # Without a kernelspec Lab opens a "Select Kernel" dialog that intercepts every click.
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    store: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token and a notebook; stopped at the end."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e '.[test]')")
    base = tmp_path_factory.mktemp("lab")
    root, store, state = base / "nb", base / "store", base / "state"
    root.mkdir()
    (root / "browse.ipynb").write_text(json.dumps(_notebook(store), indent=1))
    token, port = secrets.token_hex(16), _free_port()
    env = dict(os.environ)
    # Keep Lab's runtime files, settings and workspaces out of the user's home; let the kernel import us.
    env.update(
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    )
    log = (base / "lab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--allow-root",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None",
            "--ServerApp.open_browser=False",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
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
                pytest.fail(f"JupyterLab did not answer /api/status in 90 s:\n{(base / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield Lab(url, token, root, store)
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
    """Headless Debian Chromium driven by Playwright."""
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


def _open_and_run(page: object, lab: Lab) -> None:
    """Open the notebook, wait for its kernel, run the cell until the browser widget shows (bounded retries)."""
    page.goto(f"{lab.url}/lab/tree/browse.ipynb?token={lab.token}")  # type: ignore[attr-defined]
    page.wait_for_selector(".jp-Notebook", timeout=60_000)  # type: ignore[attr-defined]
    # The execution indicator says "idle" before the kernel is connected; the status bar waits for it.
    page.get_by_text(re.compile(r"^Python 3.*\| Idle$")).wait_for(timeout=60_000)  # type: ignore[attr-defined]
    for _attempt in range(3):
        page.locator(".jp-Cell .cm-content").first.click()  # type: ignore[attr-defined]
        page.keyboard.press("Control+Enter")  # type: ignore[attr-defined]  # run in place, no new cell
        try:
            page.locator(".psnb-keys select").wait_for(timeout=30_000)  # type: ignore[attr-defined]
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; a keypress lost while Lab was busy
            continue
    raise AssertionError("the StorageBrowser widget did not appear after running the cell 3 times")


def test_preview_renders_the_stored_page_sandboxed(lab: Lab, chromium: object) -> None:
    """Select the HTML key in the widget: the heading shows in the iframe, its script cannot touch the page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        _open_and_run(page, lab)
        keys = page.locator(".psnb-keys select")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.psnb-keys select option')].some(o => o.textContent === "
            "'report.html')",
            timeout=30_000,
        )
        assert page.locator(".psnb-keys select option").all_text_contents() == ["metrics.json", "report.html"]
        keys.select_option(label="report.html")

        frame_el = page.locator(".psnb-preview iframe")
        frame_el.wait_for(timeout=30_000)
        # The sandbox allows scripts but not the notebook's origin: the page's scripts run in an opaque origin.
        assert frame_el.get_attribute("sandbox") == "allow-scripts"
        frame = page.frame_locator(".psnb-preview iframe[sandbox]")
        heading = frame.locator("h1", has_text=HEADING)
        heading.wait_for(state="visible", timeout=30_000)
        assert heading.is_visible()
        probe = frame.locator("#probe")
        probe.wait_for(timeout=10_000)
        text = probe.text_content() or ""
        assert text.startswith("script ran"), text  # the script did run, so "blocked" below means something
        assert "parent: blocked" in text and "top: blocked" in text, text
        assert "WRITTEN" not in text, text
        assert page.evaluate("document.body.getAttribute('data-psnb-pwned')") is None
        assert "PWNED" not in page.title()

        browser_box = page.locator(".psnb-browser")
        assert "Error displaying widget" not in (browser_box.text_content() or "")
        page.screenshot(path=str(SHOTS / "browser_preview.png"))
        browser_box.screenshot(path=str(SHOTS / "browser_widget.png"))
    except Exception:
        page.screenshot(path=str(SHOTS / "browser_preview_FAILED.png"))  # what the page showed, for CI artifacts
        raise
    finally:
        context.close()
    assert not [e for e in page_errors if "psnb" in e.lower()], page_errors


def test_key_deleted_meanwhile_shows_one_visible_line(lab: Lab, chromium: object) -> None:
    """A key removed behind the widget's back gives a one-line message in the page, and the widget keeps working."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    try:
        _open_and_run(page, lab)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.psnb-keys select option')].some(o => o.textContent === "
            "'metrics.json')",
            timeout=60_000,
        )
        LocalStorage("demo", "pages", root=lab.store).delete("metrics.json")  # another process deletes it
        page.locator(".psnb-keys select").select_option(label="metrics.json")
        status = page.locator(".psnb-status")
        status.get_by_text("no longer exists").wait_for(timeout=30_000)
        assert (status.text_content() or "").strip() == (
            "⚠ key 'metrics.json' no longer exists (deleted meanwhile?); the list was refreshed"
        )
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.psnb-keys select option')].some(o => o.textContent === "
            "'metrics.json')",
            timeout=30_000,
        )
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        page.screenshot(path=str(SHOTS / "browser_vanished_key.png"))
    except Exception:
        page.screenshot(path=str(SHOTS / "browser_vanished_key_FAILED.png"))
        raise
    finally:
        context.close()
