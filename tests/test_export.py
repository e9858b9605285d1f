"""``perf-storage export``: a static, self-contained HTML report, checked as files and in headless Chromium.

The browser part opens the report from ``file://`` in Debian's Chromium (Playwright, no browser download),
follows the links, checks that a stored page's script runs inside its sandboxed iframe but cannot reach the
report (parent, top, cookies), that nothing is fetched from the network, and takes light and dark
(``prefers-color-scheme``) screenshots under ``build/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hostile_pages import probing_page
from test_cli import clean_env, cli

from perf_storage_nb import LocalStorage
from perf_storage_nb.display import preview_html
from perf_storage_nb.export import export_report
from perf_storage_nb.export.site import MARKER

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "screenshots"
HEADING = "Stored page 5c1e"

# The stored page: its script records what it could do; every attempt on the report must fail.
PAGE = probing_page(HEADING, title="stored page", mark="data-pwned")

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201d1e7e2a40000000049454e44ae426082"
)


def fill(root: Path) -> LocalStorage:
    s = LocalStorage("exp1", "item_001", root=root)
    s.save("results/metrics.json", {"p50_ms": 10.0, "p99_ms": [31.0, 30.5, 32.1], "ok": True})
    s.save_string("report.html", PAGE)
    s.save_string("notes.md", "# Notes\n\n| run | ms |\n|---|---|\n| a | 10 |\n")
    s.save_string("log.txt", "line 1\nline <2> & 'three'\n")
    s.save_bytes("shot.png", PNG_1PX)
    s.save_bytes("blob.bin", bytes(range(64)))
    s.for_target("item_002").save("results/metrics.json", {"p50_ms": 12.5, "p99_ms": [40.0, 41.0, 39.0]})
    return s


def hrefs(html: str) -> list[str]:
    return re.findall(r"href='([^']*)'", html)


def test_export_writes_linked_self_contained_pages(tmp_path: Path) -> None:
    s = fill(tmp_path / "store")
    result = export_report(s, "exp1", tmp_path / "report")
    assert result.targets == 2 and result.keys == 7 and result.pages == 1 + 2 + 7
    pages = sorted(p for p in (tmp_path / "report").rglob("*.html"))
    assert len(pages) == result.pages
    index = (tmp_path / "report" / "index.html").read_text()
    assert "item_001" in index and "item_002" in index and "7 keys" in index
    for page in pages:
        html = page.read_text()
        assert "http://" not in html.replace('"http://www.w3.org', "") and "https://" not in html
        for href in hrefs(html):
            assert (page.parent / href).resolve().is_file(), f"{page}: broken link {href}"
    key_page = (tmp_path / "report" / "targets" / "item_001" / "keys" / "report.html.html").read_text()
    # the preview is the display layer's, exactly as %storage show renders it
    assert preview_html("text", PAGE, "report.html", max_bytes=1_000_000) in key_page
    assert 'sandbox="allow-scripts"' in key_page and "allow-same-origin" not in key_page
    png_page = (tmp_path / "report" / "targets" / "item_001" / "keys" / "shot.png.html").read_text()
    assert "src='data:image/png;base64," in png_page
    assert (tmp_path / "report" / MARKER).exists()


def test_the_report_folder_rules(tmp_path: Path) -> None:
    s = fill(tmp_path / "store")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("not a report")
    refused = cli("export", "exp1", "-o", str(busy), "-L", str(tmp_path / "store"), cwd=tmp_path)
    assert refused.code == 2 and "is not empty and holds no earlier report" in refused.err
    assert sorted(p.name for p in busy.iterdir()) == ["mine.txt"]
    first = export_report(s, "exp1", tmp_path / "report")
    s.for_target("item_002").delete("results/metrics.json")  # the target is gone: its pages must go too
    again = export_report(s, "exp1", tmp_path / "report")  # an earlier report is replaced
    assert again.pages == first.pages - 2 and not (tmp_path / "report" / "targets" / "item_002").exists()
    missing = cli("export", "nosuch", "-o", str(tmp_path / "r2"), "-L", str(tmp_path / "store"), cwd=tmp_path)
    assert missing.code == 2 and "no session 'nosuch'" in missing.err and not (tmp_path / "r2").exists()
    itself = cli("export", "exp1", "--against", "exp1", "-o", "r3", "-L", str(tmp_path / "store"), cwd=tmp_path)
    assert itself.code == 2 and "is the exported session itself" in itself.err and not (tmp_path / "r3").exists()


def test_export_command_line(tmp_path: Path) -> None:
    fill(tmp_path / "perf_results")
    run = cli("export", "exp1", "-o", "build/report", "--json", cwd=tmp_path)
    assert run.code == 0, run.err
    got = run.json()
    assert got["pages"] == 10 and got["index"] == "build/report/index.html" and got["against"] is None
    text = cli("export", "exp1", "-o", "build/report", cwd=tmp_path)
    assert text.code == 0 and text.out.startswith("report of exp1: 2 targets, 7 keys, 10 pages")


def test_an_exported_report_never_holds_the_api_key(tmp_path: Path, cache_server: Any) -> None:
    fill(tmp_path / "src")
    url = f"{cache_server.url}?namespace=export-canary"
    env = clean_env(PERF_STORAGE_API_KEY=cache_server.api_key)
    assert cli("sync", str(tmp_path / "src"), url, cwd=tmp_path, env=env).code == 0
    run = cli("export", "exp1", "-o", "report", "-L", url, cwd=tmp_path, env=env)
    assert run.code == 0 and cache_server.api_key not in run.out + run.err
    for path in (tmp_path / "report").rglob("*"):
        if path.is_file():
            assert cache_server.api_key.encode() not in path.read_bytes(), path
    assert "export-canary" in (tmp_path / "report" / "index.html").read_text()  # the location is named, safely


# ---- against a baseline (needs perf_storage_nb.analysis) --------------------------------------------------------
def fill_baseline(root: Path) -> None:
    b = LocalStorage("base", "item_001", root=root)
    b.save("results/metrics.json", {"p50_ms": 9.0, "p99_ms": [30.0, 30.5, 31.0], "ok": True})
    b.save_string("log.txt", "line 1\nline <2> & 'three'\n")  # same as exp1
    b.save_string("old.txt", "only in the baseline")
    b.for_target("item_002").save("results/metrics.json", {"p50_ms": 12.5, "p99_ms": [40.0, 41.0, 39.0]})


@pytest.fixture
def against(tmp_path: Path) -> Path:
    pytest.importorskip("perf_storage_nb.analysis", reason="needs perf_storage_nb.analysis (the analysis branch)")
    pytest.importorskip("scipy", reason="needs the analysis extra: pip install -e '.[analysis]'")
    fill(tmp_path / "store")
    fill_baseline(tmp_path / "store")
    return tmp_path


def test_export_against_a_baseline_has_the_comparison_the_matrix_and_diffs(against: Path) -> None:
    s = LocalStorage("exp1", "item_001", root=against / "store")
    result = export_report(s, "exp1", against / "report", against="base", compare_options={"tol": "5%"})
    index = (against / "report" / "index.html").read_text()
    assert "<h2>Comparison</h2>" in index and "<b>results/metrics.json</b>" in index and "Matrix against base" in index
    diffs = sorted(str(p.relative_to(against / "report")) for p in (against / "report").rglob("diff/**/*.html"))
    assert "targets/item_001/diff/results/metrics.json.html" in diffs  # changed
    assert "targets/item_001/diff/old.txt.html" in diffs  # only in the baseline
    assert "targets/item_001/diff/report.html.html" in diffs  # only in exp1
    assert not any("log.txt" in d or "item_002" in d for d in diffs)  # equal keys have no diff page
    for page in (against / "report").rglob("*.html"):
        for href in hrefs(page.read_text()):
            assert (page.parent / href).resolve().is_file(), f"{page}: broken link {href}"
    diff_page = (against / "report" / "targets" / "item_001" / "diff" / "results" / "metrics.json.html").read_text()
    assert "root[&#x27;p50_ms&#x27;]" in diff_page and "9.0" in diff_page and "10.0" in diff_page
    assert result.against == "base" and result.regressions >= 1  # p50 9.0 -> 10.0 is worse beyond 5%
    nobase = cli("export", "exp1", "--against", "nosuch", "-o", "r4", "-L", str(against / "store"), cwd=against)
    assert nobase.code == 2 and "no baseline session 'nosuch'" in nobase.err and not (against / "r4").exists()
