"""One batch item: its target (decided in the caller, in item order) and its run (anywhere: here, a thread, a worker).

The two halves are apart so that a concurrent batch keeps the sequential rules: target ids, duplicates and
collisions are decided up front in the calling process, one item after another; only :func:`execute_item`
runs concurrently, and it returns a small picklable :class:`Outcome` instead of the item itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..base import BaseStorage
from ..display import short
from ..errors import StorageError
from ..names import check_id
from .results import ItemResult, ItemStatus, error_text

__all__ = ["Outcome", "execute_item", "plan_item", "record_failure", "targets_at_start"]


@dataclass(frozen=True)
class Outcome:
    """What running one item gave: status, the process() return value or the error, a note."""

    status: ItemStatus
    value: Any = None
    error: BaseException | None = None
    note: str = ""

    def to_item(self, index: int, item: Any, target: str) -> ItemResult:
        """The :class:`ItemResult` of this outcome for item ``index``."""
        return ItemResult(index, item, target, self.status, value=self.value, error=self.error, note=self.note)


def plan_item(
    index: int, item: Any, target_id: Callable[[Any], str], seen: dict[str, tuple[int, Any]]
) -> ItemResult | str:
    """The item's target id, or its final result when it must not run (no target id, duplicate, collision)."""
    try:
        target = check_id(target_id(item), "target_id")
    except Exception as exc:  # noqa: BLE001 - a bad item is reported, the batch goes on
        return ItemResult(index, item, None, "failed", error=exc)
    if target in seen:
        first, earlier = seen[target]
        if _same_item(item, earlier):
            return ItemResult(index, item, target, "skipped", note=f"duplicate of item #{first}")
        # Running it would overwrite item #first's outputs; skipping it would lose it silently.
        error = StorageError(f"target id collision with item #{first}: both map to target {target!r}")
        return ItemResult(index, item, target, "failed", error=error)
    seen[target] = (index, item)
    return target


def targets_at_start(base: BaseStorage, session: str, needed: bool) -> frozenset[str] | None:
    """The session's targets before the batch runs (one listing), or None when not needed or not listable.

    An item whose target is not among them needs no resume check and has no stale error report: on a fresh
    session that saves two existence checks per item, which is what limits a wide thread pool.
    """
    if not needed:
        return None
    try:
        return frozenset(base.targets(session))
    except Exception:  # noqa: BLE001 - only a shortcut: when the listing fails (a server mode that cannot list, an outage, a custom backend), every item is checked as before
        return None


def execute_item(
    base: BaseStorage,
    session: str,
    item: Any,
    target: str,
    process: Callable[[Any, BaseStorage], Any],
    done_keys: Sequence[str],
    resume: bool,
    error_key: str | None,
    new_target: bool = False,
) -> Outcome:
    """Run ``process(item, store)`` for one planned item: resume check, done-key check, error record.

    ``new_target``: the target held no key when the batch started, so neither a done key (resume) nor a stale
    error report can be there: those two checks are skipped. The check that ``process()`` wrote its done keys
    always runs.
    """
    try:
        store = base.for_session(session, target)
        if (
            resume
            and not new_target
            and done_keys
            and all(store.exists(k) for k in done_keys)
            and not (
                error_key is not None and store.exists(error_key)  # wrote its outputs, then raised: not done
            )
        ):
            return Outcome("skipped", note="outputs exist (resume)")
        value = process(item, store)
        missing = [k for k in done_keys if not store.exists(k)]
        if missing:
            raise StorageError(
                f"process() returned without writing {', '.join(map(repr, missing))}; "
                "a re-run could not tell this item is done"
            )
    except Exception as exc:  # noqa: BLE001 - per-item outcome, reported, never swallowed
        return Outcome("failed", error=exc, note=record_failure(base, session, item, target, exc, done_keys, error_key))
    if error_key is not None and not new_target and store.exists(error_key):
        store.delete(error_key)  # a stale report from an earlier failed run would mislead
    return Outcome("done", value=value)


def record_failure(
    base: BaseStorage,
    session: str,
    item: Any,
    target: str,
    exc: BaseException,
    done_keys: Sequence[str],
    error_key: str | None,
) -> str:
    """Save the item's error report (or, failing that, delete its done keys); returns a note for the result.

    Either way a resume will not count the item done. Also used by the caller of a concurrent batch for items
    the engine lost (a worker process killed mid-item), whose own run could not record anything.
    """
    note = ""
    if error_key is not None:
        try:
            base.for_session(session, target).save_string(error_key, _error_report(item, target, exc))
            return note
        except Exception as save_exc:  # noqa: BLE001 - the item error matters more; say both
            note = f"(could not save {error_key}: {error_text(save_exc)})"
    try:
        store = base.for_session(session, target)
        for key in done_keys:
            store.delete(key)
    except Exception as del_exc:  # noqa: BLE001 - reported with the item's own error
        return f"{note} (could not delete the done keys: {error_text(del_exc)}; a resume may skip this item)".strip()
    return note


def _error_report(item: Any, target: str, exc: BaseException) -> str:
    # No traceback: it carries absolute paths and would make stored reports differ between machines.
    return f"# errors\n\n- item: `{short(item, 200)}`\n- target: `{target}`\n- error: `{error_text(exc)}`\n"


def _same_item(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an item without a usable == is not a duplicate
        return a is b
