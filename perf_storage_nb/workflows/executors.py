"""Where a batch runs: no executor (today's loop), a thread pool of ours, or the caller's executor.

Every check that can refuse a batch runs here, before anything is submitted: the ``workers`` / ``executor``
options, a process function that cannot be pickled, a storage that cannot be rebuilt in another process
(``memory``, an in-process cache service) and an API key that would have to travel inside every task.
No engine is imported here: executors are recognised by their type's module (``distributed``, ``loky``).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from ..base import BaseStorage
from ..errors import StorageConfigError, StorageConfigTypeError, StorageError
from ..factory import create_storage

__all__ = ["Engine", "check_out_of_process", "resolve_engine"]

Mode = Literal["threads", "processes", "cluster"]
_EXAMPLES = (
    "ThreadPoolExecutor(8), ProcessPoolExecutor(2), loky.get_reusable_executor(2) or "
    "distributed.Client(...).get_executor()"
)


@dataclass
class Engine:
    """A resolved executor: how it runs items, whether we own it, how many items may be in flight at once."""

    executor: Executor
    mode: Mode
    owned: bool
    window: int
    name: str

    @property
    def out_of_process(self) -> bool:
        """True when items run in other processes (they get the storage's config, not the storage)."""
        return self.mode != "threads"


def resolve_engine(workers: object, executor: object, window: object) -> Engine | None:
    """The engine for ``workers=`` / ``executor=``; None for the sequential loop. Bad options raise here."""
    if workers is not None and executor is not None:
        raise StorageConfigError("pass workers=N (a thread pool of N) or executor=... (your own executor), not both")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        kind = StorageConfigTypeError if not isinstance(window, int) or isinstance(window, bool) else StorageConfigError
        raise kind(f"window must be a positive int (items in flight at once), not {window!r}"[:200])
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise StorageConfigTypeError(f"workers must be a positive int (threads), not {workers!r}"[:200])
        if workers < 1:
            raise StorageConfigError(f"workers must be a positive int (threads), not {workers}")
        pool = ThreadPoolExecutor(workers, thread_name_prefix="run_batch")
        return Engine(pool, "threads", True, window or _default_window(workers), f"{workers} threads")
    if executor is None:
        return None
    executor = _executor_of(executor)
    module = type(executor).__module__
    mode: Mode
    if isinstance(executor, ThreadPoolExecutor):
        mode = "threads"
    elif module.split(".")[0] == "distributed":
        mode = "cluster"
    else:
        mode = "processes"  # ProcessPoolExecutor, loky, or an executor we do not know: assume other processes
    size = _parallelism(executor)
    return Engine(executor, mode, False, window or _default_window(size), type(executor).__name__)


def _executor_of(executor: object) -> Executor:
    """``executor`` itself when it can submit; a Dask client's own executor; else a clear error."""
    module = type(executor).__module__
    if module.split(".")[0] == "distributed" and type(executor).__name__ == "Client":
        return executor.get_executor()  # type: ignore[attr-defined, no-any-return]  # a Dask Client
    if not callable(getattr(executor, "submit", None)):
        raise StorageConfigTypeError(
            f"executor must be a concurrent.futures.Executor (an object with submit(fn, *args)), not a "
            f"{type(executor).__name__}; e.g. {_EXAMPLES}"
        )
    return executor  # type: ignore[return-value]  # duck-typed: anything with submit() returning a Future


def _parallelism(executor: Executor) -> int:
    """How many items the executor runs at once (a guess for executors that do not say)."""
    client = getattr(executor, "_client", None)
    if client is not None and callable(getattr(client, "nthreads", None)):  # Dask: threads of every worker
        try:
            return max(1, int(sum(client.nthreads().values())))
        except Exception:  # noqa: BLE001 - a cluster still starting: fall back to a guess
            return 8
    size = getattr(executor, "_max_workers", None)
    return size if isinstance(size, int) and size > 0 else (os.cpu_count() or 2)


def _default_window(parallelism: int) -> int:
    # Enough queued work that no worker waits for the next submission, yet bounded: memory stays flat.
    return max(2 * parallelism, parallelism + 4)


def check_out_of_process(
    engine: Engine, base: BaseStorage, process: Callable[..., Any], api_key: object
) -> dict[str, Any]:
    """Refuse what cannot run in other processes; return the config the workers rebuild the storage from."""
    config = base.to_config()
    where = "a Dask cluster" if engine.mode == "cluster" else f"other processes ({engine.name})"
    if config.get("backend") == "memory":
        raise StorageConfigError(
            f"a memory storage cannot run on {where}: it lives in this process only, so each worker would write to "
            "its own empty copy and the results would be lost; use workers=N (threads share this process's "
            "memory) or a local (root=...) or cache_service storage"
        )
    if isinstance(api_key, str):
        raise StorageConfigError(
            f"api_key='...' would travel inside every task sent to {where}; set PERF_STORAGE_API_KEY in the "
            "workers' environment (LocalCluster(env=...), loky.get_reusable_executor(env=...), or the variable "
            "exported before the pool starts), or pass api_key=callable that reads the key on the worker"
        )
    if api_key is not None and not callable(api_key):
        raise StorageConfigTypeError(f"api_key must be a str or a callable returning one, not {type(api_key).__name__}")
    try:
        create_storage(config).close()  # what each worker will do: fails here if the config cannot be rebuilt
    except StorageError as exc:
        raise StorageConfigError(
            f"workers on {where} rebuild the storage from its to_config(), and this one cannot be rebuilt: {exc}"
        ) from exc
    _check_picklable(engine, process, "process function")
    if api_key is not None:
        _check_picklable(engine, api_key, "api_key callable")
    return config


def _check_picklable(engine: Engine, fn: Any, what: str) -> None:
    """Refuse a function the engine cannot send to its workers, naming it and saying what to do instead."""
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    uses_cloudpickle = engine.mode == "cluster" or "loky" in type(engine.executor).__module__
    try:
        if uses_cloudpickle:
            import cloudpickle  # the pickler of Dask and loky (both depend on it)

            cloudpickle.dumps(fn)
        else:
            pickle.dumps(fn)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is the same refusal
        hint = (
            "define it at module level (in a .py file) and make sure it captures nothing unpicklable (a lock, an "
            "open connection, a storage object)"
        )
        if not uses_cloudpickle:
            loky = "use loky.get_reusable_executor() (it pickles notebook functions and lambdas with cloudpickle)"
            hint = f"{loky} or {hint}"
        raise StorageConfigError(
            f"the {what} {name} cannot be sent to {engine.name} ({type(exc).__name__}: {exc}); {hint}"[:600]
        ) from exc
    if not uses_cloudpickle and getattr(fn, "__module__", None) == "__main__" and _spawns(engine.executor):
        raise StorageConfigError(
            f"the {what} {name} is defined in __main__ (a notebook or script) and {engine.name} starts fresh "
            "processes that cannot import it; use loky.get_reusable_executor() (cloudpickle) or move it to a module"
        )


def _spawns(executor: Executor) -> bool:
    """True for a ProcessPoolExecutor whose workers start fresh (spawn/forkserver) instead of forking us."""
    if not isinstance(executor, ProcessPoolExecutor):
        return False
    context = getattr(executor, "_mp_context", None)
    method = context.get_start_method() if context is not None else None
    return method in ("spawn", "forkserver")
