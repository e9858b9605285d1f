"""The seed's common workflows as plain-Python helpers: batch, resume, before/after diff, cross-session comparison.

Every helper takes a storage (any backend) and works the same on memory, local and the cache service::

    from perf_storage_nb import create_storage
    from perf_storage_nb.workflows import run_batch, compare_sessions

    storage = create_storage({"backend": "local", "root": "./data", "session_id": "batch_001", "target_id": "setup"})
    result = run_batch(storage, urls, process)          # one session per batch, one target per item
    result                                              # per-item status table; failures say why
    run_batch(storage, urls, process)                   # after an interruption: redoes only what is missing
    compare_sessions(storage, baseline_session="batch_000")   # metrics regressions with tolerances

The package by job: :mod:`.batch` (running and resuming), :mod:`.results` (what a batch returns),
:mod:`.comparison` (sessions against a baseline), :mod:`.before_after` (snapshots around a step).
"""

from __future__ import annotations

from .batch import default_target_id, run_batch
from .before_after import BeforeAfter, before_after, diff_saved_snapshots
from .comparison import MetricRow, SessionComparison, compare_sessions, flatten_metrics
from .results import BatchInterrupted, BatchResult, ItemResult

__all__ = [
    "BatchInterrupted",
    "BatchResult",
    "BeforeAfter",
    "ItemResult",
    "MetricRow",
    "SessionComparison",
    "before_after",
    "diff_saved_snapshots",
    "compare_sessions",
    "default_target_id",
    "flatten_metrics",
    "run_batch",
]
