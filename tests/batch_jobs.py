"""Process functions for the parallel batch tests, at module level so worker processes can import them.

Worker processes (spawned pools, loky, Dask workers) import this module by name: ``tests/`` is on their
``sys.path`` as it is on the test process's.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from perf_storage_nb import BaseStorage


def render(url: str, store: BaseStorage) -> dict[str, Any]:
    """The seed's key layout: source, results, then the done key last; returns the metrics and the pid."""
    if not store.exists("source/original.html"):
        store.save_string("source/original.html", f"<html><body><p>{url}</p></body></html>")
    source = store.load_string("source/original.html")
    out = source.replace("<p>", "<p class='x'>")
    metrics = {"input_size": len(source), "output_size": len(out)}
    store.save("results/metrics.json", metrics)
    store.save_string("output/rendered.html", out)
    return {**metrics, "pid": os.getpid()}


def flaky(url: str, store: BaseStorage) -> dict[str, Any]:
    """Fails for URLs ending in ``=2`` (after writing a source), renders the others."""
    if url.endswith("=2"):
        store.save_string("source/original.html", "<html>partial</html>")
        raise ValueError("cannot parse page 2")
    return render(url, store)


def late_failure(url: str, store: BaseStorage) -> None:
    """Writes the done key, then raises: never done."""
    render(url, store)
    raise RuntimeError("crashed after writing the output")


def no_done_key(url: str, store: BaseStorage) -> None:
    """Returns without writing the done key."""
    store.save("results/x.json", 1)


def unpicklable_value(url: str, store: BaseStorage) -> Any:
    """Finishes the item but returns a value that cannot travel back (a lock)."""
    render(url, store)
    return threading.Lock()


class LocalError(Exception):
    """An exception that cannot be pickled (it holds a lock)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def unpicklable_error(url: str, store: BaseStorage) -> None:
    """Raises an exception that cannot travel back."""
    raise LocalError(f"local trouble with {url}")


def cpu_item(n: int, store: BaseStorage) -> int:
    """About ``n`` pure-Python steps, then one save (the CPU-bound benchmark item)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    store.save_string("output/rendered.html", str(total))
    return total


def block_once(spec: str, store: BaseStorage) -> dict[str, Any]:
    """``"<victim>|<folder>|<url>"``: the victim item records its pid and blocks on its first attempt.

    The test kills that process (SIGKILL) while it blocks; a retry (an engine that reruns lost tasks) finds
    the marker and completes. Every run appends a line to ``runs.log`` in the folder.
    """
    victim, folder, url = spec.split("|", 2)
    base = Path(folder)
    with (base / "runs.log").open("a") as log:
        log.write(f"{url} {os.getpid()}\n")
    marker = base / "victim.pid"
    if url == victim and not marker.exists():
        store.save_string("source/original.html", "<html>started</html>")
        marker.write_text(str(os.getpid()))
        time.sleep(120)  # killed here
    return render(url, store)


def read_key_file(path: str) -> str:
    """The api_key callable of the tests: the key lives in a file only the workers read."""
    return Path(path).read_text().strip()


def gate(spec: str, store: BaseStorage) -> dict[str, Any]:
    """``"<victim>|<folder>|<url>"``: the victim announces itself (``waiting``) and waits for ``go`` (bounded)."""
    victim, folder, url = spec.split("|", 2)
    base = Path(folder)
    if url == victim:
        (base / "waiting").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while not (base / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        time.sleep(0.05)
    return render(url, store)


def scheduler_task_specs(dask_scheduler: Any) -> list[bytes]:
    """Every task the Dask scheduler holds, pickled as it would travel (run on the scheduler)."""
    import cloudpickle

    return [cloudpickle.dumps(ts.run_spec) + repr(ts.run_spec).encode() for ts in dask_scheduler.tasks.values()]
