"""Workflows: batch, resume (including a killed batch process), before/after diff, cross-session comparison.

The ``make_storage`` fixture (tests/conftest.py) parametrises these over every backend in the contract suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from perf_storage_nb import BaseStorage, LocalStorage, StorageError, target_id_from_text
from perf_storage_nb.workflows import (
    BatchInterrupted,
    BatchResult,
    before_after,
    compare_sessions,
    diff_saved_snapshots,
    flatten_metrics,
    run_batch,
)

URLS = [f"https://example.com/page/{i}?q={i}" for i in range(6)]


def render(url: str, store: BaseStorage) -> dict[str, int]:
    """A tiny transformation following the seed's key layout."""
    if not store.exists("source/original.html"):
        store.save_string("source/original.html", f"<html><body><p>{url}</p></body></html>")
    source = store.load_string("source/original.html")
    out = source.replace("<p>", "<p class='x'>")
    store.save_string("output/rendered.html", out)
    metrics = {"input_size": len(source), "output_size": len(out)}
    store.save("results/metrics.json", metrics)
    return metrics


# ---- batch -----------------------------------------------------------------------------------------------
def test_batch_one_session_one_target_per_item(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage(session="setup", target="t0")
    result = run_batch(storage, URLS, render, session_id="batch_001", progress=False)
    assert result.ok and bool(result)
    assert result.counts() == {"done": 6, "skipped": 0, "failed": 0, "not_run": 0}
    assert [r.target_id for r in result.items] == [target_id_from_text(u) for u in URLS]
    assert storage.targets("batch_001") == sorted(target_id_from_text(u) for u in URLS)
    first = storage.for_session("batch_001", target_id_from_text(URLS[0]))
    assert first.list_keys() == ["output/rendered.html", "results/metrics.json", "source/original.html"]
    assert result.items[0].value == first.load("results/metrics.json")
    assert "setup" not in storage.targets("batch_001")


def test_batch_collects_per_item_errors_and_goes_on(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()

    def flaky(url: str, store: BaseStorage) -> None:
        if url.endswith("=2"):
            raise ValueError("cannot parse page 2")
        render(url, store)

    items: list[object] = [*URLS[:4], 42]  # 42: no target id can be derived from an int
    result = run_batch(storage, items, flaky, progress=False)
    assert not result.ok
    assert result.counts() == {"done": 3, "skipped": 0, "failed": 2, "not_run": 0}
    bad = {r.index: r for r in result.failed}
    assert set(bad) == {2, 4}
    assert isinstance(bad[2].error, ValueError) and bad[2].error_text == "ValueError: cannot parse page 2"
    assert bad[4].target_id is None and "target_id=callable" in bad[4].error_text
    assert result.retry_items() == [URLS[2], 42]
    # The failure is also stored in the item's target, in the seed's reports/ folder.
    report = storage.for_target(bad[2].target_id).load_string("reports/errors.md")
    assert "ValueError: cannot parse page 2" in report
    text = result.to_text()
    assert "cannot parse page 2" in text and "re-run" in text
    with pytest.raises(StorageError, match="cannot parse page 2"):
        result.raise_for_errors()
    page = result._repr_html_()
    assert "2 failed" in page and "cannot parse page 2" in page


def test_batch_rerun_after_failure_redoes_only_failed_and_clears_report(
    make_storage: Callable[..., BaseStorage],
) -> None:
    storage = make_storage()
    broken = {URLS[1]}

    def sometimes(url: str, store: BaseStorage) -> None:
        if url in broken:
            store.save_string("source/original.html", "<html>partial</html>")
            raise RuntimeError("network down")
        render(url, store)

    first = run_batch(storage, URLS[:3], sometimes, progress=False)
    assert [r.status for r in first.items] == ["done", "failed", "done"]
    broken.clear()
    calls: list[str] = []

    def counting(url: str, store: BaseStorage) -> None:
        calls.append(url)
        render(url, store)

    second = run_batch(storage, URLS[:3], counting, progress=False)
    assert calls == [URLS[1]]
    assert [r.status for r in second.items] == ["skipped", "done", "skipped"]
    target = storage.for_target(target_id_from_text(URLS[1]))
    assert not target.exists("reports/errors.md")
    # The resume reused the partial source saved before the failure (the seed's resume recipe).
    assert target.load_string("output/rendered.html") == "<html>partial</html>"


def test_batch_stop_on_error_and_duplicates(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()

    def fail_second(url: str, store: BaseStorage) -> None:
        if url == URLS[1]:
            raise KeyError("boom")
        render(url, store)

    result = run_batch(storage, [URLS[0], URLS[0], URLS[1], URLS[2]], fail_second, stop_on_error=True, progress=False)
    assert [r.status for r in result.items] == ["done", "skipped", "failed", "not_run"]
    assert result.items[1].note == "duplicate of item #0"
    assert result.retry_items() == [URLS[1], URLS[2]]


def test_batch_missing_done_key_is_a_failure(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    result = run_batch(storage, URLS[:1], lambda url, store: store.save("results/x.json", 1), progress=False)
    assert result.failed and "output/rendered.html" in result.failed[0].error_text


def test_batch_without_resume_redoes_everything(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    run_batch(storage, URLS[:2], render, progress=False)
    again = run_batch(storage, URLS[:2], render, resume=False, progress=False)
    assert again.counts()["done"] == 2


def test_batch_interrupt_carries_partial_result(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()

    def interrupt_third(url: str, store: BaseStorage) -> None:
        if url == URLS[2]:
            raise KeyboardInterrupt
        render(url, store)

    with pytest.raises(BatchInterrupted) as info:
        run_batch(storage, URLS[:4], interrupt_third, progress=False)
    partial = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert partial.interrupted and not partial.ok
    assert [r.status for r in partial.items] == ["done", "done", "not_run", "not_run"]


def test_batch_progress_bar_counts_items(storage: BaseStorage, capsys: pytest.CaptureFixture[str]) -> None:
    run_batch(storage, URLS[:3], render, progress=True, desc="pages")
    err = capsys.readouterr().err
    assert "pages" in err and "3/3" in err


def test_batch_from_config_dict(tmp_path: Path) -> None:
    config = {"backend": "local", "root": str(tmp_path), "session_id": "batch_cfg"}
    result = run_batch(config, URLS[:2], render, progress=False)
    assert result.session_id == "batch_cfg" and result.ok
    assert sorted(p.name for p in (tmp_path / "batch_cfg").iterdir()) == sorted(
        target_id_from_text(u) for u in URLS[:2]
    )


def test_batch_result_repr_is_short_and_stable() -> None:
    assert repr(BatchResult("s")) == "BatchResult(session_id='s', done=0, skipped=0, failed=0, not_run=0)"


# ---- resume after a killed process -----------------------------------------------------------------------
_WORKER = textwrap.dedent(
    """
    import sys, time
    from perf_storage_nb import LocalStorage
    from perf_storage_nb.workflows import run_batch

    root, *urls = sys.argv[1:]

    def process(url, store):
        store.save_string("source/original.html", "<p>" + url + "</p>")
        if url.endswith("=3"):
            print("blocked", url, flush=True)
            time.sleep(600)  # the test kills us here, mid-item
        store.save_string("output/rendered.html", "<p class='x'>" + url + "</p>")
        print("done", url, flush=True)

    run_batch(LocalStorage("batch_kill", "setup", root=root), urls, process, progress=False)
    print("finished", flush=True)
    """
)


@pytest.mark.slow
def test_resume_after_killing_the_batch_process(tmp_path: Path) -> None:
    root = tmp_path / "store"
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), *URLS],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for _ in range(len(URLS) + 1):  # bounded: one line per item at most
            line = proc.stdout.readline().strip()
            seen.append(line)
            if line.startswith("blocked") or not line:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert seen == [f"done {u}" for u in URLS[:3]] + [f"blocked {URLS[3]}"]
    assert proc.returncode == -signal.SIGKILL

    storage = LocalStorage("batch_kill", "setup", root=root)
    killed = storage.for_target(target_id_from_text(URLS[3]))
    assert killed.exists("source/original.html") and not killed.exists("output/rendered.html")

    calls: list[str] = []

    def process(url: str, store: BaseStorage) -> None:
        calls.append(url)
        store.save_string("output/rendered.html", store.load_string("source/original.html", f"<p>{url}</p>"))

    result = run_batch(storage, URLS, process, progress=False)
    assert calls == URLS[3:]
    assert [r.status for r in result.items] == ["skipped"] * 3 + ["done"] * 3
    assert all(storage.for_target(target_id_from_text(u)).exists("output/rendered.html") for u in URLS)
    again = run_batch(storage, URLS, process, progress=False)
    assert calls == URLS[3:] and again.counts()["skipped"] == len(URLS)


# ---- cross-session comparison -----------------------------------------------------------------------------
def _metrics(storage: BaseStorage, session: str, per_target: dict[str, dict[str, object]]) -> None:
    for target, metrics in per_target.items():
        storage.for_session(session, target).save("results/metrics.json", metrics)


def test_compare_sessions_flags_regressions_with_tolerance(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage(session="run_b", target="item_001")
    _metrics(
        storage,
        "run_a",
        {
            "item_001": {"latency_ms": 100.0, "nodes": 340, "accuracy": 0.90, "tool": "v1"},
            "item_002": {"latency_ms": 50.0, "nodes": 10},
            "item_003": {"latency_ms": 10.0},
        },
    )
    _metrics(
        storage,
        "run_b",
        {
            "item_001": {"latency_ms": 104.0, "nodes": 400, "accuracy": 0.80, "tool": "v2"},
            "item_002": {"latency_ms": 40.0, "nodes": 10, "extra": 1},
            "item_004": {"latency_ms": 1.0},
        },
    )
    cmp = compare_sessions(storage, "run_a", higher_is_better=["accuracy"], tolerances={"nodes": 0.5})
    got = {(r.target_id, r.metric): r.status for r in cmp.rows}
    assert got == {
        ("item_001", "accuracy"): "regressed",  # higher is better, dropped 11%
        ("item_001", "latency_ms"): "within",  # +4% < 5%
        ("item_001", "nodes"): "within",  # +18% < its own 50%
        ("item_001", "tool"): "changed",
        ("item_002", "extra"): "added",
        ("item_002", "latency_ms"): "improved",
        ("item_002", "nodes"): "same",
        ("item_003", "*"): "missing_current",
        ("item_004", "*"): "missing_baseline",
    }
    assert not cmp.ok and len(cmp.regressions) == 2 and len(cmp.improvements) == 1
    assert cmp.targets() == ["item_001", "item_002", "item_003", "item_004"]
    latency = next(r for r in cmp.rows if r.metric == "latency_ms" and r.target_id == "item_002")
    assert latency.change_text() == "-20.0%"
    with pytest.raises(StorageError, match="accuracy"):
        cmp.raise_for_regressions()
    assert "regressions=2" in repr(cmp)
    assert "2 regressed" not in cmp._repr_html_() and "1 regressed" in cmp._repr_html_()
    tight = compare_sessions(storage, "run_a", targets=["item_001"], tolerance=0.01)
    assert {r.metric: r.status for r in tight.rows}["latency_ms"] == "regressed"


def test_compare_sessions_zero_baseline_and_nested(storage: BaseStorage) -> None:
    _metrics(storage, "base", {"t": {"errors": 0, "timing": {"parse_ms": 10}}})
    _metrics(storage, "cur", {"t": {"errors": 2, "timing": {"parse_ms": 10}}})
    cmp = compare_sessions(storage, "base", session_id="cur")
    rows = {r.metric: r for r in cmp.rows}
    assert rows["errors"].status == "regressed" and rows["errors"].change_text() == "+inf%"
    assert rows["timing.parse_ms"].status == "same"


def test_flatten_metrics() -> None:
    assert flatten_metrics({"b": {"y": 1, "x": [1]}, "a": 2}) == {"a": 2, "b.x": [1], "b.y": 1}
    assert flatten_metrics(3) == {"value": 3}


# ---- before/after ----------------------------------------------------------------------------------------
def test_before_after_snapshots_saved_and_diffed(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage(target="item_001")
    storage.save("graphs/parsed.json", {"nodes": 340, "tags": ["p", "div"]})
    storage.save_string("output/rendered.html", "<p>old</p>\n")
    storage.save("results/obsolete.json", 1)
    with before_after(storage, "transform", diff_key="output/diff.html") as ba:
        storage.save("graphs/parsed.json", {"nodes": 300, "tags": ["p", "div"]})
        storage.save_string("output/rendered.html", "<p>new</p>\n")
        storage.delete("results/obsolete.json")
        storage.save("results/metrics.json", {"size_reduction_pct": 12.0})
    diff = ba.diff
    assert diff is not None and ba.labels == ("before_transform", "after_transform")
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 2)
    text = diff.to_text()
    assert "before_transform -> after_transform" in text
    assert "snapshots/" not in text  # the snapshot files themselves are not part of the state
    assert "graphs/parsed.json root['nodes']: 340 -> 300" in text
    assert "+<p>new</p>" in text
    assert sorted(storage.list_keys("snapshots/")) == [
        "snapshots/after_transform.json",
        "snapshots/before_transform.json",
    ]
    page = storage.load_string("output/diff.html")
    assert page.startswith("<!DOCTYPE html>") and "after_transform" in page
    again = diff_saved_snapshots(storage, "before_transform", "after_transform")
    assert again.to_text() == text
    assert "changed=2" in repr(ba) and ba._repr_html_() == diff._repr_html_()
    with pytest.raises(KeyError, match="before_transform, after_transform|saved snapshots"):
        diff_saved_snapshots(storage, "before_cleanup", "after_transform")


def test_before_after_failed_step_has_no_after(storage: BaseStorage) -> None:
    storage.save("a.json", 1)
    ba = before_after(storage, "cleanup", save=False)
    with pytest.raises(RuntimeError), ba:
        storage.save("a.json", 2)
        raise RuntimeError("transform crashed")
    assert ba.before is not None and ba.after is None and ba.diff is None
    assert storage.list_keys() == ["a.json"]  # save=False writes nothing
    assert "before taken" in repr(ba)


def test_before_after_over_several_targets_with_tolerance(make_storage: Callable[..., BaseStorage]) -> None:
    a, b = make_storage(target="t_a"), make_storage(target="t_b")
    a.save("results/metrics.json", {"p50_ms": 10.0})
    b.save("results/metrics.json", {"p50_ms": 10.0})
    with before_after([a, b], "rerun", rel_tol="5%") as ba:
        a.save("results/metrics.json", {"p50_ms": 10.2})  # within 5%
        b.save("results/metrics.json", {"p50_ms": 20.0})
    assert ba.diff is not None and ba.diff.changed == 1 and ba.diff.tolerated == 1
    assert "t_b/results/metrics.json" in ba.diff.to_text()


# ---- review fixes ----------------------------------------------------------------------------------------
def test_item_that_wrote_its_done_key_then_raised_is_redone_on_resume(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    fail = [True]

    def late_failure(url: str, store: BaseStorage) -> None:
        render(url, store)  # writes the done key output/rendered.html ...
        if fail[0]:
            raise RuntimeError("crashed after writing the output")  # ... then fails

    first = run_batch(storage, URLS[:1], late_failure, progress=False)
    assert [r.status for r in first.items] == ["failed"]
    target = storage.for_target(target_id_from_text(URLS[0]))
    assert target.exists("output/rendered.html") and target.exists("reports/errors.md")
    fail[0] = False
    second = run_batch(storage, URLS[:1], late_failure, progress=False)
    assert [r.status for r in second.items] == ["done"]
    assert not target.exists("reports/errors.md")  # the stale report goes once the item succeeds


def test_failed_item_without_error_record_loses_its_done_keys(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()

    def late_failure(url: str, store: BaseStorage) -> None:
        render(url, store)
        raise RuntimeError("crashed after writing the output")

    first = run_batch(storage, URLS[:1], late_failure, error_key=None, progress=False)
    assert first.items[0].status == "failed"
    assert not storage.for_target(target_id_from_text(URLS[0])).exists("output/rendered.html")
    calls: list[str] = []
    run_batch(
        storage, URLS[:1], lambda url, store: calls.append(url) or render(url, store), error_key=None, progress=False
    )
    assert calls == [URLS[0]]


def test_target_id_collision_of_different_items_fails(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    items = ["a-1", "a_1", "a-1"]
    result = run_batch(storage, items, render, target_id=lambda item: item.replace("-", "_"), progress=False)
    assert [r.status for r in result.items] == ["done", "failed", "skipped"]
    assert result.items[1].error_text == "StorageError: target id collision with item #0: both map to target 'a_1'"
    assert result.items[2].note == "duplicate of item #0"
    assert result.retry_items() == ["a_1"]


def test_negative_infinite_change_is_shown_as_minus_inf() -> None:
    from perf_storage_nb.workflows import MetricRow

    assert MetricRow("t", "m", 0, -3, "improved", float("-inf")).change_text() == "-inf%"
    assert MetricRow("t", "m", 0, 3, "regressed", float("inf")).change_text() == "+inf%"


def test_before_after_never_reads_its_own_snapshot_files(storage: BaseStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.save("a.json", 1)
    with before_after(storage, "one"):
        storage.save("a.json", 2)
    read: list[str] = []
    for name in ("load", "load_string", "load_bytes", "load_any", "info"):
        original = getattr(storage, name)
        monkeypatch.setattr(storage, name, lambda key, *a, _o=original, **k: read.append(key) or _o(key, *a, **k))
    with before_after(storage, "two") as ba:
        storage.save("a.json", 3)
    assert ba.diff is not None and ba.diff.changed == 1
    assert not [k for k in read if k.startswith("snapshots/")]


def test_batch_counts_failures_without_rebuilding_the_list(
    storage: BaseStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [0]
    original = BatchResult.failed

    def counted(self: BatchResult) -> list[object]:
        calls[0] += 1
        return original.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(BatchResult, "failed", property(counted))

    def fail(url: str, store: BaseStorage) -> None:
        raise RuntimeError("x")

    result = run_batch(storage, URLS, fail, progress=False)
    assert calls[0] == 0 and len(result.items) == len(URLS)
