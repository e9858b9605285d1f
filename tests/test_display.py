"""The display layer: one base (text twin + HTML -> every display method), one palette on JupyterLab variables."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.lib.pretty import pretty

from perf_storage_nb import MemoryStorage
from perf_storage_nb.diff import diff_snapshots, diff_values, snapshot
from perf_storage_nb.display import (
    STATUS_TONES,
    TONES,
    Cell,
    DisplayObject,
    KeyListing,
    RichText,
    Section,
    StorageTree,
    StoredValue,
    badge,
    markdown_html,
    status_badge,
    table,
    theme,
    tone_of,
)
from perf_storage_nb.workflows import BatchResult, ItemResult, SessionComparison, before_after
from perf_storage_nb.workflows.comparison import MetricRow

ROOT = Path(__file__).resolve().parents[1]
JP_VAR = re.compile(r"^var\(--jp-[a-z0-9-]+,[^()]+\)$")


def test_every_tone_maps_to_a_jupyterlab_variable_with_a_fallback() -> None:
    assert set(TONES) == {"good", "bad", "warn", "info", "muted"}
    for tone, colour in TONES.items():
        assert JP_VAR.match(colour), (tone, colour)
    for name in ("TEXT", "TEXT_MUTED", "HEADER_BG", "ZEBRA_BG", "BORDER", "CODE_BG", "CODE_FONT"):
        assert JP_VAR.match(getattr(theme, name)), name
    assert all(JP_VAR.match(colour) for colour in theme.SYNTAX.values())


def test_status_words_have_one_tone_each() -> None:
    assert set(STATUS_TONES.values()) <= set(TONES)
    assert (tone_of("added"), tone_of("removed"), tone_of("changed")) == ("good", "bad", "warn")
    assert (tone_of("done"), tone_of("failed"), tone_of("regressed")) == ("good", "bad", "bad")
    assert tone_of("no such status") == "muted"


def test_badge_keeps_the_theme_text_colour_on_a_tint() -> None:
    html = badge("<3 & more>", "bad")
    assert "&lt;3 &amp; more&gt;</span>" in html
    assert TONES["bad"] in html and "color-mix(" in html
    style = re.search(r"style='([^']*)'", html)
    assert style is not None
    # No white or black text on a solid tone: the text colour is the theme's, the tone is border and tint.
    assert f"color:{theme.TEXT}" in style.group(1)
    assert not re.search(r"(^|;)color:(#fff|white|#000|black)", style.group(1))
    assert status_badge("failed", 2).endswith(">2 failed</span>") and TONES["bad"] in status_badge("failed", 2)


def test_table_escapes_headers_and_spans_sections() -> None:
    html = table(["<k>", "n"], [Section("<code>group</code>"), ["a", Cell("b", colspan=1, align="right")], ["c", "d"]])
    assert "<th " in html and "&lt;k&gt;" in html and "colspan='2'" in html
    assert html.count("<tr") == 4 and "text-align:right" in html


def _display_objects() -> list[DisplayObject]:
    s = MemoryStorage("s", "t")
    s.save("k.json", {"a": 1})
    before = snapshot(s)
    s.save("k.json", {"a": 2})
    with before_after(s, "step", save=False) as ba:
        s.save_string("new.txt", "x")
    batch = BatchResult(
        "b", [ItemResult(0, "u", "t", "done"), ItemResult(1, "v", "t2", "failed", error=ValueError("x"))]
    )
    comparison = SessionComparison("cur", "base", "m.json", [MetricRow("t", "lat", 1.0, 2.0, "regressed", 1.0)])
    return [
        diff_values({"a": 1}, {"a": 2}),
        diff_snapshots(before, snapshot(s)),
        batch,
        comparison,
        ba,
        StoredValue("k.json", "json", {"a": 2}),
        KeyListing("here", [s.info("k.json")], long=True),
        StorageTree("here", [("s", [("t", ["k.json"])])]),
        RichText("text", "<b>html</b>"),
    ]


@pytest.mark.parametrize("index", range(9))
def test_mimebundle_is_the_text_twin_plus_the_html(index: int) -> None:
    obj = _display_objects()[index]
    bundle = obj._repr_mimebundle_()
    assert bundle == {"text/plain": obj._text_twin(), "text/html": obj._repr_html_()}
    assert pretty(obj) == obj._text_twin()
    assert repr(obj) == repr(obj) and len(repr(obj)) < 200


def test_text_twins_are_the_ones_notebooks_compare() -> None:
    diff, _snap, batch, comparison, ba, value, listing, tree, rich = _display_objects()
    assert diff._text_twin() == diff.to_text()  # type: ignore[attr-defined]
    for obj in (batch, comparison, ba):
        assert obj._text_twin() == repr(obj)  # their text/plain has always been the one-line repr
    assert value._text_twin() == value.text()  # type: ignore[attr-defined]
    assert listing._text_twin() == listing.text() and tree._text_twin() == tree.text()  # type: ignore[attr-defined]
    assert rich._text_twin() == "text" and rich._repr_html_() == "<b>html</b>"


_DECL = re.compile(r"\s*([a-z-]+)\s*:\s*(.+)")
_COLOURED = ("color", "background", "background-color", "border-color", "border", "border-left", "border-bottom")


def _declarations(style: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2).strip()) for part in style.split(";") if (m := _DECL.match(part))]


def test_every_colour_in_rendered_output_comes_from_the_palette() -> None:
    """Themed values only; a plain value only as the sanitiser-proof fallback right before its themed twin."""
    for obj in _display_objects():
        page = obj._repr_html_()
        assert "#f5f5f5" not in page and "#fff;" not in page
        for style in re.findall(r"style='([^']*)'", page) + re.findall(r'style="([^"]*)"', page):
            decls = _declarations(style)
            for i, (prop, value) in enumerate(decls):
                if prop not in _COLOURED or not re.search(r"#|rgb|color-mix|var\(", value):
                    continue
                if (prop, value) == ("background", "#fff") and "psnb-frame" in page:
                    continue  # the sandboxed page's own canvas
                if "var(--jp-" in value:
                    continue
                twin = decls[i + 1] if i + 1 < len(decls) else ("", "")
                assert prop != "color", (type(obj).__name__, "a text colour without the theme", value)
                assert twin[0] == prop and theme.plain_fallback(twin[1]) == value, (type(obj).__name__, prop, value)


def test_plain_fallbacks_survive_the_sanitiser_where_var_does_not() -> None:
    """What JupyterLab keeps of an untrusted output's style (checked in tests/browser): plain values, no var()."""
    assert theme.css("background", theme.HEADER_BG) == "background:#8882;background:var(--jp-layout-color2,#8882)"
    assert theme.css("background", theme.tint("bad")).startswith("background:#cf222e29;background:color-mix(")
    assert theme.css("font-family", theme.CODE_FONT).startswith("font-family:monospace;")
    assert theme.css("color", theme.TEXT_MUTED) == f"color:{theme.TEXT_MUTED}"  # text inherits the theme instead
    assert theme.plain_fallback("var(--jp-ui-font-color1,inherit)") is None


def test_markdown_is_commonmark_with_tables_and_stays_safe() -> None:
    out = markdown_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n![pic](https://e.x/p.png) [d](data:text/html,x) <i>raw</i>")
    assert "<table>" in out and "<td>1</td>" in out
    assert "<img" not in out and '<a href="https://e.x/p.png"' in out  # images become links: no fetches
    assert 'href="data:' not in out and "&lt;i&gt;raw&lt;/i&gt;" in out


def test_importing_the_package_does_not_import_markdown_it() -> None:
    code = "import sys, perf_storage_nb, perf_storage_nb.display; print('markdown_it' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "False"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_display_layer_knows_no_storage() -> None:
    """display/ sits below the base contract: it never imports base, backends, features or the notebook face."""
    forbidden = ("..", "perf_storage_nb", "IPython", "ipywidgets")
    for path in sorted((ROOT / "perf_storage_nb" / "display").glob("*.py")):
        bad = [m for m in _imports(path) if m.startswith(forbidden)]
        assert not bad, (path.name, bad)


def test_display_objects_are_deterministic() -> None:
    first = [(o._text_twin(), o._repr_html_()) for o in _display_objects()[2:4]]
    assert first == [(o._text_twin(), o._repr_html_()) for o in _display_objects()[2:4]]
