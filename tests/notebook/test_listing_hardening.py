"""``ls`` is list-like and globs like the browser filter; one size for a key in save, show, ls -l and info (#11)."""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import BaseStorage, LocalStorage, MemoryStorage, addressing
from perf_storage_nb.notebook.render import KeyListing, human_size

_ids = itertools.count()


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "perf_storage_nb")
    yield ip
    ip.run_line_magic("unload_ext", "perf_storage_nb")


def adopt(ip: InteractiveShell, storage: BaseStorage, feedback: int = 0) -> InteractiveShell:
    ip.run_line_magic("config", f"StorageMagics.feedback = {feedback}")
    ip.user_ns["_ls_store"] = storage
    ip.run_line_magic("storage", "use _ls_store")
    return ip


@pytest.fixture
def ip(shell: InteractiveShell) -> InteractiveShell:
    store = MemoryStorage(f"exp{next(_ids)}", "main")
    for key in ("a.json", "b.JSON", "notes.md", "results/r1.json", "results/deep/r2.json", "results/page.html"):
        store.save(key, 1)
    store.for_target("page2").save_string("index.html", "<p>x</p>")
    store.for_target("page2").save("data.json", 2)
    return adopt(shell, store)


def ls(ip: InteractiveShell, line: str = "") -> Any:
    return ip.run_line_magic("storage", f"ls {line}".strip())


def test_ls_result_is_a_list_of_names(ip: InteractiveShell) -> None:
    x = ls(ip)
    names = ["a.json", "b.JSON", "notes.md", "results/deep/r2.json", "results/page.html", "results/r1.json"]
    assert len(x) == 6 and list(x) == names and x[0] == "a.json" and x[-1] == "results/r1.json"
    assert [k.upper() for k in x] == [n.upper() for n in names] and x == names and names == x
    assert json.loads(json.dumps(x)) == names and sorted(x) == names and "notes.md" in x
    assert x[1:3] == ["b.JSON", "notes.md"]


def test_ls_still_displays_as_the_listing(ip: InteractiveShell) -> None:
    x = ls(ip, "results/")
    bundle, _ = ip.display_formatter.format(x)
    assert isinstance(x.listing, KeyListing)
    assert bundle["text/plain"] == x.listing.text() and bundle["text/plain"].startswith("memory://")
    assert bundle["text/html"] == x.listing._repr_html_()
    long = ls(ip, "-l results/")
    assert long == ["results/deep/r2.json", "results/page.html", "results/r1.json"]
    assert ip.display_formatter.format(long)[0]["text/plain"] == long.listing.text()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "*.json",
            ["a.json", "b.JSON", "results/deep/r2.json", "results/r1.json"],
        ),  # case-insensitive, like the filter
        ("results/*", ["results/deep/r2.json", "results/page.html", "results/r1.json"]),
        ("results/r?.json", ["results/r1.json"]),
        ("[ab].*", ["a.json", "b.JSON"]),
        ("*.csv", []),
    ],
)
def test_ls_globs_like_the_browser_filter(ip: InteractiveShell, pattern: str, expected: list[str]) -> None:
    assert ls(ip, pattern) == expected
    every = ls(ip)
    assert addressing.filter_keys(every, pattern) == expected  # one helper for both


def test_the_browser_filter_is_the_same_helper() -> None:
    browser = pytest.importorskip("perf_storage_nb.notebook.browser", reason="ipywidgets is not installed")
    assert browser.filter_keys is addressing.filter_keys


def test_ls_glob_in_another_target(ip: InteractiveShell) -> None:
    session = ip.user_ns["_ls_store"].session_id
    assert ls(ip, f"{session}/page2:*.html") == ["index.html"]
    assert ls(ip, f"-l {session}/page2:*") == ["data.json", "index.html"]


def test_an_empty_glob_says_so(ip: InteractiveShell) -> None:
    x = ls(ip, "*.csv")
    assert x == [] and x.text().endswith("no key matches '*.csv'")


def test_a_prefix_naming_a_session_target_says_what_was_meant(ip: InteractiveShell) -> None:
    session = ip.user_ns["_ls_store"].session_id
    x = ls(ip, f"{session}/page2")
    assert x == []
    hint = f"did you mean %storage ls {session}/page2: ?"
    assert x.text().splitlines()[-1].endswith(hint) and hint in x._repr_html_()
    assert f"{session} is a session: %storage targets {session}" in ls(ip, session).text()
    nothing = ls(ip, "zzz")
    assert nothing == [] and nothing.text().endswith("(prefix 'zzz'): no keys")  # a plain prefix: said in the listing


@pytest.mark.parametrize(
    ("line", "needle"), [("a//*", "empty segment"), ("../*", "'..' segment"), ("a/b/c:*", "SESSION")]
)
def test_bad_patterns_are_one_line_usage_errors(ip: InteractiveShell, line: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        ls(ip, line)
    assert type(info.value) is UsageError and needle in str(info.value) and "\n" not in str(info.value)


_SEGMENT = st.from_regex(r"[a-cA-C0-9_][a-cA-C0-9_.-]{0,5}", fullmatch=True)
_KEYS = st.lists(st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join), min_size=1, max_size=12, unique=True)
_PATTERN = st.lists(st.one_of(st.sampled_from(["*", "?", "/", ".", "[ab]", "[!a]"]), _SEGMENT), min_size=1, max_size=5)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=_KEYS, parts=_PATTERN)
def test_ls_of_any_glob_is_fnmatch_ignoring_case(shell: InteractiveShell, keys: list[str], parts: list[str]) -> None:
    pattern = "".join(parts)
    if not addressing.is_glob(pattern):
        pattern += "*"
    store = MemoryStorage(f"glob{next(_ids)}", "t")
    for key in keys:
        store.save(key, 1)
    adopt(shell, store)
    try:
        got = ls(shell, pattern)
    except UsageError as exc:  # a pattern no key could match (e.g. 'a//*'): refused in one line
        assert "\n" not in str(exc)
        return
    assert got == sorted(k for k in keys if fnmatch.fnmatchcase(k.lower(), pattern.lower()))


# ---- one size ---------------------------------------------------------------------------------------------------
def _sizes(ip: InteractiveShell, storage: BaseStorage, key: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The size of ``key`` as save (feedback), show, ls -l and info print it."""
    saved = re.search(r"\((?:json|text|bytes), ([^)]+)\) ->", capsys.readouterr().out)
    assert saved is not None
    shown = re.search(r"<json, ([^>,]+)>", ip.run_line_magic("storage", f"show {key}").text())
    assert shown is not None
    listed = ip.run_line_magic("storage", f"ls -l {key}").text().splitlines()[1].split()
    info = ip.run_line_magic("storage", f"info {key}")
    return [saved.group(1), shown.group(1), f"{listed[2]} {listed[3]}", human_size(info.size)]


VALUE = {"zeta": [1, 2.5, None, True], "alpha": {"name": "Ünïcode ✓", "nested": {"b": 1, "a": [[]]}}, "n": -0.0}


def test_save_show_ls_and_info_print_one_size_for_a_local_json_key(
    shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LocalStorage("sizes", "t", root=tmp_path / "store")
    adopt(shell, store, feedback=1)
    shell.user_ns["v"] = VALUE
    capsys.readouterr()
    shell.run_line_magic("storage", "save m.json v")
    sizes = _sizes(shell, store, "m.json", capsys)
    assert len(set(sizes)) == 1, sizes
    info = store.info("m.json")
    assert info is not None and info.stored_size is not None and info.stored_size > info.size  # pretty on disk


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_JSON)
def test_one_size_for_any_json_value(
    shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: Any
) -> None:
    store = LocalStorage(f"sizes{next(_ids)}", "t", root=tmp_path / "store")
    adopt(shell, store, feedback=1)
    shell.user_ns["v"] = value
    capsys.readouterr()
    shell.run_line_magic("storage", "save k.json v")
    sizes = _sizes(shell, store, "k.json", capsys)
    assert len(set(sizes)) == 1, sizes
