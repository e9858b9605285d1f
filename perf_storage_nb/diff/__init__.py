"""Before/after diffs of stored values, keys and whole targets (deepdiff underneath, our own rendering).

Usable without IPython; deepdiff is imported inside the functions that need it. Output is deterministic:
rows are sorted by path, sets are shown sorted, and the HTML carries no per-call ids (so the same inputs
give byte-identical text and HTML under any ``PYTHONHASHSEED``).

The package by job: :mod:`.engine` (values: deepdiff, tolerances, excludes, text diffs), :mod:`.result`
(:class:`Change`, :class:`DiffResult` and its display), :mod:`.snapshots` (snapshots and their diffs),
:mod:`.keys` (two stored keys).

Example::

    from perf_storage_nb.diff import diff_values, diff_keys, snapshot, diff_snapshots
    diff_values({"p50_ms": 10.0}, {"p50_ms": 10.3}, rel_tol="5%")   # within tolerance: no change
    before = snapshot(storage); ...; diff_snapshots(before, snapshot(storage))
"""

from __future__ import annotations

from .engine import diff_values, parse_tolerance
from .keys import diff_keys
from .result import Change, DiffResult
from .snapshots import Snapshot, diff_now, diff_scopes, diff_snapshots, load_kind, scope_label, snapshot

__all__ = [
    "Change",
    "DiffResult",
    "Snapshot",
    "diff_keys",
    "diff_now",
    "diff_scopes",
    "diff_snapshots",
    "diff_values",
    "load_kind",
    "parse_tolerance",
    "scope_label",
    "snapshot",
]
