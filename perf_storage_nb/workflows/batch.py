"""Batch and resume: run one processing function per item, one target per item, and redo only what is missing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from ..base import BaseStorage
from ..errors import StorageConfigError, StorageConfigTypeError, StorageError
from ..factory import create_storage
from ..names import check_id, check_key, target_id_from_text
from .batch_items import Outcome, execute_item, plan_item, record_failure, targets_at_start
from .concurrent_run import ConcurrentRun
from .executors import Engine, check_out_of_process, resolve_engine
from .progress import BatchProgress
from .remote import RemoteJob, run_remote_item
from .results import BatchInterrupted, BatchResult, ItemResult

__all__ = ["default_target_id", "run_batch"]


def default_target_id(item: Any) -> str:
    """Target id of a batch item: ``target_id_from_text`` of a str item (e.g. a URL)."""
    if isinstance(item, str):
        return target_id_from_text(item)
    raise StorageError(
        f"cannot derive a target id from a {type(item).__name__} item; pass target_id=callable(item) -> str"
    )


def _as_storage(
    storage: BaseStorage | Mapping[str, Any] | str, session_id: str | None, api_key: Any, remote: bool
) -> BaseStorage:
    if isinstance(storage, BaseStorage):
        if api_key is not None and not remote:
            raise StorageConfigError(
                "api_key= is for a storage that run_batch builds from a config or URL (or for the workers of a "
                "process or cluster executor); this storage already has its own"
            )
        return storage
    overrides: dict[str, Any] = {}
    if callable(api_key):
        overrides["api_key"] = api_key()  # this process may call it too: it is the workers' way to the key
    elif api_key is not None and not remote:  # a key string never goes to workers (refused later)
        overrides["api_key"] = api_key
    if isinstance(storage, str) or "target_id" not in storage:
        overrides["target_id"] = "batch"
    if session_id is not None and (isinstance(storage, str) or "session_id" not in storage):
        overrides["session_id"] = session_id
    return create_storage(storage, **overrides)


def run_batch(
    storage: BaseStorage | Mapping[str, Any] | str,
    items: Iterable[Any],
    process: Callable[[Any, BaseStorage], Any],
    *,
    session_id: str | None = None,
    target_id: Callable[[Any], str] = default_target_id,
    done_key: str | Sequence[str] | None = "output/rendered.html",
    resume: bool = True,
    error_key: str | None = "reports/errors.md",
    stop_on_error: bool = False,
    progress: bool = True,
    desc: str | None = None,
    workers: int | None = None,
    executor: Any = None,
    window: int | None = None,
    api_key: str | Callable[[], str | None] | None = None,
    cancel_timeout: float | None = 10.0,
) -> BatchResult:
    """Run ``process(item, target_storage)`` once per item: one session per batch, one target per item.

    - ``storage``: any storage (or config dict / URL) of the backend to use; the batch writes to session
      ``session_id`` (default: the storage's own session), one sibling target per item.
    - ``target_id(item)``: the item's target (default: ``target_id_from_text`` of a URL or other text).
      An item equal to an earlier one is skipped; a different item mapped to a target already used
      fails ("target id collision") rather than overwrite or hide it.
    - ``done_key``: key(s) whose presence marks an item as finished. With ``resume=True`` such items are
      skipped, so an interrupted batch re-run redoes only the rest; ``process`` must write them (an item
      that returns without them is reported as failed, since a re-run could not tell it is done). The
      session's targets are listed once up front: an item of a target that was not there skips the resume
      check and the stale-report check (it cannot be done already), so it costs one existence check.
    - Errors are caught per item, reported in the result (and saved under ``error_key`` in the item's
      target, removed again once the item succeeds); the batch goes on unless ``stop_on_error``. An item
      whose error record exists is not done, even when ``process`` wrote the done keys before raising;
      when no error record could be written, the done keys of a failed item are deleted instead.
    - Parallel: ``workers=N`` runs items on a thread pool of N (I/O-bound work); ``executor=`` takes any
      ``concurrent.futures.Executor`` — a ``ProcessPoolExecutor``, ``loky.get_reusable_executor()`` (pickles
      notebook functions), ``distributed.Client(...).get_executor()`` (a Dask cluster). Target ids are decided
      up front in item order; at most ``window`` items are in flight; results keep item order. Process and
      cluster workers rebuild the storage from ``to_config()`` and read the API key from their own environment
      (``PERF_STORAGE_API_KEY``) or call ``api_key`` (a callable) there: a key string never travels.
      After Ctrl-C, running items get ``cancel_timeout`` seconds to finish before they are abandoned.
    """
    engine = resolve_engine(workers, executor, window)
    try:
        return _run(
            engine, storage, items, process, session_id, target_id, done_key, resume, error_key, stop_on_error,
            progress, desc, api_key, cancel_timeout,
        )  # fmt: skip
    finally:
        if engine is not None and engine.owned:
            engine.executor.shutdown(wait=False, cancel_futures=True)  # idempotent; the run shut it down already


def _run(
    engine: Engine | None,
    storage: BaseStorage | Mapping[str, Any] | str,
    items: Iterable[Any],
    process: Callable[[Any, BaseStorage], Any],
    session_id: str | None,
    target_id: Callable[[Any], str],
    done_key: str | Sequence[str] | None,
    resume: bool,
    error_key: str | None,
    stop_on_error: bool,
    progress: bool,
    desc: str | None,
    api_key: Any,
    cancel_timeout: float | None,
) -> BatchResult:
    if cancel_timeout is not None and (isinstance(cancel_timeout, bool) or not isinstance(cancel_timeout, int | float)):
        raise StorageConfigTypeError(f"cancel_timeout must be seconds (a number) or None, not {cancel_timeout!r}"[:200])
    if cancel_timeout is not None and not cancel_timeout >= 0:
        raise StorageConfigError(f"cancel_timeout must be >= 0 seconds, not {cancel_timeout}")
    remote = engine is not None and engine.out_of_process
    base = _as_storage(storage, session_id, api_key, remote)
    session = check_id(session_id if session_id is not None else base.session_id, "session_id")
    done_keys = [] if done_key is None else [done_key] if isinstance(done_key, str) else list(done_key)
    done_keys = [check_key(k) for k in done_keys]
    if error_key is not None:
        check_key(error_key)
    config = check_out_of_process(engine, base, process, api_key) if engine is not None and remote else None
    todo = list(items)
    result = BatchResult(session_id=session)
    seen: dict[str, tuple[int, Any]] = {}
    known = targets_at_start(base, session, bool(resume and done_keys) or error_key is not None)

    def is_new(target: str) -> bool:
        return known is not None and target not in known

    bar = BatchProgress(len(todo), desc or session, progress)
    if engine is None:
        return _run_sequential(base, session, todo, process, target_id, done_keys, resume, error_key, seen,
                               stop_on_error, result, bar, is_new)  # fmt: skip
    executor = engine.executor
    job = (
        RemoteJob(config, session, process, tuple(done_keys), resume, error_key, api_key)
        if config is not None
        else None
    )

    def submit(item: Any, target: str) -> Future[Outcome]:
        if job is not None:  # other processes rebuild the storage from its configuration
            return executor.submit(run_remote_item, job, item, target, is_new(target))
        return executor.submit(
            execute_item, base, session, item, target, process, done_keys, resume, error_key, is_new(target)
        )

    run = ConcurrentRun(
        todo,
        engine,
        plan=lambda index, item: plan_item(index, item, target_id, seen),
        submit=submit,
        record=lambda item, target, exc: record_failure(base, session, item, target, exc, done_keys, error_key),
        on_result=lambda r: bar.advance(r.status),
        stop_on_error=stop_on_error,
        cancel_timeout=cancel_timeout,
    )
    try:
        run.run()
    except KeyboardInterrupt as exc:
        result.items, result.interrupted = run.fill_not_run("interrupted"), True
        bar.close(result.counts(), interrupted=True)
        raise BatchInterrupted(result) from exc
    except BaseException:
        bar.close()  # no live widget left behind by an error of the engine itself
        raise
    result.items = run.fill_not_run("")
    bar.close(result.counts())
    return result


def _run_sequential(
    base: BaseStorage,
    session: str,
    todo: list[Any],
    process: Callable[[Any, BaseStorage], Any],
    target_id: Callable[[Any], str],
    done_keys: list[str],
    resume: bool,
    error_key: str | None,
    seen: dict[str, tuple[int, Any]],
    stop_on_error: bool,
    result: BatchResult,
    bar: BatchProgress,
    is_new: Callable[[str], bool],
) -> BatchResult:
    """Today's loop: one item after another, in this thread."""
    try:
        for index, item in enumerate(todo):
            planned = plan_item(index, item, target_id, seen)
            if isinstance(planned, str):
                outcome = execute_item(
                    base, session, item, planned, process, done_keys, resume, error_key, is_new(planned)
                )
                planned = outcome.to_item(index, item, planned)
            result.items.append(planned)
            bar.advance(planned.status)
            if stop_on_error and planned.status == "failed":
                result.items.extend(
                    ItemResult(i, it, None, "not_run", note="stopped after an earlier failure (stop_on_error)")
                    for i, it in enumerate(todo[index + 1 :], start=index + 1)
                )
                break
    except KeyboardInterrupt as exc:
        result.interrupted = True
        start = len(result.items)
        result.items.extend(
            ItemResult(i, it, None, "not_run", note="interrupted") for i, it in enumerate(todo[start:], start=start)
        )
        bar.close(result.counts(), interrupted=True)
        raise BatchInterrupted(result) from exc
    bar.close(result.counts())
    return result
