"""StorageBrowser in a real JupyterLab page driven by headless Debian Chromium (Playwright, no browser download).

The test starts JupyterLab on 127.0.0.1 with a token, runs a notebook that stores an HTML page (a known
heading plus a ``<script>`` that tries to reach the notebook page) and opens the browser widget, selects the
key in the widget and checks, inside the preview iframe, that the page rendered, that its script ran, and
that the sandbox kept it away from the notebook page. Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hostile_pages import probing_page
from labkit import SHOTS, Lab, chromium_fixture, lab_fixture, notebook, open_notebook, run_cell, write_notebook

from perf_storage_nb import LocalStorage

pytestmark = pytest.mark.browser

lab = lab_fixture()
chromium = chromium_fixture()

HEADING = "Perf Report 7f3a"

# The stored page: its script records what it could do; every attempt on the parent page must fail.
PAGE = probing_page(HEADING, title="perf report", mark="data-psnb-pwned") + "\n"


def _notebook(root: Path) -> dict[str, object]:
    return notebook(
        "\n".join(
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
    )


@pytest.fixture(scope="module")
def store(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local storage root the notebook ``browse.ipynb`` fills and browses."""
    root = tmp_path_factory.mktemp("store")
    write_notebook(lab, "browse.ipynb", _notebook(root))
    return root


def _open_and_run(page: Any, lab: Lab) -> None:
    """Open the notebook, wait for its kernel, run the cell until the browser widget shows (bounded retries)."""
    open_notebook(page, lab, "browse.ipynb")
    run_cell(page, 0, ".psnb-keys select")


def test_preview_renders_the_stored_page_sandboxed(lab: Lab, store: Path, chromium: Any) -> None:
    """Select the HTML key in the widget: the heading shows in the iframe, its script cannot touch the page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
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

        # The untrusted-notebook fallback stays hidden where the frame is shown (a widget keeps `hidden`).
        assert page.locator(".psnb-preview .psnb-untrusted").count() == 1
        assert not page.locator(".psnb-preview .psnb-untrusted").is_visible()
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


def test_key_deleted_meanwhile_shows_one_visible_line(lab: Lab, store: Path, chromium: Any) -> None:
    """A key removed behind the widget's back gives a one-line message in the page, and the widget keeps working."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open_and_run(page, lab)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.psnb-keys select option')].some(o => o.textContent === "
            "'metrics.json')",
            timeout=60_000,
        )
        LocalStorage("demo", "pages", root=store).delete("metrics.json")  # another process deletes it
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
