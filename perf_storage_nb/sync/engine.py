"""The engine behind sync and copy: plan every route, then run its items concurrently, checkpointing as it goes.

Items run on a thread pool when either backend is remote. A key counts as done only after its write returned;
every failure is a row of the result. Losing the connection or the API key stops the run (every remaining key
would fail the same way); Ctrl-C skips the queued keys and records what arrived. Re-running resumes, because
equal keys are skipped (a key whose hash was not recorded is read once, not copied again).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress

from ..errors import StorageNameError
from .items import FATAL, run_item
from .plan import Item, Plan, Progress, Route, Run, make_plan
from .result import KeyChange, SyncResult

__all__ = ["Progress", "Route", "run_routes"]


def _after_item(run: Run, plan: Plan) -> None:
    """Count the item done; checkpoint the destination index on the way when one is due.

    The end of a route is not checkpointed here: every route's final checkpoint runs once no write is running
    (:func:`_final_checkpoints`), because the memory-mode server's listing fails while files change.
    """
    with plan.lock:
        plan.remaining -= 1
        last = plan.remaining == 0
    index = plan.dst_index
    if not last and getattr(index, "due", lambda: False)():
        # A checkpoint on the way that fails (a listing racing with writes) is simply taken later.
        with suppress(Exception):
            index.checkpoint(final=False)


def _final_checkpoints(plans: list[Plan], pool: ThreadPoolExecutor) -> None:
    """Every route's final checkpoint, concurrently, once no write runs (failures are tried again quietly)."""

    def final(plan: Plan) -> None:
        try:
            plan.dst_index.checkpoint(final=True)
        except Exception as exc:  # noqa: BLE001 - the keys were copied; only the record of their hashes failed
            plan.unrecorded = exc

    list(pool.map(final, plans))


def _record_quietly(plans: list[Plan]) -> list[str]:
    """Final checkpoints that failed during the run, tried again now that no write runs; notes for the rest."""
    notes: list[str] = []
    for plan in plans:
        for pause in (0.0, 0.2, 1.0):
            if plan.unrecorded is None:
                break
            time.sleep(pause)
            try:
                plan.dst_index.checkpoint(final=True)
                plan.unrecorded = None
            except Exception as exc:  # noqa: BLE001 - reported below, never fatal: every key was copied
                plan.unrecorded = exc
        if plan.unrecorded is not None:
            dst = plan.route.dst
            notes.append(
                f"{dst.session_id}/{dst.target_id}: the content hashes of what was copied could not be recorded "
                f"({plan.unrecorded}); the next sync reads those keys once instead of trusting a record"
            )
    return notes


def run_routes(
    routes: Sequence[Route],
    *,
    source: str,
    destination: str,
    dry_run: bool = False,
    trust: bool = True,
    workers: int = 1,
    progress: Progress | None = None,
) -> SyncResult:
    """Plan every route, then run their items on ``workers`` threads; the result lists every change and failure."""
    run = Run(dry_run, progress)
    plans: list[Plan] = []
    failures: list[KeyChange] = []

    def plan_one(route: Route) -> Plan | KeyChange:
        try:
            return make_plan(route, dry_run=dry_run, trust=trust)
        except (*FATAL, StorageNameError):
            raise  # no connection, or a key that cannot exist at the destination: stop before anything is written
        except Exception as exc:  # noqa: BLE001 - one unreadable target is reported; the others go on
            dst = route.dst
            return KeyChange("failed", dst.session_id, dst.target_id, "", error=f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for scanned, outcome in enumerate(pool.map(plan_one, routes), 1):
            if progress is not None:
                progress("scan", scanned, len(routes))
            if isinstance(outcome, KeyChange):
                failures.append(outcome)
            else:
                plans.append(outcome)
        run.total = sum(len(p.items) for p in plans)
        futures: list[Future[None]] = []
        for plan in plans:
            futures.extend(pool.submit(_guarded, run, plan, item) for item in plan.items)
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C (or a bug): stop queued items, record what arrived, then re-raise
            run.stopped = True
            pool.shutdown(wait=True, cancel_futures=True)
            for plan in plans:
                with suppress(Exception):  # best effort: a re-run reads what is not recorded
                    plan.dst_index.checkpoint(final=True)
            raise
        if run.fatal is None:
            _final_checkpoints(plans, pool)  # no write runs now (a route with nothing learned writes nothing)
    if run.fatal is not None:
        raise run.fatal
    notes = _record_quietly(plans)
    changes = sorted(
        [*failures, *run.changes], key=lambda c: (c.session, c.target, c.key, c.action != "failed", c.action)
    )
    return SyncResult(
        source,
        destination,
        tuple(changes),
        unchanged=sum(p.unchanged for p in plans),
        targets=len(routes),
        dry_run=dry_run,
        bytes_copied=run.bytes,
        reads=dict(run.reads),
        notes=tuple(notes),
    )


def _guarded(run: Run, plan: Plan, item: Item) -> None:
    """Run one item unless the run lost its connection or was interrupted (then it is skipped, not failed)."""
    if run.fatal is not None or run.stopped:
        with plan.lock:
            plan.remaining -= 1
        return
    run_item(run, plan, item, _after_item)
