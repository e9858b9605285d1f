"""The worker side of a batch run in other processes: rebuild the storage from its config, run one item.

What travels in each task is a :class:`RemoteJob` (the storage's ``to_config()``, which never holds a
secret, the process function and the batch options), the item and its target id. The API key does not
travel: each worker reads it from its own environment (``PERF_STORAGE_API_KEY``) or calls the ``api_key``
callable the caller gave (e.g. one reading a secrets file); storages are built once per worker process.
"""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base import BaseStorage
from ..errors import StorageError
from ..factory import create_storage
from .batch_items import Outcome, execute_item
from .results import error_text

__all__ = ["RemoteJob", "run_remote_item"]

_storages: dict[str, BaseStorage] = {}
_lock = threading.Lock()  # a Dask worker runs several tasks at once on its threads


@dataclass(frozen=True)
class RemoteJob:
    """Everything a worker needs to run items of one batch (pickled with every task: no secret inside)."""

    config: dict[str, Any]
    session: str
    process: Callable[[Any, BaseStorage], Any]
    done_keys: tuple[str, ...]
    resume: bool
    error_key: str | None
    api_key: Callable[[], str | None] | None = None


def run_remote_item(job: RemoteJob, item: Any, target: str, new_target: bool = False) -> Outcome:
    """Run one item in a worker process and return an outcome that can travel back to the caller."""
    outcome = execute_item(
        _worker_storage(job), job.session, item, target, job.process, job.done_keys, job.resume, job.error_key,
        new_target,
    )  # fmt: skip
    return _sendable(outcome)


def _worker_storage(job: RemoteJob) -> BaseStorage:
    """This process's storage for ``job.config``, built on first use (a cache-service client keeps its pool)."""
    source = job.api_key
    ident = json.dumps(job.config, sort_keys=True, default=str)
    if source is not None:
        ident += f"|{getattr(source, '__module__', '')}.{getattr(source, '__qualname__', type(source).__name__)}"
    with _lock:
        storage = _storages.get(ident)
        if storage is None:
            extra: dict[str, Any] = {}
            if source is not None:
                key = source()
                if key is not None:
                    extra["api_key"] = key
            storage = _storages[ident] = create_storage(job.config, **extra)
    return storage


def _sendable(outcome: Outcome) -> Outcome:
    """The outcome, with a value or error that cannot be pickled replaced by a note (the caller must get it)."""
    value, error, note = outcome.value, outcome.error, outcome.note
    changed = False
    if value is not None and not _picklable(value):
        note = f"{note} (the return value of process() could not be sent back: not picklable)".strip()
        value, changed = None, True
    if error is not None and not _picklable(error):
        error = StorageError(f"{error_text(error)} (the original exception could not be sent back: not picklable)")
        changed = True
    return Outcome(outcome.status, value, error, note) if changed else outcome


def _picklable(obj: object) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:  # noqa: BLE001 - any failure means it cannot travel
        return False
    return True
