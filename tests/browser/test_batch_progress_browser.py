"""The batch progress bar and result table in a real JupyterLab page (headless Debian Chromium), light and dark.

A notebook runs a parallel batch with one failing item. While it runs the bar is tqdm's widget; once it
ends the page must show the static final state (100 %, done/failed badges) and no leftover widget.
Screenshots of both themes go to ``build/screenshots/`` (look at them).
"""

from __future__ import annotations

from typing import Any

import pytest
from labkit import (
    SHOTS,
    Lab,
    chromium_fixture,
    lab_fixture,
    notebook,
    open_notebook,
    run_cell,
    set_theme,
    write_notebook,
)

pytestmark = pytest.mark.browser

lab = lab_fixture()
chromium = chromium_fixture()

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


def test_finished_batch_shows_its_final_state_in_light_and_dark(lab: Lab, chromium: Any) -> None:
    write_notebook(lab, "batch.ipynb", notebook(CELL))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1100, "height": 800})
    try:
        open_notebook(page, lab, "batch.ipynb")
        run_cell(page, 0, ".jp-OutputArea .widget-hprogress, .jp-OutputArea .psnb-progress")
        summary = page.locator(".jp-OutputArea .psnb-progress")
        summary.wait_for(timeout=60_000)
        page.locator(".jp-OutputArea .psnb-batch").wait_for(timeout=30_000)
        text = summary.inner_text()
        assert "pages" in text and "7 done" in text and "1 failed" in text and "100% · 8/8 items" in text
        assert page.locator(".jp-OutputArea .widget-hprogress").count() == 0  # the live widget is gone
        for theme in ("light", "dark"):
            set_theme(page, theme)
            shot = SHOTS / f"batch_progress_{theme}.png"
            page.locator(".jp-Cell").first.screenshot(path=str(shot))
            assert shot.stat().st_size > 5_000
    finally:
        page.close()
