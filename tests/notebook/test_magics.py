"""%storage / %%storage through a real InteractiveShell, on memory, local and the in-process cache service."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError

from perf_storage_nb import BaseStorage, KeyInfo, LocalStorage, MemoryStorage
from perf_storage_nb.diff import DiffResult
from perf_storage_nb.notebook.render import (
    KeyListing,
    RichText,
    StorageTree,
    StoredValue,
)

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
    code = (
        "def f():\n    local_value = {'inside': True}\n    %storage save -q fn.json local_value\n"
        "    got = %storage load fn.json\n    return got\nf()"
    )
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
def test_ls_lists_keys_and_ls_l_adds_kind_and_size(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("a.json", {"x": 1})
    store.save_string("b/page.html", "<p>hi</p>")
    listing = m(ip, "ls")
    assert isinstance(listing.listing, KeyListing) and listing == ["a.json", "b/page.html"]
    assert listing.keys == ["a.json", "b/page.html"]
    assert repr(listing.listing) == f"KeyListing({store.describe()!r}, 2 keys)"
    assert listing.text() == f"{store.describe()}: 2 keys\n  a.json\n  b/page.html"
    long = m(ip, "ls -l")
    assert long.keys == ["a.json", "b/page.html"] and "b/page.html  text" in long.text()
    assert m(ip, "ls b/").keys == ["b/page.html"]
    assert m(ip, "").keys == ["a.json", "b/page.html"]  # bare %storage is ls


def test_ls_asks_info_only_for_the_long_form(
    ip: InteractiveShell, store: BaseStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        store.save(f"k{i}", i)
    asked: list[str] = []
    original = type(store).info
    monkeypatch.setattr(type(store), "info", lambda self, key: asked.append(key) or original(self, key))
    assert len(m(ip, "ls").keys) == 5 and asked == []
    monkeypatch.setattr("perf_storage_nb.notebook.commands.listing.LONG_LISTING_MAX", 3)
    long = m(ip, "ls --long")
    assert asked == ["k0", "k1", "k2"]
    assert long.keys == ["k0", "k1", "k2"] and repr(long.listing).endswith("5 keys)")
    assert long.text().endswith("… 2 keys more (narrow with ls -l PREFIX)")


def test_ls_of_another_target(ip: InteractiveShell, store: BaseStorage) -> None:
    store.for_target("other").save("k", 1)
    listing = m(ip, f"ls {store.session_id}/other:")
    assert listing.keys == ["k"]


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
    assert "<script>alert(1)" not in page  # the page's script: only escaped, inside srcdoc
    # The one raw script is ours, next to the frame: it sizes the frame to the page (numbers only).
    assert page.count("<script>") == 1 and "psnbHeight" in page.split("<script>", 1)[1]
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
    ("load k --bogus", "unknown option '--bogus'"),
    ("help nosuch", "unknown subcommand"),
    ("capture k", "cell magic"),
    ("load 'unclosed", "cannot split"),
]


@pytest.mark.parametrize(("line", "needle"), BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_user_mistakes_are_one_line_usage_errors(
    ip: InteractiveShell, store: BaseStorage, line: str, needle: str
) -> None:
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
    assert completions(ip, "%storage lo") == ["load", "load_bytes", "load_string"]
    assert completions(ip, "%%storage sa") == ["save", "save_string"]  # cell forms only
    assert completions(ip, "%storage load results/") == ["results/a.json", "results/b.json"]
    assert completions(ip, "%storage show res") == ["results/a.json", "results/b.json"]
    assert completions(ip, f"%storage load {store.session_id}/t2:z") == [f"{store.session_id}/t2:zz"]
    assert store.session_id in completions(ip, "%storage targets ")
    m(ip, "snapshot snap1")
    assert "@snap1" in completions(ip, "%storage diff ")


def completions(ip: InteractiveShell, line: str) -> list[str]:
    """What Tab offers at the end of ``line`` (IPython's completion API, as Jupyter and the terminal use it)."""
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(line, len(line))]


def test_config_feedback_and_validation(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("config", "StorageMagics.feedback = 0")
    capsys.readouterr()
    m(ip, "save k 1")
    assert capsys.readouterr().out == ""
    magics = ip.magics_manager.registry["StorageMagics"]
    with pytest.raises(TraitError, match="0, 1 or 2"):
        magics.feedback = 7
    with pytest.raises(TraitError, match=">= 1"):
        magics.preview_max_bytes = 0
    assert (magics.feedback, magics.preview_max_bytes) == (0, 1_000_000)


def test_rejected_config_value_is_rolled_back_and_never_blocks_loading(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_line_magic("config", "StorageMagics.feedback = 2")
    ip.run_line_magic("config", "StorageMagics.feedback = 7")
    assert ip.magics_manager.registry["StorageMagics"].feedback == 2  # rolled back, not left at 7
    ip.config.StorageMagics.preview_max_chars = "lots"  # a config file can hold anything
    try:
        capsys.readouterr()
        ip.run_line_magic("reload_ext", "perf_storage_nb")
        assert "storage" in ip.magics_manager.magics["line"]
        magics = ip.magics_manager.registry["StorageMagics"]
        assert magics.preview_max_chars == 2000
        err = capsys.readouterr().err
        assert "ignoring StorageMagics.preview_max_chars = 'lots'" in err
        assert m(ip, "exists nothing") is False
    finally:
        for name in ("feedback", "preview_max_chars"):
            ip.config.StorageMagics.pop(name, None)
        m(ip, "use _store")


def test_env_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from perf_storage_nb.notebook.magics import StorageMagics

    monkeypatch.setenv("PERF_STORAGE_URL", f"file://{tmp_path}")
    monkeypatch.setenv("PERF_STORAGE_SESSION", "envsess")
    monkeypatch.setenv("PERF_STORAGE_TARGET", "envtarget")
    magics = StorageMagics(None)
    assert (magics.default_backend, magics.default_session, magics.default_target) == (
        f"file://{tmp_path}",
        "envsess",
        "envtarget",
    )
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


def test_browse_in_a_kernel_returns_the_widget(
    ip: InteractiveShell, store: BaseStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = pytest.importorskip(
        "perf_storage_nb.notebook.browser", reason="the widget browser module is not there yet"
    )
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


# ---- review fixes ---------------------------------------------------------------------------------------
def test_cell_diff_of_a_failing_cell_shows_the_diff_then_fails(
    ip: InteractiveShell, store: BaseStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with pytest.raises(UsageError, match="the cell raised ZeroDivisionError") as info:
        cell(ip, "diff", "%storage save -q made.json 1\n1/0\n")
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    assert "+ " in capsys.readouterr().out and store.exists("made.json")  # the diff was shown


def test_cell_diff_in_a_cell_fails_the_cell(ip: InteractiveShell, store: BaseStorage) -> None:
    result = ip.run_cell("%%storage diff\n1/0\n", store_history=False)
    assert not result.success


def test_diff_labels_have_no_absolute_paths_in_deterministic_mode(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shell.run_line_magic("load_ext", "perf_storage_nb")
    try:
        shell.run_line_magic("config", "StorageMagics.deterministic = True")
        shell.run_line_magic("config", "StorageMagics.feedback = 0")
        m(shell, "use ./store -s s -t t1")
        m(shell, "save a 1")
        m(shell, "save b 2")
        m(shell, "use -t t2")
        m(shell, "save a 3")
        texts = [m(shell, line).to_text() for line in ("diff a b", "diff a --against s/t1", "diff s/t1: s/t2:")]
        assert all(str(tmp_path) not in text for text in texts), texts
        assert texts[0].startswith("file://store/s/t2:a -> file://store/s/t2:b")
        assert texts[2].startswith("file://store/s/t1 -> file://store/s/t2: 0 added, 1 removed, 1 changed")
    finally:
        shell.run_line_magic("config", "StorageMagics.deterministic = False")
        shell.run_line_magic("unload_ext", "perf_storage_nb")


class _ClosedMemory(MemoryStorage):
    """Records which instances were closed."""

    closed: ClassVar[list[_ClosedMemory]] = []

    def close(self) -> None:
        type(self).closed.append(self)


def _created_storages(monkeypatch: pytest.MonkeyPatch) -> list[BaseStorage]:
    made: list[BaseStorage] = []

    def fake_create(config: Any, **fields: Any) -> BaseStorage:
        opts = config if isinstance(config, dict) else {}
        storage = _ClosedMemory(
            fields.get("session_id") or opts.get("session_id", "s"),
            fields.get("target_id") or opts.get("target_id", "t"),
        )
        made.append(storage)
        return storage

    monkeypatch.setattr("perf_storage_nb.notebook.magics.create_storage", fake_create)
    _ClosedMemory.closed = []
    return made


def test_use_session_keeps_and_finally_closes_the_storage_it_created(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _created_storages(monkeypatch)
    shell.run_line_magic("load_ext", "perf_storage_nb")
    try:
        shell.run_line_magic("config", "StorageMagics.feedback = 0")
        m(shell, "use memory:// -s a -t t")
        del made[:-1], _ClosedMemory.closed[:]  # the default storage `use` replaced (and closed)
        m(shell, "use b/t2")  # a sibling of what we created: nothing to close yet
        assert len(made) == 1 and _ClosedMemory.closed == []
    finally:
        shell.run_line_magic("unload_ext", "perf_storage_nb")
    assert _ClosedMemory.closed == made  # the created root, not leaked behind the sibling


def test_live_browser_keeps_its_storage_until_it_closes(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = pytest.importorskip("perf_storage_nb.notebook.browser")
    made = _created_storages(monkeypatch)
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    shell.run_line_magic("load_ext", "perf_storage_nb")
    try:
        shell.run_line_magic("config", "StorageMagics.feedback = 0")
        m(shell, "use memory:// -s a -t t")
        del made[:-1], _ClosedMemory.closed[:]  # the default storage `use` replaced (and closed)
        widget = m(shell, "browse")
        m(shell, "use memory:// -s b -t t")  # replaces the storage the browser reads through
        assert _ClosedMemory.closed == []
        widget.close()
        assert _ClosedMemory.closed == [made[0]]
        again = m(shell, "browse")
        assert browser._live is again
    finally:
        shell.run_line_magic("unload_ext", "perf_storage_nb")
    assert browser._live is None  # unload closes the live browser (its comms) ...
    assert _ClosedMemory.closed == made  # ... and the storage it used


def test_browse_scope_opens_there(ip: InteractiveShell, store: BaseStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("perf_storage_nb.notebook.browser")
    store.for_session("other", "tb").save("k", 1)
    store.for_session("other", "ta").save("k", 1)
    tree = m(ip, "browse other/tb")
    assert [(s, [t for t, _ in targets]) for s, targets in tree.tree] == [("other", ["tb"])]
    monkeypatch.setattr(ip, "kernel", object(), raising=False)
    widget = m(ip, "browse other/tb")
    try:
        assert (widget._session.value, widget._target.value) == ("other", "tb")
    finally:
        widget.close()


def test_sessions_takes_no_argument(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="unrecognized arguments: extra"):
        m(ip, "sessions extra")


def test_show_reads_the_value_once(ip: InteractiveShell, store: BaseStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    store.save_string("notes.txt", "hello")
    reads: list[str] = []
    original = type(store)._read
    monkeypatch.setattr(type(store), "_read", lambda self, key, hint: reads.append(key) or original(self, key, hint))
    store.info("notes.txt")
    by_info = len(reads)  # some backends read to answer info()
    assert m(ip, "show notes.txt").value == "hello"
    assert len(reads) - by_info == by_info + 1  # info, then one read of the text (no JSON attempt first)


def test_show_html_text_twin_is_a_summary(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save_string("page.html", "<html><title>My  page</title><body>" + "<p>x</p>" * 500 + "</body></html>")
    text = m(ip, "show page.html")._repr_mimebundle_()["text/plain"]
    assert text == "page.html <html, 4.0 kB, title='My page'>"


def test_rm_names_where_each_missing_key_is_and_deletes_duplicates_once(
    ip: InteractiveShell, store: BaseStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    store.save("k", 1)
    with pytest.raises(UsageError) as info:
        m(ip, "rm k elsewhere/t9:gone")
    assert "no key 'gone' in " in str(info.value) and "/elsewhere/t9; nothing deleted" in str(info.value)
    capsys.readouterr()
    m(ip, "rm k k")
    assert capsys.readouterr().out.count("Deleted") == 1 and not store.exists("k")


def test_subcommand_help_and_all_come_from_the_grammar() -> None:
    from perf_storage_nb.notebook import grammar

    doc = _storage_doc()
    assert all(name in doc for name in grammar.COMMANDS if name not in grammar.CELL_ONLY)
    for name in ("KEY_COMMANDS", "REFERENCE", "expand_vars", "CELL_COMMANDS"):
        assert name in grammar.__all__


def _storage_doc() -> str:
    from perf_storage_nb.notebook.magics import StorageMagics

    return StorageMagics.storage.__doc__ or ""


def test_against_completes_sessions(ip: InteractiveShell, store: BaseStorage) -> None:
    store.save("k", 1)
    store.for_session("baseline_run").save("k", 1)
    found = completions(ip, "%storage diff k --against ")
    assert "baseline_run" in found and "k" not in found
