"""StorageBrowser: time to open on a target of 10,000 keys and to switch targets; requests per navigation step.

Times are best-of-N wall clock on the local backend, next to the bare ``list_keys()`` call they must wrap (the
anchor: the browser's overhead is what is left). Request counts come from an httpx event hook on the cache
service client, so they count what really went over the (in-process) wire.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any

from perf_storage_nb import BaseStorage, LocalStorage
from perf_storage_nb.notebook.browser import StorageBrowser

from .harness import Report

SECTION = "browser"


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Best-of-``repeat`` duration of ``fn()`` in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def fill(storage: BaseStorage, n: int) -> None:
    """Write ``n`` small JSON keys (about 30 bytes each) spread over 10 folders."""
    storage.save_many({f"run{i % 10}/k{i:05d}.json": {"i": i, "ok": True} for i in range(n)}).raise_for_errors()


def bench_local(report: Report) -> None:
    """Open on a target of N keys, and switch between two such targets, on the local backend."""
    n = 2_000 if report.quick else 10_000
    repeat = 3 if report.quick else 5
    with tempfile.TemporaryDirectory() as root:
        big = LocalStorage("bench", "big", root=root)
        fill(big, n)
        fill(big.for_target("big2"), n)
        anchor = best_ms(big.list_keys, repeat)

        def open_browser() -> None:
            StorageBrowser(big).close()

        opened = best_ms(open_browser, repeat)
        report.add(
            SECTION,
            f"open on a target of {n:,} keys (local)",
            opened,
            "ms",
            anchor_name="list_keys()",
            anchor_value=anchor,
            aim="< 1000 ms",
        )

        browser = StorageBrowser(big)
        targets = iter(["big2", "big"] * repeat)

        def switch() -> None:
            browser._target.value = next(targets)
            if len(browser._keys.options) == 0:
                raise RuntimeError("switching targets listed no keys")

        switched = best_ms(switch, repeat)
        report.add(
            SECTION,
            f"switch target ({n:,} keys each, local)",
            switched,
            "ms",
            anchor_name="list_keys()",
            anchor_value=anchor,
            aim="< 1000 ms",
        )
        patterns = iter(["k00", "k01"] * repeat)
        filtered = best_ms(lambda: setattr(browser._filter, "value", next(patterns)), repeat)
        report.add(SECTION, f"filter keystroke over {n:,} keys", filtered, "ms", aim="< 100 ms")
        browser._filter.value = ""
        paged = best_ms(browser._next.click, repeat)
        report.add(SECTION, "next page (200 keys)", paged, "ms", aim="< 50 ms")
        picks = iter(list(browser._keys.options[:2]) * repeat)
        selected = best_ms(lambda: setattr(browser._keys, "value", next(picks)), repeat)
        report.add(SECTION, "select a key (preview + meta)", selected, "ms", aim="< 100 ms")
        browser.close()


def bench_scaling(report: Report) -> None:
    """Open-browser time against key count (1k -> 100k keys on the local backend), next to list_keys()."""
    sizes = (1_000, 10_000) if report.quick else (1_000, 10_000, 100_000)
    with tempfile.TemporaryDirectory() as root:
        for n in sizes:
            storage = LocalStorage("scale", f"n{n}", root=root)
            fill(storage, n)
            repeat = 3 if n < 100_000 else 2
            anchor = best_ms(storage.list_keys, repeat)
            opened = best_ms(lambda: StorageBrowser(storage).close(), repeat)  # noqa: B023 - called in this iteration
            report.add(
                SECTION,
                f"scaling: open on {n:,} keys (local)",
                opened,
                "ms",
                anchor_name="list_keys()",
                anchor_value=anchor,
            )


def bench_cache_service(report: Report) -> None:
    """Requests per navigation step on an in-process real cache service with many sessions."""
    try:
        from perf_storage_nb.server import client_cache_service
    except ImportError as exc:
        print(f"  skipped cache service rows: {exc}")
        return
    sessions, targets, keys = (6, 2, 20) if report.quick else (20, 3, 50)
    storage = client_cache_service("s00", "t0")
    try:
        for s in range(sessions):
            for t in range(targets):
                sib = storage.for_session(f"s{s:02d}", f"t{t}")
                sib.save_many({f"k{i:03d}.json": {"s": s, "t": t, "i": i} for i in range(keys)}).raise_for_errors()
        requests: list[str] = []
        storage.client.http.event_hooks["request"].append(lambda r: requests.append(f"{r.method} {r.url.path}"))
        shape = f"{sessions} sessions x {targets} targets x {keys} keys"

        def step(name: str, action: Callable[[], Any]) -> None:
            requests.clear()
            start = time.perf_counter()
            action()
            ms = (time.perf_counter() - start) * 1000
            report.add(SECTION, f"requests: {name}", len(requests), "requests", note=f"{ms:.0f} ms, {shape}")

        holder: dict[str, StorageBrowser] = {}
        step("open browser", lambda: holder.setdefault("b", StorageBrowser(storage)))
        b = holder["b"]
        step("switch target", lambda: setattr(b._target, "value", "t1"))
        step("switch session", lambda: setattr(b._session, "value", "s05"))
        step("select a key", lambda: setattr(b._keys, "value", "k001.json"))
        step("filter keys", lambda: setattr(b._filter, "value", "k00"))
        step("refresh", b.refresh)
        step("diff with same key in s00", lambda: (setattr(b._diff_session, "value", "s00"), b._diff_run.click()))
        b.close()
    finally:
        storage.close()


def run(report: Report) -> None:
    """Entry point used by ``python -m benchmarks``."""
    bench_local(report)
    bench_scaling(report)
    bench_cache_service(report)
