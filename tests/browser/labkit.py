"""A real JupyterLab on 127.0.0.1 driven by headless Debian Chromium: the pieces every browser test shares.

Recipe: /work/shared/reference/browser_testing.md (Debian's /usr/bin/chromium through Playwright, no browser
download; Lab started with a token on a free loopback port, its state kept out of the user's home). The app is
exposed in the page (``window.jupyterapp``) so a test can switch the theme with Lab's own command.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass
class Lab:
    """A running JupyterLab server and the folders it uses."""

    url: str
    token: str
    root: Path  # notebooks live here
    data_dir: Path  # JUPYTER_DATA_DIR: the notebook-signing key and trust database
    env: dict[str, str]

    def trust(self, notebook: Path) -> None:
        """Sign ``notebook`` with this server's key (what File -> Trust Notebook does)."""
        subprocess.run(
            [sys.executable, "-m", "jupyter", "trust", str(notebook)], env=self.env, check=True, capture_output=True
        )


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notebook(*sources: str, outputs: list[list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """An nbformat-4 notebook of code cells (with a kernelspec: without it Lab asks for a kernel first)."""
    cells = []
    for i, source in enumerate(sources):
        cells.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": outputs[i] if outputs else [],
                "source": source,
            }
        )
    return {
        "cells": cells,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@contextmanager
def run_lab(base: Path) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token, notebooks under ``base/nb``; stopped on exit."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -e '.[test]')")
    root, state = base / "nb", base / "state"
    root.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_hex(16), free_port()
    env = dict(os.environ)
    # Lab's runtime files, settings, workspaces and trust database stay out of the user's home; the kernel
    # imports this checkout.
    env.update(
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTER_DATA_DIR=str(state / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    )
    # No "Would you like to get notified about Jupyter news?" toast over the outputs of every screenshot.
    notification = state / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    log_path = base / "lab.log"
    log = log_path.open("wb")
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
            "--LabApp.expose_app_in_browser=True",
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
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer /api/status in 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Lab(url, token, root, state / "data", env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@contextmanager
def run_chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (skips with the reason when either is missing)."""
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


def lab_fixture() -> Any:
    """A module-scoped ``lab`` fixture: JupyterLab on 127.0.0.1 with a token, stopped after the module.

    A factory (``lab = lab_fixture()`` in a test module), not a conftest.py: a second conftest module would
    shadow ``from conftest import ...`` of the tests beside it.
    """

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
        with run_lab(tmp_path_factory.mktemp("lab")) as server:
            yield server

    return lab


def chromium_fixture() -> Any:
    """A module-scoped ``chromium`` fixture: headless Debian Chromium driven by Playwright."""

    @pytest.fixture(scope="module")
    def chromium() -> Iterator[Any]:
        with run_chromium() as browser:
            yield browser

    return chromium


def write_notebook(lab: Lab, name: str, nb: dict[str, Any]) -> Path:
    """Write ``nb`` as ``name`` under the server's root; returns its path."""
    path = lab.root / name
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def open_notebook(page: Any, lab: Lab, name: str, *, kernel: bool = True) -> None:
    """Open ``name`` in its own fresh workspace (no tabs restored from another test); wait for the kernel."""
    workspace = re.sub(r"\W", "-", name)
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    # The notebook gets the whole window: no file browser or property inspector beside it.
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }")
    if kernel:
        # The execution indicator says "idle" before the kernel is connected; the status bar waits for it.
        page.get_by_text(re.compile(r"^Python 3.*\| Idle$")).wait_for(timeout=60_000)


def set_theme(page: Any, theme: str) -> None:
    """Switch Lab to ``theme`` ("light" or "dark") with its own command; wait until the page wears it."""
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("(name) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: name})", THEMES[theme])
    want = "false" if theme == "dark" else "true"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{want}'", timeout=30_000)
    page.wait_for_timeout(300)  # let the theme's stylesheet settle before a screenshot


def run_cell(page: Any, index: int, ready: str, attempts: int = 3) -> None:
    """Run cell ``index`` in place until ``ready`` (a selector) appears (bounded retries: a lost keypress)."""
    for _attempt in range(attempts):
        page.locator(".jp-Cell .cm-content").nth(index).click()
        page.keyboard.press("Control+Enter")  # run in place, no new cell
        try:
            page.locator(ready).first.wait_for(timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError; a keypress lost while Lab was busy
            continue
    raise AssertionError(f"{ready!r} did not appear after running cell {index} {attempts} times")


# Contrast of every text run of our outputs against what is really behind it (translucent layers composed),
# WCAG 2 formula. Returns the worst few as {text, ratio, color, background}.
CONTRAST_JS = r"""
(root) => {
  const parse = (c) => {
    let m = c.match(/rgba?\(([^)]+)\)/);
    let scale = 1;
    if (!m) { m = c.match(/color\(srgb ([^)]+)\)/); scale = 255; }
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [top[0]*a + under[0]*(1-a), top[1]*a + under[1]*(1-a), top[2]*a + under[2]*(1-a), 1];
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let acc = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) acc = over(layers[i], acc);
    return acc;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    const bg = background(el);
    const fg = over(parse(style.color) || [0, 0, 0, 1], bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    out.push({text: text.slice(0, 40), ratio: Math.round(ratio * 100) / 100, color: style.color,
              background: 'rgb(' + bg.slice(0, 3).map(Math.round).join(',') + ')'});
  }
  out.sort((a, b) => a.ratio - b.ratio);
  return out;
}
"""
