"""Batch and resume: run one processing function per item, one target per item, and redo only what is missing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..base import BaseStorage
from ..display import short
from ..errors import StorageError
from ..factory import create_storage
from ..names import check_id, check_key, target_id_from_text
from .results import BatchInterrupted, BatchResult, ItemResult, error_text

__all__ = ["default_target_id", "run_batch"]


def default_target_id(item: Any) -> str:
    """Target id of a batch item: ``target_id_from_text`` of a str item (e.g. a URL)."""
    if isinstance(item, str):
        return target_id_from_text(item)
    raise StorageError(
        f"cannot derive a target id from a {type(item).__name__} item; pass target_id=callable(item) -> str"
    )


class _NoProgress:
    """Stands in for a progress bar when progress=False."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def set_postfix_str(self, text: str) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    # tqdm.auto picks the ipywidgets bar in a kernel and a text bar (stderr) elsewhere.
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item", file=sys.stderr, leave=True)


def _as_storage(storage: BaseStorage | Mapping[str, Any] | str, session_id: str | None) -> BaseStorage:
    if isinstance(storage, BaseStorage):
        return storage
    overrides: dict[str, Any] = {}
    if isinstance(storage, str) or "target_id" not in storage:
        overrides["target_id"] = "batch"
    if session_id is not None and (isinstance(storage, str) or "session_id" not in storage):
        overrides["session_id"] = session_id
    return create_storage(storage, **overrides)


def _error_report(item: Any, target: str, exc: BaseException) -> str:
    # No traceback: it carries absolute paths and would make stored reports differ between machines.
    return f"# errors\n\n- item: `{short(item, 200)}`\n- target: `{target}`\n- error: `{error_text(exc)}`\n"


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
) -> BatchResult:
    """Run ``process(item, target_storage)`` once per item: one session per batch, one target per item.

    - ``storage``: any storage (or config dict / URL) of the backend to use; the batch writes to session
      ``session_id`` (default: the storage's own session), one sibling target per item.
    - ``target_id(item)``: the item's target (default: ``target_id_from_text`` of a URL or other text).
      An item equal to an earlier one is skipped; a different item mapped to a target already used
      fails ("target id collision") rather than overwrite or hide it.
    - ``done_key``: key(s) whose presence marks an item as finished. With ``resume=True`` such items are
      skipped, so an interrupted batch re-run redoes only the rest; ``process`` must write them (an item
      that returns without them is reported as failed, since a re-run could not tell it is done).
    - Errors are caught per item, reported in the result (and saved under ``error_key`` in the item's
      target, removed again once the item succeeds); the batch goes on unless ``stop_on_error``. An item
      whose error record exists is not done, even when ``process`` wrote the done keys before raising;
      when no error record could be written, the done keys of a failed item are deleted instead.
    """
    base = _as_storage(storage, session_id)
    session = check_id(session_id if session_id is not None else base.session_id, "session_id")
    done_keys = [] if done_key is None else [done_key] if isinstance(done_key, str) else list(done_key)
    done_keys = [check_key(k) for k in done_keys]
    if error_key is not None:
        check_key(error_key)
    todo = list(items)
    result = BatchResult(session_id=session)
    seen: dict[str, tuple[int, Any]] = {}
    failed = 0  # counted here: BatchResult.failed rebuilds its list, which per item would cost O(n^2)
    bar = _progress_bar(len(todo), desc or session, progress)
    try:
        for index, item in enumerate(todo):
            result.items.append(
                _run_item(base, session, index, item, process, target_id, done_keys, resume, error_key, seen)
            )
            bar.update(1)
            if result.items[-1].status == "failed":
                failed += 1
                bar.set_postfix_str(f"{failed} failed")
            if stop_on_error and result.items[-1].status == "failed":
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
        raise BatchInterrupted(result) from exc
    finally:
        bar.close()
    return result


def _run_item(
    base: BaseStorage,
    session: str,
    index: int,
    item: Any,
    process: Callable[[Any, BaseStorage], Any],
    target_id: Callable[[Any], str],
    done_keys: list[str],
    resume: bool,
    error_key: str | None,
    seen: dict[str, tuple[int, Any]],
) -> ItemResult:
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
    try:
        store = base.for_session(session, target)
        if (
            resume
            and done_keys
            and all(store.exists(k) for k in done_keys)
            and not (
                error_key is not None and store.exists(error_key)  # wrote its outputs, then raised: not done
            )
        ):
            return ItemResult(index, item, target, "skipped", note="outputs exist (resume)")
        value = process(item, store)
        missing = [k for k in done_keys if not store.exists(k)]
        if missing:
            raise StorageError(
                f"process() returned without writing {', '.join(map(repr, missing))}; "
                "a re-run could not tell this item is done"
            )
    except Exception as exc:  # noqa: BLE001 - per-item outcome, reported, never swallowed
        note = ""
        recorded = False
        if error_key is not None:
            try:
                base.for_session(session, target).save_string(error_key, _error_report(item, target, exc))
                recorded = True
            except Exception as save_exc:  # noqa: BLE001 - the item error matters more; say both
                note = f"(could not save {error_key}: {error_text(save_exc)})"
        if not recorded:
            note = _forget_done(base.for_session(session, target), done_keys, note)
        return ItemResult(index, item, target, "failed", error=exc, note=note)
    if error_key is not None and store.exists(error_key):
        store.delete(error_key)  # a stale report from an earlier failed run would mislead
    return ItemResult(index, item, target, "done", value=value)


def _same_item(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an item without a usable == is not a duplicate
        return a is b


def _forget_done(store: BaseStorage, done_keys: list[str], note: str) -> str:
    """Delete the done keys of a failed item that has no error record, so a resume does not skip it."""
    try:
        for key in done_keys:
            store.delete(key)
    except Exception as exc:  # noqa: BLE001 - reported with the item's own error
        return f"{note} (could not delete the done keys: {error_text(exc)}; a resume may skip this item)".strip()
    return note
