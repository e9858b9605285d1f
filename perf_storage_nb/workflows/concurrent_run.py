"""The concurrent batch loop: plan in item order, submit in a bounded window, collect outcomes as they complete.

At most ``window`` items are in flight, so 100,000 items never become 100,000 futures at once. Completed
futures announce themselves on a queue (a done-callback), so collecting one outcome costs O(1) whatever the
window. Outcomes land in their item's slot: the result is in item order whatever the completion order.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError, Future
from dataclasses import dataclass, field
from typing import Any

from .batch_items import Outcome
from .executors import Engine
from .interrupts import InterruptGuard
from .results import ItemResult, error_text

__all__ = ["ConcurrentRun"]

Planner = Callable[[int, Any], "ItemResult | str"]
Submitter = Callable[[Any, str], "Future[Outcome]"]
Recorder = Callable[[Any, str, BaseException], str]


@dataclass
class ConcurrentRun:
    """One concurrent batch over ``items``: ``run()`` fills ``slots`` and returns normally or re-raises Ctrl-C."""

    items: list[Any]
    engine: Engine
    plan: Planner
    submit: Submitter
    record: Recorder
    on_result: Callable[[ItemResult], None]
    stop_on_error: bool = False
    cancel_timeout: float | None = 10.0
    slots: list[ItemResult | None] = field(init=False)
    stop_note: str = field(init=False, default="")
    abandoned: int = field(init=False, default=0)
    _pending: dict[Future[Outcome], tuple[int, str]] = field(init=False, default_factory=dict)
    _done: queue.SimpleQueue[Future[Outcome]] = field(init=False, default_factory=queue.SimpleQueue)
    _guard: InterruptGuard = field(init=False, default_factory=InterruptGuard)

    def __post_init__(self) -> None:
        self.slots = [None] * len(self.items)

    # ---- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Submit every runnable item (bounded window) and collect every outcome; Ctrl-C propagates after cleanup."""
        with self._guard.installed():
            self._run()

    def _run(self) -> None:
        try:
            for index, item in enumerate(self.items):
                if self._stopped():
                    break
                planned = self.plan(index, item)
                if isinstance(planned, ItemResult):
                    self._finish(planned)
                    continue
                while len(self._pending) >= self.engine.window:
                    self._collect_one()
                if self._stopped():
                    break
                self._submit(index, item, planned)
            if self._stopped():
                self._cancel_not_started()
            while self._pending:
                self._collect_one()
        except KeyboardInterrupt:
            self._wind_down()
            raise
        finally:
            if self.engine.owned:  # never wait for abandoned items: Ctrl-C must return
                self.engine.executor.shutdown(wait=not (self._pending or self.abandoned), cancel_futures=True)

    def fill_not_run(self, note: str) -> list[ItemResult]:
        """Every slot, the empty ones as ``not_run`` with ``note`` (or the reason the run stopped)."""
        return [
            slot if slot is not None else ItemResult(i, self.items[i], None, "not_run", note=self.stop_note or note)
            for i, slot in enumerate(self.slots)
        ]

    def _stopped(self) -> bool:
        return bool(self.stop_note)

    # ---- steps ------------------------------------------------------------------------------------------------
    def _submit(self, index: int, item: Any, target: str) -> None:
        try:
            with self._guard.critical():  # a running item is always in _pending: Ctrl-C then waits for it
                future = self.submit(item, target)
                self._pending[future] = (index, target)
                future.add_done_callback(self._done.put)
        except BrokenExecutor as exc:  # the pool died earlier (a killed worker process): nothing more can run
            self._broken(exc)
            return
        except RuntimeError as exc:
            if "shutdown" in str(exc) and not any(self.slots) and not self._pending:
                from ..errors import StorageConfigError  # nothing ran yet: a bad option, not a per-item failure

                raise StorageConfigError(f"the executor {self.engine.name} is shut down; pass a running one") from exc
            self._fail(index, item, target, exc)
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an item the engine cannot pickle: that item fails
            self._fail(index, item, target, exc)

    def _collect_one(self, timeout: float | None = None) -> bool:
        """Wait for one completed future and record its outcome; False if none completed within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if wait <= 0:
                return False
            try:
                future = self._done.get(timeout=wait)  # short waits: Ctrl-C is seen at once on every platform
                break
            except queue.Empty:
                continue
        if future in self._pending:  # else: recorded already (by _wind_down, after an interrupt)
            self._record(future)
        return True

    def _record(self, future: Future[Outcome]) -> None:
        """Record a completed future's outcome in its slot; it leaves ``_pending`` only once recorded."""
        index, target = self._pending[future]
        item = self.items[index]
        if self.slots[index] is None:
            try:
                outcome = future.result()
            except CancelledError:
                self.slots[index] = ItemResult(index, item, target, "not_run", note=self.stop_note or "cancelled")
            except BrokenExecutor as exc:  # its worker process died mid-item (SIGKILL, out of memory)
                self._fail(index, item, target, exc, lost=True)
                self._broken(exc)
            except Exception as exc:  # noqa: BLE001 - the engine lost the item (e.g. Dask's KilledWorker)
                self._fail(index, item, target, exc, lost=True)
            else:
                self._finish(outcome.to_item(index, item, target))
        del self._pending[future]

    def _finish(self, result: ItemResult) -> None:
        self.slots[result.index] = result
        self.on_result(result)
        if self.stop_on_error and result.status == "failed" and not self.stop_note:
            self.stop_note = "stopped after an earlier failure (stop_on_error)"

    def _fail(self, index: int, item: Any, target: str, exc: BaseException, *, lost: bool = False) -> None:
        note = self.record(item, target, exc)
        if lost:
            note = f"the engine lost this item (never counted done); {note}".strip().rstrip(";")
        self._finish(ItemResult(index, item, target, "failed", error=exc, note=note))

    def _broken(self, exc: BaseException) -> None:
        if not self.stop_note or self.stop_note.startswith("stopped after"):
            self.stop_note = f"not run: the executor broke ({error_text(exc)}); re-run the batch to resume"[:300]

    def _cancel_not_started(self) -> None:
        for future in list(self._pending):
            future.cancel()  # only items still queued: a running one cannot be cancelled

    def _wind_down(self) -> None:
        """After Ctrl-C: cancel what has not started, give running items ``cancel_timeout`` s, abandon the rest."""
        self.stop_note = self.stop_note or "interrupted"
        for future in [f for f in self._pending if f.done()]:
            self._record(future)  # finished before the interrupt, maybe taken off the queue but not yet recorded
        self._cancel_not_started()
        deadline = None if self.cancel_timeout is None else time.monotonic() + self.cancel_timeout
        try:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._collect_one(timeout=left)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: abandon what is still running at once
        self.abandoned = len(self._pending)
        for index, target in self._pending.values():
            note = "abandoned while running after the interrupt (not counted done; a re-run redoes it)"
            self.slots[index] = ItemResult(index, self.items[index], target, "not_run", note=note)
        self._pending.clear()
