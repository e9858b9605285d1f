"""Diffs of two stored keys: of one target, or of one key in two sessions/targets (baseline vs current)."""

from __future__ import annotations

from typing import Any

from ..base import BaseStorage
from ..errors import StorageKeyError
from .engine import diff_values
from .result import ABSENT, Change, DiffResult

__all__ = ["diff_keys"]


def diff_keys(
    storage_a: BaseStorage, key_a: str, storage_b: BaseStorage | None = None, key_b: str | None = None, **opts: Any
) -> DiffResult:
    """Diff two stored keys: two keys of one storage, or one key in another session/target (baseline vs current)."""
    storage_b = storage_a if storage_b is None else storage_b
    key_b = key_a if key_b is None else key_b
    before = storage_a.load_any(key_a, ABSENT)
    after = storage_b.load_any(key_b, ABSENT)
    # Callers that must not show absolute paths (deterministic notebooks) pass their own labels.
    labels = opts.pop("labels", None) or (f"{storage_a.describe()}:{key_a}", f"{storage_b.describe()}:{key_b}")
    if before is ABSENT and after is ABSENT:
        raise StorageKeyError(f"neither {labels[0]} nor {labels[1]} exists; nothing to diff")
    if before is ABSENT:
        return DiffResult((Change("", "root", "added", None, _preview_value(after)),), labels)
    if after is ABSENT:
        return DiffResult((Change("", "root", "removed", _preview_value(before), None),), labels)
    if isinstance(before, bytes) or isinstance(after, bytes):
        return _bytes_diff("", before, after, labels)
    return diff_values(before, after, labels=labels, **opts)


def _preview_value(value: Any) -> Any:
    return f"<{len(value)} bytes>" if isinstance(value, bytes) else value


def _bytes_diff(group: str, before: Any, after: Any, labels: tuple[str, str]) -> DiffResult:
    if before == after:
        return DiffResult((), labels)
    return DiffResult(
        (Change(group, "root", "changed", _preview_value(before), _preview_value(after), "bytes differ"),), labels
    )
