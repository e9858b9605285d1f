"""The analysis displays in a real JupyterLab page (headless Debian Chromium), in the light and the dark theme.

One cell shows a Comparison, a Matrix, a plot and the "compare sessions" view; the test checks each rendered,
clicks a changed cell of the view and waits for that key's deep diff, and keeps screenshots of both themes
under ``build/screenshots/`` (analysis_light.png, analysis_dark.png and one per display).
"""

from __future__ import annotations

import re
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


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_analysis_displays_render_in_both_themes(lab: Lab, chromium: Any, theme: str) -> None:
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
    write_notebook(lab, "analysis.ipynb", notebook(CELL))
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    try:
        open_notebook(page, lab, "analysis.ipynb")
        set_theme(page, theme)
        run_cell(page, 0, ".psnb-compare-view", attempts=3)
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
