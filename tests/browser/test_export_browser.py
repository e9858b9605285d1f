"""The exported report in headless Chromium: opened from ``file://``, links followed, stored scripts sandboxed.

A stored page's script runs inside its sandboxed iframe but cannot reach the report (parent, top, cookies);
nothing is fetched from the network; light and dark (``prefers-color-scheme``) screenshots go to
``build/screenshots/``. The reports are built by ``tests/test_export.py``'s helpers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from labkit import SHOTS, chromium_fixture
from test_export import HEADING, against, fill

from perf_storage_nb import LocalStorage
from perf_storage_nb.export import export_report

pytestmark = pytest.mark.browser

chromium = chromium_fixture()
__all__ = ["against"]  # a fixture this module uses, defined beside the export tests


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_in_headless_chromium(tmp_path: Path, chromium: Any, scheme: str) -> None:
    s = fill(tmp_path / "store")
    export_report(s, "exp1", tmp_path / "report")
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 800})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    try:
        page.goto((tmp_path / "report" / "index.html").as_uri())
        assert page.title() == "Session exp1"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(17, 17, 17)")
        page.screenshot(path=str(SHOTS / f"export_index_{scheme}.png"), full_page=True)
        page.click("text=item_001")
        page.wait_for_selector("text=results/metrics.json")
        page.screenshot(path=str(SHOTS / f"export_target_{scheme}.png"), full_page=True)
        page.click("a:has-text('report.html')")
        frame = page.frame_locator("iframe[sandbox]")
        frame.locator("h1", has_text=HEADING).wait_for(timeout=30_000)
        probe = frame.locator("#probe")
        probe.wait_for()
        text = probe.inner_text()
        assert text.startswith("script ran;")  # stored scripts run...
        assert "parent: blocked" in text and "top: blocked" in text  # ...but cannot reach the report
        assert "cookie: blocked" in text or "cookie: none" in text
        assert page.title() == "exp1/item_001:report.html"
        assert page.evaluate("document.body.getAttribute('data-pwned')") is None
        page.screenshot(path=str(SHOTS / f"export_key_html_{scheme}.png"), full_page=True)
        page.click("nav a:has-text('item_001')")
        page.click("a:has-text('notes.md')")
        page.wait_for_selector("table >> text=run")  # Markdown rendered by the display layer
        page.screenshot(path=str(SHOTS / f"export_key_markdown_{scheme}.png"), full_page=True)
        page.go_back()
        page.click("a:has-text('results/metrics.json')")
        page.wait_for_selector("text=p50_ms")
        page.screenshot(path=str(SHOTS / f"export_key_json_{scheme}.png"), full_page=True)
        page.click("nav a:has-text('report')")
        assert page.title() == "Session exp1"
    finally:
        context.close()
    fetched = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
    assert fetched == []  # no server, no network


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_baseline_report_in_headless_chromium(against: Path, chromium: Any, scheme: str) -> None:
    s = LocalStorage("exp1", "item_001", root=against / "store")
    export_report(s, "exp1", against / "report", against="base", compare_options={"tol": "5%"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        page.goto((against / "report" / "index.html").as_uri())
        assert page.title() == "Session exp1 against base"
        page.screenshot(path=str(SHOTS / f"export_against_index_{scheme}.png"), full_page=True)
        page.click("a:has(.psnb-badge:has-text('changed'))")  # a matrix cell -> that key's diff page
        page.wait_for_selector("text=p50_ms")
        assert "results/metrics.json: base → exp1" in page.title()
        page.screenshot(path=str(SHOTS / f"export_against_diff_{scheme}.png"), full_page=True)
    finally:
        context.close()
