"""What users see, in a real JupyterLab (light and dark theme) driven by headless Chromium; screenshots kept.

A gallery notebook (``show`` of a stored HTML page, with and without ``--height``; a diff with a multi-line
string change and numeric changes; a batch result; a session comparison; a JSON tree; ``%storage help``) is
executed once with nbclient and opened twice: signed (trusted, as after running it) and unsigned (untrusted,
as when reopened from git: Lab's sanitizer strips iframes, scripts, ``<style>`` and ``var()`` colours). The
widget browser runs live in a narrow window. Every output is saved under ``build/screenshots/`` as
``<theme>-<trust>-<name>.png``; the checks below are what the screenshots showed was wrong before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import (
    CONTRAST_JS,
    REPO,
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

from perf_storage_nb.display.frames import AUTO_MAX_HEIGHT, DEFAULT_HEIGHT, TRUST_HINT

pytestmark = pytest.mark.browser

lab = lab_fixture()
chromium = chromium_fixture()

PAGE_LINES = 14
PAGE = (
    "<!doctype html><html><head><title>Nightly perf</title>"
    "<style>body{font:15px sans-serif;margin:12px} p{margin:0 0 10px}</style></head><body>"
    "<h1 id='top'>Nightly perf report</h1>"
    + "".join(f"<p>line {i}: p50 {10 + i} ms, p99 {40 + i} ms</p>" for i in range(PAGE_LINES))
    + "<p id='end'>end of report</p></body></html>"
)
# A page that tries the notebook page and lies about its height: the sandbox blocks the one, the clamp the other.
HOSTILE = (
    "<!doctype html><html><body><h1>hostile</h1><p id='probe'>script did not run</p><script>"
    "var r=[];try{parent.document.body.setAttribute('data-psnb-pwned','1');r.push('parent: WRITTEN');}"
    "catch(e){r.push('parent: blocked');}"
    "setInterval(function(){parent.postMessage({psnbHeight:1e9},'*');parent.postMessage('psnb-height?','*');},50);"
    "document.getElementById('probe').textContent='script ran; '+r.join('; ');</script></body></html>"
)
NOTES_BEFORE = "warm-up: 3 runs\nmeasured: 10 runs\n    cpu pinned: yes\nnotes: none\n"
NOTES_AFTER = "warm-up: 5 runs\nmeasured: 10 runs\n    cpu pinned: no (shared runner)\nnotes: none\nextra line\n"

SETUP = f"""%load_ext perf_storage_nb
%config StorageMagics.deterministic = True
from perf_storage_nb import LocalStorage, MemoryStorage
from perf_storage_nb.diff import diff_keys
from perf_storage_nb.workflows import BatchResult, ItemResult, compare_sessions
storage = LocalStorage("exp", "run1", root=STORE)
storage.save_string("report.html", {PAGE!r})
storage.save_string("hostile.html", {HOSTILE!r})
storage.save("metrics.json", {{"latency": {{"p50_ms": 12.5, "p99_ms": 48.0}}, "ok": True, "host": "ci-7",
                              "runs": [1, 2, None], "tags": {{"branch": "main"}}}})
run1 = {{"p50_ms": 10.0, "p99_ms": 40.0, "notes": {NOTES_BEFORE!r}, "ok": True}}
run2 = {{"p50_ms": 10.4, "p99_ms": 52.0, "notes": {NOTES_AFTER!r}, "ok": True, "gc": 3}}
storage.save("bench.json", run1)
storage.for_target("run2").save("bench.json", run2)
%storage use storage"""

#: (name, source) of the cells after the set-up cell; the name is the screenshot's
CELLS = [
    ("show", "%storage show report.html"),
    ("show-height", "%storage show report.html --height 150"),
    ("show-hostile", "%storage show hostile.html"),
    ("diff", 'diff_keys(storage, "bench.json", storage.for_target("run2"), "bench.json")'),
    (
        "batch",
        'BatchResult("nightly", [ItemResult(0, "https://example.org/a", "example-org-a", "done"), '
        'ItemResult(1, "https://example.org/b", "example-org-b", "skipped", note="outputs exist"), '
        'ItemResult(2, "https://example.org/c", "example-org-c", "failed", '
        'error=TimeoutError("no answer in 30 s from https://example.org/c")), '
        'ItemResult(3, "https://example.org/d", "example-org-d", "not_run", note="stopped after a failure")])',
    ),
    (
        "comparison",
        'cmp = MemoryStorage("base", "svc-a")\n'
        'cmp.save("m.json", {"p50_ms": 10.0, "rps": 900, "errors": 0})\n'
        'cmp.for_target("svc-b").save("m.json", {"p50_ms": 20.0, "rps": 400, "errors": 1})\n'
        'cmp.for_session("new", "svc-a").save("m.json", {"p50_ms": 12.0, "rps": 1000, "errors": 0})\n'
        'cmp.for_session("new", "svc-b").save("m.json", {"p50_ms": 20.2, "rps": 300, "errors": 1})\n'
        'compare_sessions(cmp.for_session("new", "svc-a"), "base", key="m.json", higher_is_better=["rps"])',
    ),
    ("json", "%storage show metrics.json"),
    ("help", "%storage help"),
]


def _execute(path: Path, store: Path) -> dict[str, Any]:
    """Run the gallery once (nbclient, a python3 kernel importing this checkout); returns the notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.from_dict(
        notebook(SETUP.replace("root=STORE", f"root={str(store)!r}"), *(source for _, source in CELLS))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path)}}).execute(env=env)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    return dict(json.loads(nbformat.writes(nb)))


@pytest.fixture(scope="module")
def gallery(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The executed gallery twice: ``trusted`` (signed with the server's key) and ``untrusted`` (not signed)."""
    nb = _execute(lab.root, tmp_path_factory.mktemp("gallery-store"))
    trusted = write_notebook(lab, "gallery-trusted.ipynb", nb)
    lab.trust(trusted)
    # Another notebook's content (one metadata field): the signature database must not know its digest.
    nb["metadata"]["psnb_copy"] = "reopened from git"
    write_notebook(lab, "gallery-untrusted.ipynb", nb)
    return {"trusted": trusted.name, "untrusted": "gallery-untrusted.ipynb", "nb": nb}


def _outputs(page: Any) -> list[Any]:
    """The output area of each gallery cell (set-up cell excluded), in order."""
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    cells.nth(len(CELLS)).locator(".jp-OutputArea-output").first.wait_for(timeout=60_000)
    return [cells.nth(i + 1).locator(".jp-OutputArea") for i in range(len(CELLS))]


@pytest.fixture
def page_for(chromium: Any) -> Iterator[Any]:
    """A factory of fresh pages (own context each), closed at the end of the test."""
    contexts: list[Any] = []

    def make(width: int = 1200, height: int = 900) -> Any:
        context = chromium.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _shoot_gallery(page: Any, theme: str, trust: str) -> dict[str, Any]:
    outputs = _outputs(page)
    page.wait_for_timeout(800)  # iframes load and size themselves
    found = {}
    for (name, _source), output in zip(CELLS, outputs, strict=True):
        output.scroll_into_view_if_needed()
        output.screenshot(path=str(SHOTS / f"{theme}-{trust}-{name}.png"))
        found[name] = output
    page.screenshot(path=str(SHOTS / f"{theme}-{trust}-page.png"))
    return found


def _text_plain(nb: dict[str, Any], name: str) -> str:
    cell = nb["cells"][1 + [n for n, _ in CELLS].index(name)]
    return "".join(next(o for o in cell["outputs"] if "data" in o)["data"]["text/plain"])


def _check_show_trusted(outputs: dict[str, Any], page: Any) -> None:
    """The page in its frame, sized to the page (no inner scrolling); --height fixes it; no fallback shown."""
    shown = outputs["show"]
    frame_el = shown.locator("iframe.psnb-frame")
    assert frame_el.count() == 1 and not shown.locator(".psnb-untrusted").is_visible()
    page.wait_for_function(
        "(el) => el.getAttribute('data-psnb-sized') !== null", arg=frame_el.element_handle(), timeout=15_000
    )
    height = frame_el.evaluate("e => e.clientHeight")
    assert height > DEFAULT_HEIGHT, height  # the page is taller than the starting height: the frame grew
    inner = frame_el.content_frame.locator("html")
    sizes = inner.evaluate("e => [e.scrollHeight, window.innerHeight]")
    assert sizes[0] <= sizes[1] + 1, sizes  # all of the page shows: nothing to scroll inside the frame
    hostile = outputs["show-hostile"].locator("iframe.psnb-frame")
    probe = hostile.content_frame.locator("#probe")
    probe.wait_for(timeout=10_000)
    assert (probe.text_content() or "") == "script ran; parent: blocked"
    assert page.evaluate("document.body.getAttribute('data-psnb-pwned')") is None
    page.wait_for_function(
        "(el) => el.getAttribute('data-psnb-sized') !== null", arg=hostile.element_handle(), timeout=15_000
    )
    assert hostile.evaluate("e => e.clientHeight") == AUTO_MAX_HEIGHT  # a lie about the height is clamped
    fixed = outputs["show-height"].locator("iframe.psnb-frame")
    assert fixed.evaluate("e => [e.clientHeight, e.getAttribute('data-psnb-sized')]") == [150, None]
    assert fixed.content_frame.locator("h1").is_visible()


def _check_show_untrusted(outputs: dict[str, Any], nb: dict[str, Any]) -> None:
    """The sanitizer removed the frame: the text twin and the hint show instead."""
    for name in ("show", "show-height", "show-hostile"):
        out = outputs[name]
        assert out.locator("iframe").count() == 0 and out.locator("script").count() == 0
        fallback = out.locator(".psnb-untrusted")
        assert fallback.is_visible()
        assert fallback.locator("div").first.text_content() == TRUST_HINT
        assert fallback.locator("pre").text_content() == _text_plain(nb, name)


def _check_diff(out: Any) -> None:
    """Short column labels (whole label in the tooltip), a left-aligned monospace text diff, unwrapped badges."""
    headers = out.locator("th[title]")
    assert headers.count() == 2
    for i, target in enumerate(("run1", "run2")):
        assert headers.nth(i).text_content() == f"…/{target}:bench.json"
        assert (headers.nth(i).get_attribute("title") or "").startswith("file:///")
    text_diff = out.locator("pre.psnb-text-diff")
    style = text_diff.evaluate(
        "e => { const s = getComputedStyle(e); return [s.textAlign, s.whiteSpace, s.fontFamily]; }"
    )
    assert style[:2] == ["left", "pre-wrap"] and "mono" in style[2].lower(), style
    assert "    cpu pinned: yes" in (text_diff.text_content() or "")  # leading whitespace kept
    for badge in out.locator(".psnb-badge").all():
        assert badge.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"


def _check_help(out: Any) -> None:
    """%storage help grows with its text instead of scrolling in a 420 px box."""
    box = out.locator(".psnb-text")
    sizes = box.evaluate("e => [e.scrollHeight, e.clientHeight]")
    assert sizes[0] <= sizes[1] + 1 and sizes[1] > 420, sizes


def _check_contrast(outputs: dict[str, Any], where: str) -> None:
    """Every text run of every output reads against what is really behind it (WCAG AA: 4.5:1)."""
    for name, out in outputs.items():
        worst = out.evaluate(CONTRAST_JS)
        low = [w for w in worst if w["ratio"] < 4.5]
        assert not low, (where, name, low[:3])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_gallery(lab: Lab, gallery: dict[str, Any], page_for: Any, theme: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for trust in ("trusted", "untrusted"):
        page = page_for()
        open_notebook(page, lab, gallery[trust], kernel=False)
        set_theme(page, theme)
        try:
            outputs = _shoot_gallery(page, theme, trust)
            if trust == "trusted":
                _check_show_trusted(outputs, page)
            else:
                _check_show_untrusted(outputs, gallery["nb"])
            _check_diff(outputs["diff"])
            _check_help(outputs["help"])
            _check_contrast(outputs, f"{theme}-{trust}")
        except Exception:
            page.screenshot(path=str(SHOTS / f"{theme}-{trust}-FAILED.png"), full_page=True)
            raise


BROWSE_SETUP = """from perf_storage_nb import LocalStorage
from perf_storage_nb.notebook.browser import StorageBrowser
storage = LocalStorage("exp", "run1", root=STORE)
storage.save_string("report.html", PAGE)
storage.save("results/bench.json", RUN1)
storage.for_target("run2").save("results/bench.json", RUN2)
first = StorageBrowser(storage)
first"""


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return inner["x"] >= outer["x"] - 1 and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_browser_in_a_narrow_notebook(
    lab: Lab, page_for: Any, theme: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """~500 px of output width: every control and the Diff tab stay inside the browser (rows wrap, tables
    scroll); opening a second browser leaves a visible line where the first one was."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    run1 = {"p50_ms": 10.0, "p99_ms": 40.0, "notes": NOTES_BEFORE}
    run2 = {"p50_ms": 10.4, "p99_ms": 52.0, "notes": NOTES_AFTER, "gc": 3}
    setup = (
        BROWSE_SETUP.replace("STORE", repr(str(tmp_path_factory.mktemp("narrow-store"))))
        .replace("PAGE", repr(PAGE))
        .replace("RUN1", repr(run1))
        .replace("RUN2", repr(run2))
    )
    name = f"narrow-{theme}.ipynb"
    write_notebook(lab, name, notebook(setup, "second = StorageBrowser(storage)\nsecond"))
    page = page_for(width=600, height=1100)
    open_notebook(page, lab, name)
    set_theme(page, theme)
    run_cell(page, 0, ".psnb-keys select")
    browser = page.locator(".psnb-browser").first
    area = page.locator(".jp-CodeCell").first.locator(".jp-OutputArea-output").first
    page.get_by_role("option", name="results/bench.json").wait_for(timeout=30_000)
    page.locator(".psnb-keys select").first.select_option(label="results/bench.json")
    page.locator(".psnb-preview .psnb-json").first.wait_for(timeout=30_000)
    width = area.bounding_box()["width"]
    assert 400 <= width <= 560, width  # what "a narrow notebook" means here
    box = browser.bounding_box()
    assert _inside(box, area.bounding_box()), (box, area.bounding_box())
    for control in browser.locator("button, select, input").all():
        if control.is_visible():
            assert _inside(control.bounding_box(), box), control.evaluate("e => e.outerHTML.slice(0, 120)")
    browser.screenshot(path=str(SHOTS / f"{theme}-narrow-browser.png"))

    page.locator(".psnb-browser .lm-TabBar-tab", has_text="Diff").first.click()
    page.locator(".psnb-diff-target select").select_option("run2")
    page.locator(".psnb-diff-key input").fill("results/bench.json")
    page.locator(".psnb-diff-run").click()
    view = page.locator(".psnb-diff-view")
    view.locator("table").wait_for(timeout=30_000)
    assert _inside(view.bounding_box(), box)
    overflow = view.evaluate("e => [e.scrollWidth > e.clientWidth, getComputedStyle(e).overflowX]")
    assert not overflow[0] or overflow[1] in ("auto", "scroll"), overflow  # wider tables scroll, never cut off
    text_diff = view.locator("pre.psnb-text-diff")
    align = text_diff.evaluate("e => [getComputedStyle(e).textAlign, getComputedStyle(e).whiteSpace]")
    assert align == ["left", "pre-wrap"], align
    browser.screenshot(path=str(SHOTS / f"{theme}-narrow-browser-diff.png"))

    run_cell(page, 1, ".jp-CodeCell >> nth=1 >> .psnb-keys select")
    closed = page.locator(".jp-CodeCell").first.locator(".psnb-closed")
    closed.wait_for(timeout=30_000)
    assert closed.is_visible() and "a newer StorageBrowser is open" in (closed.text_content() or "")
    assert page.locator(".jp-CodeCell").first.locator(".psnb-keys").count() == 0
    page.locator(".jp-CodeCell").first.screenshot(path=str(SHOTS / f"{theme}-narrow-browser-replaced.png"))
