"""run_batch lists the session's targets once and skips the resume and stale-report checks for new targets.

The saving must not cost a promise: whatever each target held before the run (nothing, other keys, its done
key, a stale error report, both), the outcome is what the per-item checks decide, on every engine and on a
backend that cannot list targets (where every item is checked as before).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from example_backend import DictStorage, NoNavigationStorage
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import BaseStorage, LocalStorage, MemoryStorage, target_id_from_text
from perf_storage_nb.workflows import run_batch

DONE, ERROR = "output/rendered.html", "reports/errors.md"
#: what a target holds before the run
STATES = ("absent", "other_key", "done", "done_and_stale_error", "stale_error_only")
_names = itertools.count()


def _storage(backend: str, root: Path) -> BaseStorage:
    name = f"fresh{next(_names)}"
    if backend == "local":
        return LocalStorage("s", "t", root=root)
    if backend == "memory":
        return MemoryStorage("s", "t", name=name)
    if backend == "dict":
        return DictStorage("s", "t", name=name)
    return NoNavigationStorage("s", "t", name=name)


def _prepare(storage: BaseStorage, url: str, state: str) -> None:
    target = storage.for_session("run", target_id_from_text(url))
    if state in ("other_key", "done", "done_and_stale_error"):
        target.save_string("source/original.html", "<p>old</p>")
    if state in ("done", "done_and_stale_error"):
        target.save_string(DONE, "<p>old output</p>")
    if state in ("done_and_stale_error", "stale_error_only"):
        target.save_string(ERROR, "# errors\n\n- stale\n")


def _process(failing: set[str]) -> Callable[[str, BaseStorage], str]:
    def process(url: str, store: BaseStorage) -> str:
        store.save_string(DONE, f"<p>{url}</p>")
        if url in failing:
            raise ValueError(f"cannot render {url}")  # after writing the done key: must still not count as done
        return url

    return process


def _expected(state: str, fails: bool) -> str:
    if state == "done":
        return "skipped"
    return "failed" if fails else "done"


@pytest.mark.parametrize("backend", ["local", "memory", "dict", "no_navigation"])
@settings(max_examples=25, deadline=None)
@given(
    plan=st.lists(st.tuples(st.sampled_from(STATES), st.booleans()), min_size=1, max_size=8),
    workers=st.sampled_from([None, 3]),
)
def test_outcomes_match_the_per_item_checks_whatever_the_targets_held(
    backend: str, plan: list[tuple[str, bool]], workers: int | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = _storage(backend, Path(tmp))
        urls = [f"https://example.com/p/{i}" for i in range(len(plan))]
        for url, (state, _fails) in zip(urls, plan, strict=True):
            _prepare(storage, url, state)
        failing = {url for url, (_s, fails) in zip(urls, plan, strict=True) if fails}
        first = run_batch(storage, urls, _process(failing), session_id="run", progress=False, workers=workers)
        assert [r.status for r in first.items] == [_expected(s, f) for s, f in plan]
        for url, result in zip(urls, first.items, strict=True):
            target = storage.for_session("run", target_id_from_text(url))
            # a failed item keeps a report (a resume must not count it done); a done one has none left over
            assert target.exists(ERROR) == (result.status == "failed")
            assert target.exists(DONE)
        again = run_batch(storage, urls, _process(set()), session_id="run", progress=False, workers=workers)
        assert [r.status for r in again.items] == ["done" if r.status == "failed" else "skipped" for r in first.items]
        assert not any(storage.for_session("run", target_id_from_text(u)).exists(ERROR) for u in urls)


class _CountingStorage(LocalStorage):
    """A local storage that counts existence checks (siblings are copies, so they share the counter)."""

    checks: list[str]

    def _exists(self, key: str) -> bool:
        self.checks.append(key)
        return super()._exists(key)


@pytest.mark.parametrize("workers", [None, 4])
def test_a_fresh_session_costs_one_existence_check_per_item(tmp_path: Path, workers: int | None) -> None:
    storage = _CountingStorage("s", "t", root=tmp_path)
    storage.checks = []
    urls = [f"https://example.com/n/{i}" for i in range(6)]
    result = run_batch(storage, urls, _process(set()), session_id="new", progress=False, workers=workers)
    assert result.ok and len(result.done) == 6
    assert sorted(storage.checks) == [DONE] * 6  # only "did process() write its done key?"
    storage.checks.clear()
    again = run_batch(storage, urls, _process(set()), session_id="new", progress=False, workers=workers)
    assert [r.status for r in again.items] == ["skipped"] * 6
    assert sorted(storage.checks) == sorted([DONE, ERROR] * 6)  # known targets: the full resume check


def test_a_target_that_appears_during_the_run_is_treated_as_new(tmp_path: Path) -> None:
    """The listing is taken once, up front: a done key written by someone else during the run does not make
    the batch skip that item (it redoes it), and it is never counted done without its own done key."""
    storage = LocalStorage("s", "t", root=tmp_path)
    urls = ["https://example.com/a", "https://example.com/b", "https://example.com/c"]

    def process(url: str, store: BaseStorage) -> str:
        if url.endswith("/a"):  # another writer finishes items b and c while the batch runs
            for other in urls[1:]:
                storage.for_session("run", target_id_from_text(other)).save_string(DONE, "<p>by someone else</p>")
        if not url.endswith("/c"):
            store.save_string(DONE, f"<p>{url}</p>")
        return url

    result = run_batch(storage, urls, process, session_id="run", progress=False)
    assert [(r.status, r.value) for r in result.items] == [("done", urls[0]), ("done", urls[1]), ("done", urls[2])]
    assert storage.for_session("run", target_id_from_text(urls[1])).load_string(DONE) == f"<p>{urls[1]}</p>"


@pytest.mark.parametrize("error", [OSError("listing is down"), RuntimeError("a custom backend's bug")])
def test_a_listing_that_fails_falls_back_to_per_item_checks(tmp_path: Path, error: Exception) -> None:
    class Unlistable(LocalStorage):
        def _list_targets(self, session: str) -> Any:
            raise error

    storage = Unlistable("s", "t", root=tmp_path)
    urls = ["https://example.com/x", "https://example.com/y"]
    _prepare(storage, urls[0], "done")
    _prepare(storage, urls[1], "done_and_stale_error")
    result = run_batch(storage, urls, _process(set()), session_id="run", progress=False, workers=2)
    assert [r.status for r in result.items] == ["skipped", "done"]
    assert not storage.for_session("run", target_id_from_text(urls[1])).exists(ERROR)
