"""The engine behind sync and copy: plan per target by content hash, then copy, check and delete concurrently.

A :class:`Route` pairs a source target with a destination target (and optionally a key or prefix on each side).
For each route both sides are scanned (:mod:`.index`); a key is

- skipped when both hashes are known and equal,
- copied when the destination lacks it or the known hashes differ,
- *checked* when a hash is unknown without a read: the unknown side is read once (and the source value just
  read is what gets written if they differ),
- deleted at the destination when the route deletes and the source lacks it.

Items run on a thread pool when either backend is remote. A key counts as done only after its write returned;
every failure is a row of the result. Losing the connection or the API key stops the run (every remaining key
would fail the same way) after recording what completed; re-running resumes, because equal keys are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import StorageAuthError, StorageConnectionError, StorageNameError
from ..kinds import SAVE_METHOD
from ..names import check_key
from .index import GenericIndex, Known, TargetIndex, content_of, load_as
from .result import KeyChange, SyncResult

if TYPE_CHECKING:
    from ..base import BaseStorage

__all__ = ["STREAM_MIN", "Progress", "Route", "open_index", "run_routes"]

#: bytes values at least this large are streamed (iter_bytes -> save_stream) instead of loaded whole
STREAM_MIN = 8 << 20
#: progress callback: (phase, done, total); phase is "scan" or "sync"
Progress = Callable[[str, int, int], None]
_FATAL = (StorageConnectionError, StorageAuthError)


@dataclass(frozen=True)
class Route:
    """One source target -> one destination target, optionally one key or a key prefix on each side.

    Source keys under ``src_prefix`` land at ``dst_prefix`` + the rest of their name; with ``exact`` the route
    copies the one key ``src_prefix`` to the key ``dst_prefix``. ``src`` None: the source lacks this target (a
    delete-only route). ``delete``: destination keys under ``dst_prefix`` that the source lacks are deleted.
    """

    src: BaseStorage | None
    dst: BaseStorage
    src_prefix: str = ""
    dst_prefix: str = ""
    exact: bool = False
    delete: bool = False

    def dst_key(self, src_key: str) -> str:
        """Where a source key lands."""
        return self.dst_prefix if self.exact else self.dst_prefix + src_key[len(self.src_prefix) :]


ItemKind = Literal["copy", "check", "delete"]


@dataclass
class _Item:
    op: ItemKind
    src_key: str
    dst_key: str
    src: Known | None
    dst: Known | None


@dataclass
class _Plan:
    route: Route
    src_index: TargetIndex | None
    dst_index: TargetIndex
    items: list[_Item] = field(default_factory=list)
    unchanged: int = 0
    remaining: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Run:
    """State shared by the worker threads of one run."""

    def __init__(self, dry_run: bool, progress: Progress | None) -> None:
        self.dry_run = dry_run
        self.progress = progress
        self.lock = threading.Lock()
        self.changes: list[KeyChange] = []
        self.bytes = 0
        self.reads = {"source": 0, "destination": 0}
        self.done = 0
        self.total = 0
        self.fatal: BaseException | None = None
        self.stopped = False  # Ctrl-C: queued items are skipped

    def record(self, change: KeyChange | None, copied: int = 0, reads: tuple[int, int] = (0, 0)) -> None:
        with self.lock:
            if change is not None:
                self.changes.append(change)
            self.bytes += copied
            self.reads["source"] += reads[0]
            self.reads["destination"] += reads[1]
            self.done += 1
            done, total = self.done, self.total
        if self.progress is not None:
            self.progress("sync", done, total)


def open_index(storage: BaseStorage, *, writable: bool, trust: bool = True) -> TargetIndex:
    """The cheapest index for ``storage``'s backend: the manifest one on the cache service, else info() per key.

    ``trust=False`` (``--checksum``): hashes a manifest recorded are ignored, so every value is read and hashed;
    a destination's manifest is rewritten from what was read.
    """
    if storage.backend_name == "cache_service":
        from .manifest import CacheServiceIndex  # httpx and the backend only when a cache service is involved

        return CacheServiceIndex(storage, writable=writable, trust=trust)
    return GenericIndex(storage, writable=writable)


def _plan(route: Route, *, dry_run: bool, trust: bool) -> _Plan:
    """Scan both sides of a route and list what must be copied, checked or deleted."""
    dst_index = open_index(route.dst, writable=not dry_run, trust=trust)
    src_index = None if route.src is None else open_index(route.src, writable=False, trust=trust)
    plan = _Plan(route, src_index, dst_index)
    src_keys = {} if src_index is None else src_index.scan(route.src_prefix)
    if route.exact:
        src_keys = {k: v for k, v in src_keys.items() if k == route.src_prefix}
    dst_keys = dst_index.scan(route.dst_prefix)  # exact: the key and keys it prefixes (only itself is used)
    mapped: set[str] = set()
    for src_key, known in sorted(src_keys.items()):
        dst_key = check_key(route.dst_key(src_key))
        mapped.add(dst_key)
        there = dst_keys.get(dst_key)
        if there is None:
            plan.items.append(_Item("copy", src_key, dst_key, known, None))
        elif known.hash is not None and there.hash is not None:
            if known.hash == there.hash and known.kind == there.kind:
                plan.unchanged += 1
            else:
                plan.items.append(_Item("copy", src_key, dst_key, known, there))
        elif known.kind != there.kind:
            plan.items.append(_Item("copy", src_key, dst_key, known, there))
        else:
            plan.items.append(_Item("check", src_key, dst_key, known, there))
    if route.delete:
        for dst_key, there in sorted(dst_keys.items()):
            if dst_key.startswith(route.dst_prefix) and dst_key not in mapped:
                plan.items.append(_Item("delete", "", dst_key, None, there))
    plan.remaining = len(plan.items)
    return plan


def _transfer(src: BaseStorage, dst: BaseStorage, item: _Item, value: Any) -> Known:
    """Write the source value to the destination; returns the hash of what was written."""
    kind = item.src.kind if item.src is not None else "json"
    size = item.src.size if item.src is not None else None
    if value is _UNREAD and kind == "bytes" and size is not None and size >= STREAM_MIN and item.src is not None:
        import hashlib

        digest = hashlib.sha256()
        count = 0

        def chunks() -> Any:
            nonlocal count
            for chunk in src.iter_bytes(item.src_key):
                digest.update(chunk)
                count += len(chunk)
                yield chunk

        dst.save_stream(item.dst_key, chunks())
        return Known("bytes", digest.hexdigest(), count)
    if value is _UNREAD:
        value = load_as(src, kind, item.src_key)
    getattr(dst, SAVE_METHOD[kind])(item.dst_key, value)
    return content_of(kind, value)


_UNREAD: Any = object()


def _run_item(run: _Run, plan: _Plan, item: _Item) -> None:
    route = plan.route
    dst = route.dst
    session, target = dst.session_id, dst.target_id
    reads = [0, 0]
    try:
        if item.op == "delete":
            if not run.dry_run:
                dst.delete(item.dst_key)
                plan.dst_index.learned(item.dst_key, None)
            kind = item.dst.kind if item.dst else ""
            change = KeyChange("deleted", session, target, item.dst_key, kind)
            run.record(change)
            return
        src = route.src
        assert src is not None and item.src is not None  # copy and check items come from a source key
        value = _UNREAD
        known = item.src
        if item.op == "check":
            if known.hash is None:
                value = load_as(src, known.kind, item.src_key)
                reads[0] += 1
                known = content_of(known.kind, value)
            there = item.dst
            if there is not None and there.hash is None:
                reads[1] += 1
                there = content_of(there.kind, load_as(dst, there.kind, item.dst_key))
                plan.dst_index.learned(item.dst_key, there)
            if there is not None and there.hash == known.hash and there.kind == known.kind:
                run.record(None, reads=(reads[0], reads[1]))
                with plan.lock:
                    plan.unchanged += 1
                return
        action: Literal["added", "updated"] = "added" if item.dst is None else "updated"
        size = known.size
        if not run.dry_run:
            written = _transfer(src, dst, _Item(item.op, item.src_key, item.dst_key, known, item.dst), value)
            plan.dst_index.learned(item.dst_key, written)
            size = written.size
        change = KeyChange(action, session, target, item.dst_key, known.kind, size, source_key=item.src_key)
        run.record(change, copied=size or 0, reads=(reads[0], reads[1]))
    except _FATAL as exc:
        with run.lock:
            run.fatal = run.fatal or exc
        run.record(KeyChange("failed", session, target, item.dst_key, error=str(exc)))
    except Exception as exc:  # noqa: BLE001 - a per-key outcome: reported as a row, never counted done
        run.record(KeyChange("failed", session, target, item.dst_key, error=f"{type(exc).__name__}: {exc}"))
    finally:
        _after_item(run, plan)


def _after_item(run: _Run, plan: _Plan) -> None:
    """Checkpoint the destination index when due, and at the end of the route."""
    with plan.lock:
        plan.remaining -= 1
        last = plan.remaining == 0
    index = plan.dst_index
    if last or getattr(index, "due", lambda: False)():
        try:
            index.checkpoint(final=last)
        except Exception as exc:  # noqa: BLE001 - the keys were copied; only the record of their hashes failed
            dst = plan.route.dst
            change = KeyChange("failed", dst.session_id, dst.target_id, "", error=f"could not record hashes: {exc}")
            with run.lock:
                run.changes.append(change)


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
    run = _Run(dry_run, progress)
    plans: list[_Plan] = []
    failures: list[KeyChange] = []

    def plan_one(route: Route) -> _Plan | KeyChange:
        try:
            return _plan(route, dry_run=dry_run, trust=trust)
        except (*_FATAL, StorageNameError):
            raise  # no connection, or a key that cannot exist at the destination: stop before anything is written
        except Exception as exc:  # noqa: BLE001 - one unreadable target is reported; the others go on
            dst = route.dst
            return KeyChange("failed", dst.session_id, dst.target_id, "", error=f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for scanned, outcome in enumerate(pool.map(plan_one, routes), 1):
            if progress is not None:
                progress("scan", scanned, len(routes))
            (failures if isinstance(outcome, KeyChange) else plans).append(outcome)  # type: ignore[arg-type]
        run.total = sum(len(p.items) for p in plans)
        futures: list[Future[None]] = []
        for plan in plans:
            if not plan.items:
                plan.remaining = 1
                _after_item(run, plan)  # nothing to do: still the end of the route (no write when nothing learned)
                continue
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
    if run.fatal is not None:
        raise run.fatal
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
    )


def _guarded(run: _Run, plan: _Plan, item: _Item) -> None:
    """Run one item unless the run lost its connection or was interrupted (then it is skipped, not failed)."""
    if run.fatal is not None or run.stopped:
        with plan.lock:
            plan.remaining -= 1
        return
    _run_item(run, plan, item)
