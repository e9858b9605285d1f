"""%storage / %%storage through a real InteractiveShell, on memory, local and the in-process cache service."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import BaseStorage, KeyInfo, LocalStorage, MemoryStorage
from perf_storage_nb.diff import DiffResult
from perf_storage_nb.notebook.render import KeyListing, RichText, StorageTree, StoredValue

_ids = itertools.count()


def _cache_service(session: str, target: str) -> BaseStorage:
    try:
        from perf_storage_nb.server import client_cache_service
    except ImportError as exc:  # the server extra (mgraph-ai-service-cache) is not installed
        pytest.skip(f"cache service backend needs perf_storage_nb.server + mgraph-ai-service-cache: {exc}")
    return client_cache_service(session, target)


BACKENDS = ["memory", "local", "cache_service"]


def make_backend(name: str, tmp_path: Path, session: str, target: str = "t1") -> BaseStorage:
    if name == "memory":
        return MemoryStorage(session, target)
    if name == "local":
        return LocalStorage(session, target, root=tmp_path / "store")
    return _cache_service(session, target)


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    return ip


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseStorage]:
    storage = make_backend(request.param, tmp_path, f"s{next(_ids)}")
    yield storage
    storage.close()


@pytest.fixture
def ip(shell: InteractiveShell, store: BaseStorage) -> Iterator[InteractiveShell]:
    """The shell with the extension loaded and pointed at a fresh storage of the parametrised backend."""
    shell.run_line_magic("load_ext", "perf_storage_nb")
    shell.user_ns["_store"] = store
    shell.run_line_magic("config", "StorageMagics.feedback = 1")
    shell.run_line_magic("storage", "use _store")
    yield shell
    shell.run_line_magic("unload_ext", "perf_storage_nb")
    for name in ("_store", "x", "y", "v"):
        shell.user_ns.pop(name, None)


def m(ip: InteractiveShell, line: str) -> Any:
    return ip.run_line_magic("storage", line)


def cell(ip: InteractiveShell, line: str, body: str) -> Any:
    return ip.run_cell_magic("storage", line, body)


def run(ip: InteractiveShell, code: str) -> Any:
    result = ip.run_cell(code, store_history=False)
    result.raise_error()
    return result.result


# ---- save / load ----------------------------------------------------------------------------------------
def test_save_and_load_json(ip: InteractiveShell, store: BaseStorage, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    m(ip, "save results/metrics.json {'p50_ms': 12.5, 'runs': [1, 2]}")
    assert "Saved 'results/metrics.json' (json" in capsys.readouterr().out
    assert store.load("results/metrics.json") == {"p50_ms": 12.5, "runs": [1, 2]}
    assert m(ip, "load results/metrics.json") == {"p50_ms": 12.5, "runs": [1, 2]}
    assert run(ip, "x = %storage load results/metrics.json\nx['runs']") == [1, 2]


def test_load_dash_o_binds_variable(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k", [1, 2, 3])
    assert m(ip, "load k -o y") is None
    assert ip.user_ns["y"] == [1, 2, 3]


def test_save_string_and_load_string(ip: InteractiveShell, store: BaseStorage) -> None:
    ip.user_ns["v"] = "<h1>Ünïcode</h1>\n"
    m(ip, "save_string page.html v")
    assert store.load_string("page.html") == "<h1>Ünïcode</h1>\n"
    assert m(ip, "load_string page.html") == "<h1>Ünïcode</h1>\n"


def test_cell_save_string_is_verbatim(ip: InteractiveShell, store: BaseStorage) -> None:
    body = "# Title $x {y}\n\n  indented\t tab ✓\n"
    cell(ip, "save_string notes.md", body)
    assert store.load_string("notes.md") == body


def test_cell_save_parses_json(ip: InteractiveShell, store: BaseStorage) -> None:
    cell(ip, "save cfg.json", '{"a": [1, 2], "b": null}\n')
    assert store.load("cfg.json") == {"a": [1, 2], "b": None}


def test_cell_save_rejects_bad_json_and_stores_nothing(ip: InteractiveShell, store: BaseStorage) -> None:
    with pytest.raises(UsageError, match="not JSON") as info:
        cell(ip, "save cfg.json", "{'a': 1}")
    assert type(info.value) is UsageError
    assert not store.exists("cfg.json")


def test_save_works_inside_functions(ip: InteractiveShell, store: BaseStorage) -> None:
    code = "def f():\n    local_value = {'inside': True}\n    %storage save -q fn.json local_value\n    got = %storage load fn.json\n    return got\nf()"
    assert run(ip, code) == {"inside": True}
    assert store.load("fn.json") == {"inside": True}


def test_trailing_semicolon_silences_output(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k", 5)
    assert run(ip, "%storage load k") == 5
    assert run(ip, "%storage load k;") is None


def test_braces_in_key_insert_a_variable(ip: InteractiveShell, store: BaseStorage) -> None:
    ip.user_ns["x"] = "run7"
    m(ip, "save -q out/{x}.json 1")
    assert store.exists("out/run7.json")


# ---- listing, navigation, info ------------------------------------------------------------------------
def test_ls_lists_keys_with_kind_and_size(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("a.json", {"x": 1})
    store.save_string("b/page.html", "<p>hi</p>")
    listing = m(ip, "ls")
    assert isinstance(listing, KeyListing)
    assert [r.key for r in listing.rows] == ["a.json", "b/page.html"]
    assert repr(listing) == f"KeyListing({store.describe()!r}, 2 keys)"
    assert "b/page.html  text" in listing.text()
    assert [r.key for r in m(ip, "ls b/").rows] == ["b/page.html"]
    assert [r.key for r in m(ip, "").rows] == ["a.json", "b/page.html"]  # bare %storage is ls


def test_ls_of_another_target(ip: InteractiveShell, store: BaseStorage) -> None:
    store.for_target("other").save("k", 1)
    listing = m(ip, f"ls {store.session_id}/other:")
    assert [r.key for r in listing.rows] == ["k"]


def test_sessions_and_targets(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k", 1)
    store.for_target("t2").save("k", 1)
    store.for_session(store.session_id + "b", "t1").save("k", 1)
    assert {store.session_id, store.session_id + "b"} <= set(m(ip, "sessions"))
    assert m(ip, "targets") == ["t1", "t2"]
    assert m(ip, f"targets {store.session_id}b") == ["t1"]


def test_info_exists_rm(ip: InteractiveShell, store: BaseStorage, capsys: pytest.CaptureFixture[str]) -> None:
    store.save("k", {"a": 1})
    info = m(ip, "info k")
    assert isinstance(info, KeyInfo) and info.kind == "json" and info.size > 0
    assert m(ip, "exists k") is True
    capsys.readouterr()
    m(ip, "rm k")
    assert "Deleted 'k'" in capsys.readouterr().out
    assert m(ip, "exists k") is False
    assert isinstance(m(ip, "info"), RichText)


def test_info_in_deterministic_mode_drops_modified(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k", 1)
    ip.run_line_magic("config", "StorageMagics.deterministic = True")
    try:
        assert m(ip, "info k").modified is None
    finally:
        ip.run_line_magic("config", "StorageMagics.deterministic = False")


def test_rm_checks_every_key_first(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("a", 1)
    with pytest.raises(UsageError, match="nothing deleted") as info:
        m(ip, "rm a missing")
    assert type(info.value) is UsageError
    assert store.exists("a")


def test_versions_newest_first(ip: InteractiveShell, store: BaseStorage) -> None:
    first = store.save_version("report.json", 1)
    second = store.save_version("report.json", 2)
    assert m(ip, "versions report.json") == [second, first]


# ---- show -----------------------------------------------------------------------------------------------
def test_show_html_in_sandboxed_iframe(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save_string("page.html", "<html><title>T</title><script>alert(1)</script></html>")
    shown = m(ip, "show page.html")
    assert isinstance(shown, StoredValue)
    page = shown._repr_html_()
    assert 'sandbox="allow-scripts"' in page and "allow-same-origin" not in page
    assert "<script>" not in page  # only escaped, inside srcdoc
    bundle = shown._repr_mimebundle_()
    assert bundle["text/plain"].startswith("page.html <html")
    assert repr(shown).startswith("StoredValue(key='page.html', kind='text'")


def test_show_json_and_cap(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("big.json", {"items": list(range(5000))})
    html_text = m(ip, "show big.json --max-bytes 2000")._repr_html_()
    assert "<details" in html_text and "truncated" in html_text


# ---- snapshots and diffs ------------------------------------------------------------------------------
def test_snapshot_then_diff_against_now(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("m.json", {"p50": 10, "p99": 20})
    m(ip, "snapshot base")
    store.save("m.json", {"p50": 10, "p99": 25})
    store.save("new.json", 1)
    result = m(ip, "diff @base")
    assert isinstance(result, DiffResult)
    assert (result.added, result.removed, result.changed) == (1, 0, 1)
    assert "root['p99']: 20 -> 25" in result.to_text()


def test_diff_two_snapshots_and_two_keys(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("a", {"x": 1})
    m(ip, "snapshot one")
    store.save("a", {"x": 2})
    m(ip, "snapshot two")
    assert m(ip, "diff @one @two").changed == 1
    store.save("b", {"x": 3})
    assert "1 -> 3" not in m(ip, "diff a b").to_text()
    assert "2 -> 3" in m(ip, "diff a b").to_text()


def test_diff_against_baseline_session_with_tolerance(ip: InteractiveShell, store: BaseStorage) -> None:
    baseline = store.for_session(store.session_id + "base", store.target_id)
    baseline.save("bench.json", {"p50_ms": 10.0, "p99_ms": 20.0})
    store.save("bench.json", {"p50_ms": 10.3, "p99_ms": 30.0})
    strict = m(ip, f"diff bench.json --against {baseline.session_id}")
    assert strict.changed == 2
    loose = m(ip, f"diff bench.json --against {baseline.session_id} --tol 5%")
    assert (loose.changed, loose.tolerated) == (1, 1)
    assert "p99_ms" in loose.to_text() and "+50.0%" in loose.to_text()


def test_diff_scopes(ip: InteractiveShell, store: BaseStorage) -> None:
    other = store.for_session(store.session_id + "x", store.target_id)
    store.save("k", 1)
    other.save("k", 2)
    other.save("extra", 1)
    result = m(ip, f"diff {store.session_id}/{store.target_id}: {other.session_id}/{other.target_id}:")
    assert (result.added, result.changed) == (1, 1)


def test_cell_diff_shows_what_the_cell_changed(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("keep", 1)
    store.save("gone", 1)
    body = "%storage save -q keep 2\n%storage rm -q gone\n%storage save_string -q new.txt 'hello'\n"
    result = cell(ip, "diff", body)
    assert (result.added, result.removed, result.changed) == (1, 1, 1)
    assert result.unchanged == 0
    assert "new.txt" in result.to_text()


def test_cell_capture_stores_html_output(ip: InteractiveShell, store: BaseStorage) -> None:
    body = "print('from stdout <b>')\nfrom IPython.display import HTML, display\ndisplay(HTML('<i>shown</i>'))\n6 * 7\n"
    cell(ip, "capture -q out.html", body)
    page = store.load_string("out.html")
    assert page.startswith("<!DOCTYPE html>")
    assert "from stdout &lt;b&gt;" in page and "<i>shown</i>" in page and ">42<" in page


def test_cell_capture_of_failing_cell_stores_nothing(ip: InteractiveShell, store: BaseStorage) -> None:
    with pytest.raises(UsageError, match="nothing stored"):
        cell(ip, "capture out.html", "1/0\n")
    assert not store.exists("out.html")


# ---- use --------------------------------------------------------------------------------------------------
def test_use_switches_session_and_target(ip: InteractiveShell, store: BaseStorage) -> None:
    m(ip, "use other/t9")
    m(ip, "save -q k 1")
    assert store.for_session("other", "t9").load("k") == 1
    m(ip, "use -t t10")
    m(ip, "save -q k 2")
    assert store.for_session("other", "t10").load("k") == 2


def test_use_urls_dicts_and_fields(shell: InteractiveShell, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("load_ext", "perf_storage_nb")
    try:
        m(shell, f"use file://{tmp_path}/data --session a --target b")
        m(shell, "save -q k 1")
        assert LocalStorage("a", "b", root=tmp_path / "data").load("k") == 1
        m(shell, "use memory://psnbtest -s s -t t")
        m(shell, "save -q k 2")
        assert MemoryStorage("s", "t", name="psnbtest").load("k") == 2
        m(shell, "use {'backend': 'memory', 'name': 'psnbtest2'}")
        m(shell, "save -q k 3")
        assert MemoryStorage("s", "t", name="psnbtest2").load("k") == 3
        m(shell, f"use backend=local root={tmp_path}/f session_id=x target_id=y")
        m(shell, "save -q k 4")
        assert LocalStorage("x", "y", root=tmp_path / "f").load("k") == 4
        capsys.readouterr()
        m(shell, "use")
        assert "file://" in capsys.readouterr().out
    finally:
        shell.run_line_magic("unload_ext", "perf_storage_nb")


# ---- help, errors, completion, config ----------------------------------------------------------------------
def test_help(ip: InteractiveShell) -> None:
    assert "save_string" in m(ip, "help").text
    assert m(ip, "help load").text.startswith("%storage load KEY [-o VAR]")
    assert m(ip, "-h").text == m(ip, "help").text
    assert m(ip, "load --help").text == m(ip, "help load").text
    doc = ip.find_line_magic("storage").__doc__
    assert doc.lstrip().startswith("::") and "%storage [subcommand]" in doc


BAD_LINES = [
    ("bogus", "unknown subcommand"),
    ("save", "needs KEY and a value"),
    ("save k", "needs KEY and a value"),
    ("save k undefined_name_xyz", "NameError"),
    ("save k {1, 2}", "set"),
    ("save k float('nan')", "NaN"),
    ("save ../k 1", "invalid key"),
    ("save_string k 42", "not a str"),
    ("load", "required"),
    ("load missing", "no key 'missing'"),
    ("load k -o 1bad", "variable name"),
    ("load_string k", "holds json"),
    ("show missing", "no key"),
    ("info missing", "no key"),
    ("rm missing", "nothing deleted"),
    ("ls a/b/c/d:x", "SESSION/TARGET:KEY"),
    ("use nosuch://x", "unsupported URL scheme"),
    ("use backend=nosuch", "unknown backend"),
    ("use memory:// file:///tmp/x", "two backends"),
    ("use a/b/c", "more than one"),
    ("diff", "one or two operands"),
    ("diff k", "one operand must be"),
    ("diff @nosnap", "no snapshot"),
    ("diff k k --tol lots", "not a number"),
    ("diff k --against a/b/c", "more than one"),
    ("snapshot", "required"),
    ("load k --bogus", "unrecognized"),
    ("help nosuch", "unknown subcommand"),
    ("capture k", "cell magic"),
    ("load 'unclosed", "cannot split"),
]


@pytest.mark.parametrize(("line", "needle"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_user_mistakes_are_one_line_usage_errors(ip: InteractiveShell, store: BaseStorage, line: str, needle: str) -> None:
    store.save("k", 1)
    before = {k: store.info(k).hash for k in store.list_keys()}  # type: ignore[union-attr]
    with pytest.raises(UsageError) as info:
        m(ip, line)
    assert type(info.value) is UsageError  # a subclass would print a traceback
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert {k: store.info(k).hash for k in store.list_keys()} == before  # type: ignore[union-attr]


def test_cell_mistakes(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="no cell form"):
        cell(ip, "load k", "x")
    with pytest.raises(UsageError, match="one optional SCOPE"):
        cell(ip, "diff a b", "x = 1")


def test_usage_error_in_a_cell_prints_one_line(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    result = ip.run_cell("%storage load missing_key", store_history=False)
    assert type(result.error_in_exec) is UsageError
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [f"UsageError: {result.error_in_exec}"]


def test_completions(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("results/a.json", 1)
    store.save("results/b.json", 1)
    store.for_target("t2").save("zz", 1)
    assert ip.complete("", "%storage lo")[1] == ["load", "load_string"]
    assert ip.complete("", "%%storage sa")[1] == ["save", "save_string"]
    assert ip.complete("", "%storage load results/")[1] == ["results/a.json", "results/b.json"]
    assert ip.complete("", "%storage show res")[1] == ["results/a.json", "results/b.json"]
    assert "zz" in ip.complete("", f"%storage load {store.session_id}/t2:z")[1]
    assert store.session_id in ip.complete("", "%storage targets ")[1]
    m(ip, "snapshot snap1")
    assert "@snap1" in ip.complete("", "%storage diff ")[1]


def test_config_feedback_and_validation(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("config", "StorageMagics.feedback = 0")
    capsys.readouterr()
    m(ip, "save k 1")
    assert capsys.readouterr().out == ""
    magics = ip.magics_manager.registry["StorageMagics"]
    with pytest.raises(UsageError, match="0, 1 or 2"):
        magics.feedback = 7
    with pytest.raises(UsageError, match=">= 1"):
        magics.preview_max_bytes = 0


def test_env_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from perf_storage_nb.notebook.magics import StorageMagics

    monkeypatch.setenv("PERF_STORAGE_URL", f"file://{tmp_path}")
    monkeypatch.setenv("PERF_STORAGE_SESSION", "envsess")
    monkeypatch.setenv("PERF_STORAGE_TARGET", "envtarget")
    magics = StorageMagics(None)
    assert (magics.default_backend, magics.default_session, magics.default_target) == (f"file://{tmp_path}", "envsess", "envtarget")
    storage = magics.current_storage
    assert isinstance(storage, LocalStorage) and storage.session_id == "envsess"
    magics.close()


def test_browse_outside_a_kernel_is_a_text_tree(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k1", 1)
    store.for_target("t2").save("k2", 1)
    tree = m(ip, "browse")
    assert isinstance(tree, StorageTree)
    text = tree.text()
    assert f"  {store.session_id}/" in text and "    t2/  (1 key)" in text and "      k1" in text


def test_browse_in_a_kernel_returns_the_widget(ip: InteractiveShell, store: BaseStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = pytest.importorskip("perf_storage_nb.notebook.browser", reason="the widget browser module is not there yet")
    monkeypatch.setattr(ip, "kernel", object(), raising=False)
    store.save("k1", 1)
    widget = m(ip, "browse")
    try:
        assert isinstance(widget, browser.StorageBrowser)
    finally:
        widget.close()


def test_json_value_saved_by_magic_is_the_library_value(ip: InteractiveShell, store: BaseStorage) -> None:
    m(ip, 'save -q s.json {"t": (1, 2), "u": "ü"}')
    assert json.dumps(store.load("s.json"), ensure_ascii=False) == '{"t": [1, 2], "u": "ü"}'
