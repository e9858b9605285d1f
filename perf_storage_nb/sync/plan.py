"""The plan of a sync: routes (target pairs), the items to copy, check or delete, and the run's shared state.

:func:`make_plan` scans both sides of a route (:mod:`.index`, :mod:`.manifest`) and decides per key: skip when
both hashes are known and equal; copy when the destination lacks the key or the known hashes differ; *check*
when a hash is unknown without a read (the engine reads that side once); delete at the destination when the
route deletes and the source lacks the key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..names import check_key
from .index import GenericIndex, Known, TargetIndex
from .result import KeyChange

if TYPE_CHECKING:
    from ..base import BaseStorage

__all__ = ["Item", "Plan", "Progress", "Route", "Run", "make_plan", "open_index"]

#: progress callback: (phase, done, total); phase is "scan" or "sync"
Progress = Callable[[str, int, int], None]


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
class Item:
    """One key of a route to copy, check or delete, with what the indexes knew of each side."""

    op: ItemKind
    src_key: str
    dst_key: str
    src: Known | None
    dst: Known | None


@dataclass
class Plan:
    """One route's indexes and items; ``remaining`` counts items not finished yet."""

    route: Route
    src_index: TargetIndex | None
    dst_index: TargetIndex
    items: list[Item] = field(default_factory=list)
    unchanged: int = 0
    remaining: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    unrecorded: Exception | None = None  # the final checkpoint failed (tried again when the run is quiet)


class Run:
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


def make_plan(route: Route, *, dry_run: bool, trust: bool) -> Plan:
    """Scan both sides of a route and list what must be copied, checked or deleted."""
    dst_index = open_index(route.dst, writable=not dry_run, trust=trust)
    src_index = None if route.src is None else open_index(route.src, writable=False, trust=trust)
    plan = Plan(route, src_index, dst_index)
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
            plan.items.append(Item("copy", src_key, dst_key, known, None))
        elif known.hash is not None and there.hash is not None:
            if known.hash == there.hash and known.kind == there.kind:
                plan.unchanged += 1
            else:
                plan.items.append(Item("copy", src_key, dst_key, known, there))
        elif known.kind != there.kind:
            plan.items.append(Item("copy", src_key, dst_key, known, there))
        else:
            plan.items.append(Item("check", src_key, dst_key, known, there))
    if route.delete:
        for dst_key, there in sorted(dst_keys.items()):
            if dst_key.startswith(route.dst_prefix) and dst_key not in mapped:
                plan.items.append(Item("delete", "", dst_key, None, there))
    plan.remaining = len(plan.items)
    return plan
