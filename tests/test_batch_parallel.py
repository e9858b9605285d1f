"""run_batch on threads, process pools and loky: every promise of the sequential batch, now concurrently.

Each semantic test runs the same batch sequentially and on an engine and compares the outcomes item by item.
Process pools use the ``spawn`` start method (the test process has threads; forking it is unsafe).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import batch_jobs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import BaseStorage, LocalStorage, MemoryStorage, StorageError, target_id_from_text
from perf_storage_nb.errors import StorageConfigError
from perf_storage_nb.workflows import BatchInterrupted, run_batch

URLS = [f"https://example.com/page/{i}?q={i}" for i in range(8)]
SPAWN = multiprocessing.get_context("spawn")


def outcomes(result: Any) -> list[tuple[str | None, str, str, str]]:
    """What must not differ between engines: target, status, error text, note (values hold the pid)."""
    return [(r.target_id, r.status, r.error_text, r.note) for r in result.items]


@pytest.fixture(scope="module")
def process_pool() -> Iterator[ProcessPoolExecutor]:
    """Two spawned worker processes for the module (spawning costs about a second each)."""
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        yield pool


@pytest.fixture(scope="module")
def loky_pool() -> Iterator[Executor]:
    loky = pytest.importorskip("loky", reason="needs loky (pip install -e '.[parallel]')")
    pool = loky.get_reusable_executor(max_workers=2, timeout=60)
    yield pool


ENGINES = ["sequential", "threads", "process", "loky"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> dict[str, Any]:
    """run_batch keyword arguments selecting one engine."""
    name = request.param
    if name == "sequential":
        return {}
    if name == "threads":
        return {"workers": 4}
    if name == "process":
        return {"executor": request.getfixturevalue("process_pool")}
    return {"executor": request.getfixturevalue("loky_pool")}


# ---- the promises, on every engine --------------------------------------------------------------------------
def test_mixed_batch_gives_the_sequential_outcomes_in_item_order(tmp_path: Path, engine: dict[str, Any]) -> None:
    items: list[object] = [*URLS[:5], URLS[0], 42]  # a failure (=2), a duplicate, an item without a target id
    seq = run_batch(LocalStorage("s", "t", root=tmp_path / "seq"), items, batch_jobs.flaky, progress=False)
    storage = LocalStorage("s", "t", root=tmp_path / "par")
    par = run_batch(storage, items, batch_jobs.flaky, progress=False, **engine)
    assert outcomes(par) == outcomes(seq)
    assert [r.index for r in par.items] == list(range(len(items)))
    assert [r.status for r in par.items] == ["done", "done", "failed", "done", "done", "skipped", "failed"]
    assert par.items[2].error_text == "ValueError: cannot parse page 2"
    assert par.items[0].value["output_size"] == seq.items[0].value["output_size"]
    report = storage.for_target(target_id_from_text(URLS[2])).load_string("reports/errors.md")
    assert "ValueError: cannot parse page 2" in report
    assert storage.targets("s") == sorted(target_id_from_text(u) for u in URLS[:5])


def test_resume_redoes_only_failed_items(tmp_path: Path, engine: dict[str, Any]) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    first = run_batch(storage, URLS[:4], batch_jobs.flaky, progress=False, **engine)
    assert [r.status for r in first.items] == ["done", "done", "failed", "done"]
    second = run_batch(storage, URLS[:4], batch_jobs.render, progress=False, **engine)
    assert [r.status for r in second.items] == ["skipped", "skipped", "done", "skipped"]
    target = storage.for_target(target_id_from_text(URLS[2]))
    assert not target.exists("reports/errors.md")
    assert target.load_string("output/rendered.html") == "<html>partial</html>"  # reused the partial source


def test_failed_or_incomplete_items_are_never_counted_done(tmp_path: Path, engine: dict[str, Any]) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    late = run_batch(storage, URLS[:2], batch_jobs.late_failure, progress=False, **engine)
    assert [r.status for r in late.items] == ["failed", "failed"]
    assert "crashed after writing the output" in late.items[0].error_text
    again = run_batch(storage, URLS[:2], batch_jobs.render, progress=False, **engine)
    assert [r.status for r in again.items] == ["done", "done"]  # the error record kept them from being "done"
    missing = run_batch(storage, URLS[2:3], batch_jobs.no_done_key, progress=False, **engine)
    assert missing.items[0].status == "failed" and "output/rendered.html" in missing.items[0].error_text


def test_target_id_collisions_are_decided_up_front(tmp_path: Path, engine: dict[str, Any]) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    items = ["a-1", "a_1", "a-1", "b-2", "b_2"]
    result = run_batch(storage, items, batch_jobs.render, target_id=_underscored, progress=False, **engine)
    assert [r.status for r in result.items] == ["done", "failed", "skipped", "done", "failed"]
    assert result.items[1].error_text == "StorageError: target id collision with item #0: both map to target 'a_1'"
    assert result.items[2].note == "duplicate of item #0"
    # the colliding item never ran: item #0's outputs are its own
    assert storage.for_target("a_1").load_string("source/original.html") == "<html><body><p>a-1</p></body></html>"


def _underscored(item: str) -> str:
    return item.replace("-", "_")


def test_stop_on_error_stops_submitting(tmp_path: Path) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    items = [URLS[2], *[f"https://example.com/more/{i}" for i in range(40)]]  # the first item fails
    result = run_batch(storage, items, batch_jobs.flaky, workers=2, window=2, stop_on_error=True, progress=False)
    statuses = [r.status for r in result.items]
    assert statuses[0] == "failed"
    assert statuses.count("not_run") >= 30  # a few may have been in flight; the rest never started
    assert all(r.note == "stopped after an earlier failure (stop_on_error)" for r in result.not_run)
    assert set(statuses) <= {"failed", "done", "not_run"}


def test_threads_work_on_every_backend(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    result = run_batch(storage, [*URLS[:5], 42], batch_jobs.flaky, workers=3, progress=False)
    assert [r.status for r in result.items] == ["done", "done", "failed", "done", "done", "failed"]
    assert storage.targets() == sorted(target_id_from_text(u) for u in URLS[:5])
    assert "cannot parse page 2" in storage.for_target(target_id_from_text(URLS[2])).load_string("reports/errors.md")


# ---- progress, window, values --------------------------------------------------------------------------------
def test_progress_advances_as_items_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    release = threading.Event()
    seen: list[str] = []

    def first_waits(url: str, store: BaseStorage) -> None:
        if url == URLS[0] and not release.wait(20):  # item 0 finishes only after the others were counted
            raise TimeoutError("the progress bar never counted the later items")
        batch_jobs.render(url, store)
        seen.append(url)
        if len(seen) == 3:
            release.set()

    result = run_batch(LocalStorage("s", "t", root=tmp_path), URLS[:4], first_waits, workers=4, desc="pages")
    assert result.ok and seen[-1] == URLS[0]
    err = capsys.readouterr().err
    assert "pages" in err and "4/4" in err and "done=4, failed=0" in err


class CountingPool(ThreadPoolExecutor):
    """A thread pool that records how many submitted futures were outstanding at most."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.outstanding = 0
        self.most = 0
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.lock:
            self.outstanding += 1
            self.most = max(self.most, self.outstanding)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._gone)
        return future

    def _gone(self, _: Future[Any]) -> None:
        with self.lock:
            self.outstanding -= 1


def test_submissions_stay_within_the_window(tmp_path: Path) -> None:
    pool = CountingPool(4)
    items = [f"https://example.com/w/{i}" for i in range(300)]
    with pool:
        result = run_batch(LocalStorage("s", "t", root=tmp_path), items, batch_jobs.render, executor=pool, window=6,
                           progress=False)  # fmt: skip
    assert result.counts()["done"] == 300
    assert 1 < pool.most <= 6


def test_unpicklable_values_and_errors_come_back_as_notes(tmp_path: Path, process_pool: ProcessPoolExecutor) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    value = run_batch(storage, URLS[:1], batch_jobs.unpicklable_value, executor=process_pool, progress=False)
    assert value.items[0].status == "done" and value.items[0].value is None
    assert "could not be sent back" in value.items[0].note
    error = run_batch(storage, URLS[1:2], batch_jobs.unpicklable_error, executor=process_pool, progress=False)
    assert error.items[0].status == "failed" and "LocalError: local trouble with" in error.items[0].error_text


# ---- Ctrl-C -------------------------------------------------------------------------------------------------
def test_keyboard_interrupt_in_an_item_carries_the_partial_result(tmp_path: Path) -> None:
    def interrupt_third(url: str, store: BaseStorage) -> None:
        if url == URLS[2]:
            raise KeyboardInterrupt
        time.sleep(0.05)
        batch_jobs.render(url, store)

    with pytest.raises(BatchInterrupted) as info:
        run_batch(LocalStorage("s", "t", root=tmp_path), URLS, interrupt_third, workers=2, window=2, progress=False)
    partial = info.value.result
    assert partial.interrupted and not partial.ok and len(partial.items) == len(URLS)
    assert [r.index for r in partial.items] == list(range(len(URLS)))
    assert partial.items[2].status == "not_run"
    assert partial.counts()["not_run"] >= 4  # items 4.. were never submitted (window=2)


def test_ctrl_c_cancels_queued_waits_for_running_and_abandons_the_stuck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.workflows.concurrent_run import ConcurrentRun

    stuck = threading.Event()
    pressed = threading.Event()
    started = threading.Semaphore(0)
    cancelled = threading.Event()
    cancel_queued = ConcurrentRun._cancel_not_started

    def cancel_and_tell(run: ConcurrentRun) -> None:
        cancel_queued(run)
        cancelled.set()

    # The second item finishes only once the queued ones are cancelled. A fixed delay (0.2 s) raced on a loaded
    # machine: a worker freed by item 1 before the main thread handled the signal rightly started item 2.
    monkeypatch.setattr(ConcurrentRun, "_cancel_not_started", cancel_and_tell)

    def item(url: str, store: BaseStorage) -> None:
        started.release()
        if url == URLS[0]:
            stuck.wait(30)  # still running after the grace period: abandoned
        else:
            pressed.wait(30)  # running at the interrupt, finishes right after it (within the grace period)
        batch_jobs.render(url, store)

    def press_ctrl_c() -> None:
        for _ in range(2):
            started.acquire(timeout=10)
        os.kill(os.getpid(), signal.SIGINT)
        cancelled.wait(10)
        pressed.set()

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    storage = LocalStorage("s", "t", root=tmp_path)
    try:
        with pytest.raises(BatchInterrupted) as info:
            run_batch(storage, URLS, item, workers=2, window=4, cancel_timeout=6, progress=False)
        # run_batch returned without waiting for the abandoned item: it is still blocked, its output unwritten
        assert not stuck.is_set()
        assert not storage.for_target(target_id_from_text(URLS[0])).exists("output/rendered.html")
    finally:
        stuck.set()
        pressed.set()
        presser.join(10)
    partial = info.value.result
    assert partial.items[0].status == "not_run" and "abandoned while running" in partial.items[0].note
    assert partial.items[1].status == "done", partial.items[1].note  # was running at the interrupt: waited for
    assert all(r.status == "not_run" for r in partial.items[2:])
    assert {r.note for r in partial.items[2:]} <= {"cancelled", "interrupted"}
    assert partial.items[4].note == "interrupted"  # never submitted (window=4)


def test_ctrl_c_right_after_the_executor_took_an_item_still_waits_for_it(tmp_path: Path) -> None:
    """The Ctrl-C lands between ``executor.submit`` returning and the batch recording the future (a real race)."""
    release = threading.Event()

    class InterruptingPool(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            future = super().submit(fn, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGINT)  # handled at the next bytecode: before the caller sees the future
            return future

    def item(url: str, store: BaseStorage) -> None:
        release.wait(10)
        batch_jobs.render(url, store)

    threading.Timer(0.3, release.set).start()
    storage = LocalStorage("s", "t", root=tmp_path)
    with InterruptingPool(2) as pool, pytest.raises(BatchInterrupted) as info:
        run_batch(storage, URLS[:3], item, executor=pool, cancel_timeout=10, progress=False)
    first = info.value.result.items[0]
    assert first.status == "done", first.note  # it was running: waited for, its output counted
    assert storage.for_target(first.target_id).exists("output/rendered.html")
    assert all(r.status == "not_run" for r in info.value.result.items[1:])


def test_the_interrupt_guard_defers_ctrl_c_to_the_end_of_a_critical_section() -> None:
    from perf_storage_nb.workflows.interrupts import InterruptGuard

    guard, reached = InterruptGuard(), []
    with guard.installed(), pytest.raises(KeyboardInterrupt), guard.critical():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler has run by now: deferred, not raised
        reached.append("end of section")
    assert reached == ["end of section"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    with pytest.raises(KeyboardInterrupt), guard.installed():  # outside a section Ctrl-C is immediate, as always
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
        reached.append("after sleep")
    assert reached == ["end of section"]


# ---- a worker process killed mid-item -----------------------------------------------------------------------
def _kill_victim(folder: Path, done: threading.Event) -> None:
    marker = folder / "victim.pid"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and not done.is_set():
        time.sleep(0.05)
    if marker.exists():
        time.sleep(0.1)
        os.kill(int(marker.read_text()), signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["process", "loky"])
def test_worker_killed_mid_item_is_never_done_and_a_rerun_completes(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "ctl"
    folder.mkdir()
    urls = [f"https://example.com/k/{i}" for i in range(12)]
    victim = urls[3]
    items = [f"{victim}|{folder}|{u}" for u in urls]
    storage = LocalStorage("killed", "setup", root=tmp_path / "store")
    if kind == "process":
        pool: Any = ProcessPoolExecutor(2, mp_context=SPAWN)
    else:
        pool = pytest.importorskip("loky").get_reusable_executor(max_workers=2, timeout=60)
    done = threading.Event()
    killer = threading.Thread(target=_kill_victim, args=(folder, done))
    killer.start()
    try:
        first = run_batch(storage, items, batch_jobs.block_once, target_id=_url_target, executor=pool, progress=False)
    finally:
        done.set()
        killer.join(70)
        if kind == "process":
            pool.shutdown(wait=True, cancel_futures=True)
    by_url = {r.item.split("|")[2]: r for r in first.items}
    assert by_url[victim].status == "failed", first.to_text()  # the killed item: failed, never done
    assert "the engine lost this item" in by_url[victim].note
    assert set(first.counts()) == {"done", "skipped", "failed", "not_run"} and first.counts()["skipped"] == 0
    killed = storage.for_target(_url_target(items[3]))
    assert killed.exists("reports/errors.md") and not killed.exists("output/rendered.html")

    if kind == "loky":
        pool = pytest.importorskip("loky").get_reusable_executor(max_workers=2, timeout=60)  # a fresh pool
    else:
        pool = ProcessPoolExecutor(2, mp_context=SPAWN)
    with pool if kind == "process" else contextlib.nullcontext():
        second = run_batch(storage, items, batch_jobs.block_once, target_id=_url_target, executor=pool, progress=False)
    assert second.ok, second.to_text()
    done_in = [[r.status for r in (first.items[i], second.items[i])].count("done") for i in range(len(items))]
    assert done_in == [1] * len(items)  # every item done exactly once across the two runs
    assert all(storage.for_target(_url_target(i)).exists("output/rendered.html") for i in items)


def _url_target(spec: str) -> str:
    return target_id_from_text(spec.split("|", 2)[2])


# ---- bad input: refused before anything runs ----------------------------------------------------------------
class SpyProcessPool(ProcessPoolExecutor):
    """A process pool that records submissions instead of starting processes for them."""

    def __init__(self) -> None:
        super().__init__(1, mp_context=SPAWN)
        self.calls: list[bytes] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.calls.append(pickle.dumps((fn, args, kwargs)))
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"workers": 0}, StorageConfigError, "positive int"),
        ({"workers": -3}, StorageConfigError, "positive int"),
        ({"workers": 2.0}, TypeError, "positive int"),
        ({"workers": "4"}, TypeError, "positive int"),
        ({"workers": True}, TypeError, "positive int"),
        ({"workers": 2, "executor": ThreadPoolExecutor(1)}, StorageConfigError, "not both"),
        ({"executor": object()}, TypeError, "submit"),
        ({"executor": "dask"}, TypeError, "concurrent.futures.Executor"),
        ({"workers": 2, "window": 0}, StorageConfigError, "window"),
        ({"workers": 2, "cancel_timeout": -1}, StorageConfigError, "cancel_timeout"),
        ({"workers": 2, "cancel_timeout": "soon"}, TypeError, "cancel_timeout"),
    ],
)
def test_bad_engine_options_are_refused_before_anything_runs(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    calls: list[str] = []
    storage = LocalStorage("s", "t", root=tmp_path)
    with pytest.raises(error, match=words) as info:
        run_batch(storage, URLS, lambda url, store: calls.append(url), progress=False, **kwargs)
    assert isinstance(info.value, StorageError)
    assert calls == [] and storage.sessions() == []


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(max_value=0), st.floats(), st.text(max_size=5), st.booleans(), st.lists(st.integers())))
def test_any_workers_value_but_a_positive_int_is_refused(workers: object) -> None:
    with pytest.raises(StorageError, match="workers must be a positive int"):
        run_batch(MemoryStorage("s", "t"), URLS, batch_jobs.render, workers=workers, progress=False)  # type: ignore[arg-type]


def test_memory_storage_is_refused_for_processes_with_the_alternatives() -> None:
    pool = SpyProcessPool()
    with pool, pytest.raises(StorageConfigError) as info:
        run_batch(MemoryStorage("s", "t"), URLS, batch_jobs.render, executor=pool, progress=False)
    message = str(info.value)
    assert "memory storage" in message and "workers=N" in message and "local" in message and "cache_service" in message
    assert pool.calls == []


def test_unpicklable_function_is_named_and_loky_suggested(tmp_path: Path) -> None:
    pool = SpyProcessPool()
    with pool, pytest.raises(StorageConfigError) as info:
        run_batch(LocalStorage("s", "t", root=tmp_path), URLS, lambda url, store: None, executor=pool, progress=False)
    message = str(info.value)
    assert "test_batch_parallel" in message and "<lambda>" in message
    assert "loky" in message and "module level" in message
    assert pool.calls == [] and not (tmp_path / "s").exists()


def test_function_capturing_a_lock_is_refused_even_for_cloudpickle(tmp_path: Path, loky_pool: Executor) -> None:
    lock = threading.Lock()

    def process(url: str, store: BaseStorage) -> None:
        with lock:
            batch_jobs.render(url, store)

    with pytest.raises(StorageConfigError, match=r"process function .*process cannot be sent") as info:
        run_batch(LocalStorage("s", "t", root=tmp_path), URLS, process, executor=loky_pool, progress=False)
    assert "captures nothing unpicklable" in str(info.value)


def test_in_process_cache_service_is_refused_for_processes(cache_service_transport: object) -> None:
    from perf_storage_nb.backends.cache_service import CacheServiceStorage
    from perf_storage_nb.cache_client import CacheServiceClient

    storage = CacheServiceStorage("s", "t", client=CacheServiceClient(transport=cache_service_transport))
    pool = SpyProcessPool()
    with pool, pytest.raises(StorageConfigError, match="cannot be rebuilt"):
        run_batch(storage, URLS, batch_jobs.render, executor=pool, progress=False)
    assert pool.calls == []


def test_api_key_string_never_travels_to_processes(tmp_path: Path) -> None:
    pool = SpyProcessPool()
    with pool, pytest.raises(StorageConfigError, match="PERF_STORAGE_API_KEY in the workers' environment"):
        run_batch(LocalStorage("s", "t", root=tmp_path), URLS, batch_jobs.render, executor=pool, api_key="k-123",
                  progress=False)  # fmt: skip
    assert pool.calls == []


# ---- secrets: the key travels out of band, never in a task --------------------------------------------------
@pytest.mark.slow
def test_api_key_is_in_no_pickled_task(cache_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from perf_storage_nb.backends.cache_service import CacheServiceStorage

    canary = cache_server.api_key
    storage = CacheServiceStorage("canary_batch", "setup", url=cache_server.url, api_key=canary)
    monkeypatch.setenv("PERF_STORAGE_API_KEY", canary)  # the workers' environment (spawned below)
    pool = SpyProcessPool()
    with pool:
        result = run_batch(storage, URLS[:4], batch_jobs.render, executor=pool, progress=False)
    assert result.ok, result.to_text()  # the workers did have the key
    assert len(pool.calls) == 4 and not any(canary.encode() in blob for blob in pool.calls)

    # An explicit secret argument: a callable run on the worker; the key stays in a file the task never holds.
    monkeypatch.delenv("PERF_STORAGE_API_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(canary + "\n")
    pool = SpyProcessPool()
    with pool:
        result = run_batch(storage, URLS[4:6], batch_jobs.render, executor=pool, progress=False,
                           api_key=functools.partial(batch_jobs.read_key_file, str(key_file)))  # fmt: skip
    assert result.ok, result.to_text()
    assert pool.calls and not any(canary.encode() in blob for blob in pool.calls)
    assert storage.for_target(target_id_from_text(URLS[5])).exists("output/rendered.html")


def test_importing_the_workflows_loads_no_engine_and_no_progress_bar() -> None:
    import subprocess
    import sys

    code = (
        "import sys, perf_storage_nb.workflows\n"
        "heavy = ('distributed', 'dask', 'loky', 'cloudpickle', 'tqdm', 'IPython', 'ipywidgets')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
