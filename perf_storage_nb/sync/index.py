"""What a sync knows about one target before reading any value: each key's kind and, where cheap, its content hash.

The hash is :attr:`~perf_storage_nb.records.KeyInfo.hash`, the library's one content hash (canonical: JSON
compact with sorted keys), so a sync agrees with ``info`` and ``diff`` on every backend about what is equal.

- :class:`GenericIndex` (local, memory, any backend): ``list_keys`` + ``info`` per key. On the local backend
  that reads each file once (no requests); on a remote backend without a cheaper way it is one read per key.
- The cache service lists sizes but no hashes; its index keeps a manifest (:mod:`.manifest`).

An index answers ``hash=None`` for a key whose hash it does not know without reading the value; the engine
then reads that value once (and copies what it read if it differs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..codec import canonical, encode_json, encode_text, to_bytes
from ..kinds import LOAD_METHOD, Kind

if TYPE_CHECKING:
    from ..base import BaseStorage

__all__ = ["NO_VALUE", "GenericIndex", "Known", "TargetIndex", "content_of", "load_as"]

#: ``learned(..., value=NO_VALUE)``: the value was streamed, not held
NO_VALUE: Any = object()


@dataclass(frozen=True)
class Known:
    """What an index knows about one key: its kind, and its canonical hash and size when known without a read."""

    kind: Kind
    hash: str | None = None
    size: int | None = None


def content_of(kind: Kind, value: Any) -> Known:
    """The canonical hash and size of a loaded value (the same as ``info()`` gives for it on any backend)."""
    if kind == "json":
        payload = encode_json(value)
    elif kind == "text":
        payload = encode_text(value)
    else:
        payload = to_bytes(value)
    size, digest = canonical(kind, payload)
    return Known(kind, digest, size)


def load_as(storage: BaseStorage, kind: Kind, key: str) -> Any:
    """The value of ``key`` read with the method of ``kind`` (StorageKindError if it holds another kind now)."""
    loader: Callable[[str], Any] = getattr(storage, LOAD_METHOD[kind])
    return loader(key)


class TargetIndex:
    """The keys of one target and what is known of them; subclasses learn hashes more cheaply than reading.

    ``learned`` is told every hash the engine establishes (a copy it made, a value it read) and every key it
    deleted; ``checkpoint`` may persist them (only a destination index does). Thread-safe where it records.
    """

    def __init__(self, storage: BaseStorage, *, writable: bool) -> None:
        self.storage = storage
        self.writable = writable

    def scan(self, prefix: str) -> dict[str, Known]:
        """Every key under ``prefix`` with what is known of it."""
        raise NotImplementedError

    def learned(self, key: str, known: Known | None, *, value: Any = NO_VALUE, wrote: bool = True) -> None:
        """Record a hash the engine established: of a value it wrote (``value``: what it wrote, when held) or,
        with ``wrote=False``, of a value it read here; ``None``: the key was deleted."""

    def checkpoint(self, *, final: bool) -> int:
        """Persist what was learned, if this index keeps anything; returns the number of requests written."""
        return 0


class GenericIndex(TargetIndex):
    """``list_keys`` + ``info`` per key: hashes always known (local: one file read per key, no request)."""

    def scan(self, prefix: str) -> dict[str, Known]:
        """Every key under ``prefix`` with its kind, hash and size (keys deleted meanwhile are left out)."""
        storage = self.storage
        keys = storage.list_keys(prefix)
        if storage.concurrent_bulk and len(keys) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(8, len(keys))) as pool:
                infos = list(pool.map(storage.info, keys))
        else:
            infos = [storage.info(k) for k in keys]
        return {i.key: Known(i.kind, i.hash, i.size) for i in infos if i is not None}
