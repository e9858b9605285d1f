"""StorageBrowser at the model level: drive the widgets' traits and ``.click()`` on every backend."""

from __future__ import annotations

import base64
import html
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import BaseStorage, MemoryStorage, StorageConnectionError
from perf_storage_nb.notebook import browser as browser_mod
from perf_storage_nb.notebook.browser import (
    StorageBrowser,
    filter_keys,
    page_of,
    snapshot_html,
    var_name_for,
)

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def cache_app() -> Any:
    """One in-process real cache service app shared by this module's tests (unique sessions per test)."""
    server = pytest.importorskip("perf_storage_nb.server", reason="perf_storage_nb.server (cache service) is missing")
    pytest.importorskip("mgraph_ai_service_cache", reason="mgraph-ai-service-cache is not installed ('.[server]')")
    return server.build_app()


@pytest.fixture(params=["memory", "local", "cache_service"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Every backend (the in-process cache service; the uvicorn one adds nothing here); makers from conftest."""
    return str(request.param)


@pytest.fixture
def populated(make_storage: Callable[..., BaseStorage]) -> BaseStorage:
    """Two sessions: ``<unique>/t1`` with json, html, text and image keys; ``<unique>/t2``; ``<unique>b/t1``."""
    s = make_storage(target="t1")
    s.save("metrics.json", {"ops": 100, "name": "run"})
    s.save_string("report.html", "<html><body><h1>Known Heading</h1></body></html>")
    s.save_string("notes.txt", "plain words")
    s.save_bytes("shot.png", PNG_1X1)
    s.for_target("t2").save("other.json", [1, 2, 3])
    s.for_session(s.session_id + "b", "t1").save("metrics.json", {"ops": 90, "name": "run"})
    return s


@pytest.fixture
def open_browser() -> Iterator[Callable[..., StorageBrowser]]:
    """Factory that opens browsers and closes them after the test."""
    made: list[StorageBrowser] = []

    def make(*args: Any, **kwargs: Any) -> StorageBrowser:
        b = StorageBrowser(*args, **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def status(b: StorageBrowser) -> str:
    """Visible text of the status line."""
    return html.unescape(re.sub(r"<[^>]+>", "", b._status.value))


# ---- pure helpers -------------------------------------------------------------------------------------
def test_filter_keys_substring_is_case_insensitive_and_glob_matches_whole_key() -> None:
    keys = ["a/Report.html", "a/data.json", "b/data.JSON", "readme"]
    assert filter_keys(keys, "") == keys
    assert filter_keys(keys, "report") == ["a/Report.html"]
    assert filter_keys(keys, "*.json") == ["a/data.json", "b/data.JSON"]
    assert filter_keys(keys, "a/*") == ["a/Report.html", "a/data.json"]
    assert filter_keys(keys, "zzz") == []


def test_page_of_clamps_and_counts() -> None:
    items = [str(i) for i in range(450)]
    assert page_of(items, 0, 200) == (items[:200], 0, 3)
    assert page_of(items, 2, 200) == (items[400:], 2, 3)
    assert page_of(items, 99, 200)[1] == 2
    assert page_of([], 5, 200) == ([], 0, 1)


def test_var_name_for_makes_identifiers() -> None:
    assert var_name_for("runs/a-1.json") == "a_1"
    assert var_name_for("2024.json") == "v_2024"
    assert var_name_for("class") == "class_"
    assert var_name_for("...") == "value"


def test_snapshot_html_escapes_and_counts() -> None:
    out = snapshot_html("memory://x", ["s<1>"], "s<1>", ["t"], "t", ["<b>k</b>"], 60, selected="<b>k</b>")
    assert "&lt;b&gt;k&lt;/b&gt;" in out and "<b>k</b>" not in out.replace("<b>StorageBrowser</b>", "")
    assert "59 more" in out


# ---- navigation -----------------------------------------------------------------------------------------
def test_opens_on_the_storages_own_session_and_target(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    assert b._session.value == populated.session_id
    assert b._target.value == "t1"
    assert set(b._session.options) >= {populated.session_id, populated.session_id + "b"}
    assert b._target.options == ("t1", "t2")
    assert b._keys.options == ("metrics.json", "notes.txt", "report.html", "shot.png")
    assert b.selected is None
    assert status(b) == ""


def test_repr_is_short_and_stable(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    b = open_browser(populated)
    n = len(populated.sessions())
    assert repr(b) == f"StorageBrowser(backend={populated.backend_name!r}, sessions={n})"
    b._keys.value = "notes.txt"
    assert repr(b) == f"StorageBrowser(backend={populated.backend_name!r}, sessions={n})"


def test_switching_session_and_target_lists_that_level(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    b._target.value = "t2"
    assert b._keys.options == ("other.json",)
    b._session.value = populated.session_id + "b"
    assert b._target.options == ("t1",)
    assert b._keys.options == ("metrics.json",)
    b._keys.value = "metrics.json"
    assert b.selected == (populated.session_id + "b", "t1", "metrics.json")
    assert b.value == {"ops": 90, "name": "run"}


def test_selecting_keys_fills_preview_raw_and_meta(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    b._keys.value = "metrics.json"
    assert b.selected == (populated.session_id, "t1", "metrics.json")
    assert "ops" in b._preview.value and "100" in b._preview.value
    assert '"ops": 100' in re.sub(r"&quot;", '"', b._raw.value)
    info = populated.info("metrics.json")
    assert info is not None and info.hash in b._meta.value and "json" in b._meta.value

    b._keys.value = "report.html"
    assert "<iframe" in b._preview.value and 'sandbox="allow-scripts"' in b._preview.value
    assert "allow-same-origin" not in b._preview.value
    assert "Known Heading" in b._preview.value

    b._keys.value = "shot.png"
    assert "data:image/png;base64," in b._preview.value

    b._keys.value = "notes.txt"
    assert "plain words" in b._preview.value
    assert b._var_name.value == "notes"


def test_callbacks_get_the_browser_and_their_errors_are_shown(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    seen: list[Any] = []
    b.register_callback(lambda br: seen.append(br.selected))
    b._keys.value = "notes.txt"
    assert seen == [(populated.session_id, "t1", "notes.txt")]

    def broken(_b: StorageBrowser) -> None:
        raise RuntimeError("callback broke\nsecond line")

    b.register_callback(broken)
    b._keys.value = "metrics.json"
    assert status(b) == "⚠ RuntimeError: callback broke"


def test_large_target_is_filtered_and_paged(
    make_storage: Callable[..., BaseStorage], open_browser: Callable[..., StorageBrowser], backend_name: str
) -> None:
    s = make_storage(target="big")
    # 10,000 keys on disk or over HTTP is the benchmark's job; here enough for three pages of 200.
    n = {"memory": 10_000, "local": 1_050}.get(backend_name, 450)
    s.save_many({f"k{i:05d}.json": i for i in range(n)}).raise_for_errors()
    b = open_browser(s, page_size=200)
    assert len(b._keys.options) == 200 and b._keys.options[0] == "k00000.json"
    assert f"1–200 of {n:,} key(s)" in b._page_info.value
    assert b._prev.disabled and not b._next.disabled
    b._next.click()
    assert b._keys.options[0] == "k00200.json"
    b._prev.click()
    assert b._keys.options[0] == "k00000.json"
    b._filter.value = "k0010"
    assert b._keys.options == tuple(f"k0010{i}.json" for i in range(10))
    assert f"of 10 key(s) of {n:,}" in b._page_info.value
    assert b._next.disabled
    b._filter.value = "*9.json"
    assert len(b._keys.options) == min(200, n // 10) and all(k.endswith("9.json") for k in b._keys.options)
    b._filter.value = ""
    assert len(b._keys.options) == 200


def test_filter_keeps_the_selected_key_on_its_page(
    make_storage: Callable[..., BaseStorage], open_browser: Callable[..., StorageBrowser]
) -> None:
    s = make_storage()
    s.save_many({f"k{i:03d}": i for i in range(30)}).raise_for_errors()
    b = open_browser(s, page_size=10)
    b._next.click()
    b._next.click()
    b._keys.value = "k025"
    b._filter.value = "k02"
    assert b._keys.value == "k025" and b.selected is not None
    b._filter.value = "k00"
    assert b._keys.value is None and b.selected is None


# ---- actions --------------------------------------------------------------------------------------------
def test_delete_needs_confirmation(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    b = open_browser(populated)
    assert b._delete.disabled
    b._keys.value = "notes.txt"
    b._delete.click()
    assert b._confirm.layout.display == "flex" and "notes.txt" in b._confirm_text.value
    assert populated.exists("notes.txt")
    b._confirm_no.click()
    assert b._confirm.layout.display == "none" and populated.exists("notes.txt")
    b._delete.click()
    b._confirm_yes.click()
    assert not populated.exists("notes.txt")
    assert "notes.txt" not in b._keys.options and b.selected is None
    assert status(b) == "deleted 'notes.txt'"


def test_refresh_shows_new_keys_and_keeps_the_selection(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    b._keys.value = "report.html"
    populated.save("added.json", 1)
    populated.for_session(populated.session_id, "t3").save("x", 1)
    assert "added.json" not in b._keys.options
    b._refresh.click()
    assert "added.json" in b._keys.options and "t3" in b._target.options
    assert b.selected == (populated.session_id, "t1", "report.html")
    assert "Known Heading" in b._preview.value


def test_load_into_a_variable_of_the_shell(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    created = not InteractiveShell.initialized()
    shell = InteractiveShell.instance()
    try:
        b = open_browser(populated)
        b._keys.value = "metrics.json"
        assert b._var_name.value == "metrics"
        b._var_name.value = "m"
        b._load.click()
        assert shell.user_ns["m"] == {"ops": 100, "name": "run"}
        assert status(b) == "loaded 'metrics.json' into variable m (dict)"
        b._var_name.value = "not valid"
        b._load.click()
        assert status(b) == "⚠ 'not valid' is not a valid Python variable name"
    finally:
        shell.user_ns.pop("m", None)
        if created:
            InteractiveShell.clear_instance()


def test_load_without_a_shell_keeps_the_value_on_the_browser(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(browser_mod, "_shell", lambda: None)
    b = open_browser(populated)
    b._keys.value = "shot.png"
    b._load.click()
    assert b.loaded == PNG_1X1
    assert "browser.loaded" in status(b)


def test_diff_of_the_same_key_in_two_sessions(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    b._keys.value = "metrics.json"
    assert b._diff_key.value == "metrics.json" and b._diff_session.value == populated.session_id
    b._diff_session.value = populated.session_id + "b"
    assert b._diff_target.value == "t1"
    b._diff_run.click()
    assert status(b) == ""
    assert "100" in b._diff_view.value and "90" in b._diff_view.value
    assert b._tabs.selected_index == 3


def test_diff_of_two_keys_in_one_target(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    populated.save("metrics2.json", {"ops": 100, "name": "other"})
    b = open_browser(populated)
    b._keys.value = "metrics.json"
    b._diff_key.value = "metrics2.json"
    b._diff_run.click()
    assert status(b) == ""
    assert "other" in b._diff_view.value


# ---- errors are one visible line, never a dead widget ---------------------------------------------------
def test_key_deleted_meanwhile_shows_one_line(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    populated.delete("notes.txt")  # another process deletes it while the list is on screen
    b._keys.value = "notes.txt"
    assert status(b) == "⚠ key 'notes.txt' no longer exists (deleted meanwhile?); the list was refreshed"
    assert "notes.txt" not in b._keys.options
    b._keys.value = "metrics.json"  # the widget still works
    assert status(b) == "" and "100" in b._preview.value


class _FlakyMemory(MemoryStorage):
    """A memory backend that can be made to fail like an unreachable server, and counts listings."""

    down = False
    calls: dict[str, int] = {}

    def _check(self, what: str) -> None:
        type(self).calls[what] = type(self).calls.get(what, 0) + 1
        if type(self).down:
            raise StorageConnectionError("cannot reach http://127.0.0.1:9/ (connection refused)")

    def _list_sessions(self) -> Iterable[str]:
        self._check("sessions")
        return super()._list_sessions()

    def _list_targets(self, session: str) -> Iterable[str]:
        self._check("targets")
        return super()._list_targets(session)

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        self._check("keys")
        return super()._iter_keys(prefix)


@pytest.fixture
def flaky() -> Iterator[type[_FlakyMemory]]:
    _FlakyMemory.down, _FlakyMemory.calls = False, {}
    yield _FlakyMemory
    _FlakyMemory.down = False


def test_unreachable_backend_gives_a_working_empty_browser(
    flaky: type[_FlakyMemory], open_browser: Callable[..., StorageBrowser]
) -> None:
    s = flaky("s", "t")
    s.save("k", 1)
    flaky.down = True
    b = open_browser(s)
    assert status(b) == "⚠ StorageConnectionError: cannot reach http://127.0.0.1:9/ (connection refused)"
    assert b._keys.options == () and b.selected is None
    assert repr(b) == "StorageBrowser(backend='memory', sessions=0)"
    flaky.down = False
    b._refresh.click()  # back up: refresh recovers
    assert status(b) == "" and b._keys.options == ("k",)


def test_backend_failing_mid_navigation_keeps_the_widget_alive(
    flaky: type[_FlakyMemory], open_browser: Callable[..., StorageBrowser]
) -> None:
    s = flaky("s", "t")
    s.save("k", 1)
    s.for_target("u").save("j", 2)
    b = open_browser(s)
    flaky.down = True
    b._target.value = "u"
    assert status(b).startswith("⚠ StorageConnectionError: cannot reach")
    assert b._keys.options == () and b.selected is None  # no stale keys of target "t" shown under "u"
    flaky.down = False
    b._refresh.click()
    assert b._keys.options == ("j",) and status(b) == ""


def test_levels_are_listed_lazily(flaky: type[_FlakyMemory], open_browser: Callable[..., StorageBrowser]) -> None:
    s = flaky("s00", "t0")
    for i in range(30):
        for j in range(3):
            s.for_session(f"s{i:02d}", f"t{j}").save("k", i)
    flaky.calls = {}
    b = open_browser(s)
    # one listing per level for the opened session/target (plus the diff pane reusing them), not 30 x 3
    assert flaky.calls == {"sessions": 1, "targets": 1, "keys": 1}
    flaky.calls = {}
    b._target.value = "t1"
    assert flaky.calls == {"keys": 1}


# ---- display, lifecycle ---------------------------------------------------------------------------------
def test_mimebundle_carries_a_static_listing(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    b._keys.value = "report.html"
    bundle = b._repr_mimebundle_()
    assert list(bundle) == ["text/plain", "application/vnd.jupyter.widget-view+json", "text/html"]
    assert bundle["text/plain"] == repr(b)
    snap = bundle["text/html"]
    for name in ("metrics.json", "notes.txt", "report.html", "shot.png", populated.session_id, "t1"):
        assert name in snap
    assert "<b><code>report.html</code></b>" in snap


def _comms(widget: Any) -> list[Any]:
    """Every widget of ``widget``'s tree with an open comm (layouts and styles included)."""
    found = []
    stack = [widget]
    while stack:
        w = stack.pop()
        stack += list(getattr(w, "children", ()))
        found += [p for p in (w, getattr(w, "layout", None), getattr(w, "style", None)) if getattr(p, "comm", None)]
    return found


def test_one_live_browser_per_kernel(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    """A newer browser closes the older one's widgets, which leaves one visible line where it was."""
    first = open_browser(populated)
    child = first._keys
    assert child.comm is not None and len(_comms(first)) > 40
    second = open_browser(populated)
    assert child.comm is None and child.layout.comm is None and first._tabs.comm is None
    # What stays: the box and its status line saying why (5 comms instead of dozens; ipywidgets#3995).
    assert first.children == (first._status,) and len(_comms(first)) == 5
    assert status(first) == browser_mod.REPLACED and "psnb-closed" in first._status.value
    assert second.comm is not None and browser_mod._live is second
    first.close()
    assert _comms(first) == [] and browser_mod._live is second
    second.close()
    assert second.comm is None and browser_mod._live is None


def test_several_backends_in_one_browser(populated: BaseStorage, open_browser: Callable[..., StorageBrowser]) -> None:
    other = MemoryStorage("zz", "only")
    other.save("z.json", 0)
    b = open_browser({"main": populated, "scratch": other})
    assert b._backend.options == ("main", "scratch") and not b._backend.disabled
    b._backend.value = "scratch"
    assert b._session.options == ("zz",) and b._keys.options == ("z.json",)
    b._keys.value = "z.json"
    assert b.selected == ("zz", "only", "z.json")
    b.reset()
    assert b._backend.value == "main" and b._session.value == populated.session_id


# ---- cache service specifics ----------------------------------------------------------------------------
def test_cache_service_requests_do_not_grow_with_sessions(
    cache_app: Any, open_browser: Callable[..., StorageBrowser]
) -> None:
    """Lazy per level on the real service: opening and navigating cost a few requests, not one per session."""
    from perf_storage_nb.server import client_cache_service

    s = client_cache_service("lazy00", "t0", app=cache_app)
    try:
        for i in range(12):
            for j in range(2):
                s.for_session(f"lazy{i:02d}", f"t{j}").save("k.json", {"i": i, "j": j})
        requests: list[str] = []
        s.client.http.event_hooks["request"].append(lambda r: requests.append(f"{r.method} {r.url.path}"))
        b = open_browser(s)
        assert b._keys.options == ("k.json",) and len(b._session.options) >= 12
        opened = len(requests)
        assert 1 <= opened < 12, requests  # sessions, targets of one session, keys of one target
        requests.clear()
        b._target.value = "t1"
        assert b._keys.options == ("k.json",)
        assert 1 <= len(requests) < 6, requests
        requests.clear()
        b._keys.value = "k.json"
        assert '"j"' in b._raw.value.replace("&quot;", '"') and len(requests) < 6, requests
        requests.clear()
        b._filter.value = "k."  # filtering and paging work on the listed keys: no request at all
        b._next.click()
        assert b.selected == ("lazy00", "t1", "k.json") and requests == []
    finally:
        s.close()


def test_cache_service_unreachable_is_one_line(open_browser: Callable[..., StorageBrowser]) -> None:
    """A service that is not there: the browser opens, says so in one line, and keeps working after a fix."""
    cache_service = pytest.importorskip(
        "perf_storage_nb.backends.cache_service", reason="perf_storage_nb.backends.cache_service is missing"
    )
    with socket.socket() as sock:  # a port nobody listens on: bound then released
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = cache_service.CacheServiceStorage("s", "t", url=f"http://127.0.0.1:{port}", retries=0, timeout=2)
    try:
        b = open_browser(s)
        line = status(b)
        assert line.startswith("⚠ StorageConnectionError") and f"127.0.0.1:{port}" in line and "\n" not in line, line
        assert b._keys.options == () and b.selected is None
        b._refresh.click()  # still a live widget: refresh reports again instead of raising
        assert status(b).startswith("⚠ StorageConnectionError")
    finally:
        s.close()


def test_executed_notebook_keeps_a_real_static_listing(tmp_path: Path) -> None:
    """Run a notebook in a real kernel: the saved output carries the listing, and text exports show it."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed ('.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed ('.[test]')")
    nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is not installed ('.[test]')")
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "\n".join(
                [
                    "from perf_storage_nb import LocalStorage",
                    "from perf_storage_nb.notebook.browser import StorageBrowser",
                    f"s = LocalStorage('demo', 'pages', root={str(tmp_path / 'store')!r})",
                    "s.save('metrics.json', {'ops': 1}); s.save_string('report.html', '<h1>x</h1>')",
                    "StorageBrowser(s)",
                ]
            )
        )
    )
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    (output,) = nb.cells[0].outputs
    data = output["data"]
    assert data["text/plain"] == "StorageBrowser(backend='local', sessions=1)"
    assert "application/vnd.jupyter.widget-view+json" in data
    snapshot = data["text/html"]
    assert "psnb-browser-snapshot" in snapshot and "<code>metrics.json</code>" in snapshot
    assert "<code>report.html</code>" in snapshot and "2 key(s) in this target" in snapshot
    markdown, _ = nbconvert.MarkdownExporter().from_notebook_node(nb)
    assert "<code>metrics.json</code>" in markdown and "Loading widget" not in markdown
    # HTML export without saved widget state (JupyterLab's default: it does not save it) skips the widget
    # view and falls back to our listing. (nbclient saves the state, which nbconvert renders with widget JS.)
    nb.metadata.pop("widgets", None)
    page, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    assert "psnb-browser-snapshot" in page and "<code>report.html</code>" in page


def test_selecting_a_text_key_reads_it_once_and_raw_shows_the_markup(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser], monkeypatch: pytest.MonkeyPatch
) -> None:
    b = open_browser(populated)
    reads: list[str] = []
    original = type(populated)._read
    monkeypatch.setattr(
        type(populated), "_read", lambda self, key, hint: reads.append(key) or original(self, key, hint)
    )
    populated.info("report.html")
    by_info = len(reads)  # some backends read to answer info()
    b._keys.value = "report.html"
    assert len(reads) - by_info == by_info + 1  # info, then one read with the text loader
    assert "&lt;h1&gt;Known Heading" in b._raw.value  # the Raw tab keeps the page source


def test_close_runs_the_close_callbacks_once(
    populated: BaseStorage, open_browser: Callable[..., StorageBrowser]
) -> None:
    b = open_browser(populated)
    calls: list[int] = []
    b.on_close(lambda: calls.append(1))
    open_browser(populated)  # a new browser closes the previous one
    b.close()
    assert calls == [1]
