"""MemoryStorage: a dict per instance (or a named shared store), zero I/O, values copied in and out."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from ..base import BaseStorage, KeyInfo
from ..codec import Kind
from ..names import check_id

__all__ = ["MemoryStorage", "clear_shared"]


class _Store:
    """One in-memory store: {(session, target): {key: (kind, payload, modified)}} behind a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.targets: dict[tuple[str, str], dict[str, tuple[Kind, bytes, datetime]]] = {}


_shared: dict[str, _Store] = {}
_shared_lock = threading.Lock()


def clear_shared(name: str | None = None) -> None:
    """Forget one named shared store (or all of them)."""
    with _shared_lock:
        if name is None:
            _shared.clear()
        else:
            _shared.pop(name, None)


class MemoryStorage(BaseStorage):
    """In-memory backend for unit tests: per instance unless ``name`` selects a shared store.

    Values are kept as encoded bytes, so what goes in is copied and every load returns a fresh object.
    """

    backend_name: ClassVar[str] = "memory"

    def __init__(
        self, session_id: str, target_id: str, *, name: str | None = None, _store: _Store | None = None
    ) -> None:
        super().__init__(session_id, target_id)
        if name is not None:
            check_id(name, "memory store name")
        self._name = name
        if _store is None:
            if name is None:
                _store = _Store()
            else:
                with _shared_lock:
                    _store = _shared.setdefault(name, _Store())
        self._store = _store

    def to_config(self) -> dict[str, Any]:
        """Config dict; an unnamed store is private, so rebuilding it gives a fresh, empty one."""
        config = {"backend": "memory", "session_id": self.session_id, "target_id": self.target_id}
        if self._name is not None:
            config["name"] = self._name
        return config

    def describe(self) -> str:
        """Short location string for messages (no secrets)."""
        return f"memory://{self._name or ''}/{self.session_id}/{self.target_id}"

    def __repr__(self) -> str:
        named = f", name={self._name!r}" if self._name else ""
        return f"MemoryStorage(session_id={self.session_id!r}, target_id={self.target_id!r}{named})"

    def _bucket(self) -> dict[str, tuple[Kind, bytes, datetime]] | None:
        return self._store.targets.get((self.session_id, self.target_id))

    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        with self._store.lock:
            bucket = self._store.targets.setdefault((self.session_id, self.target_id), {})
            bucket[key] = (kind, payload, datetime.now(UTC))

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        bucket = self._bucket()
        entry = bucket.get(key) if bucket else None
        return None if entry is None else (entry[0], entry[1])

    def _exists(self, key: str) -> bool:
        bucket = self._bucket()
        return bucket is not None and key in bucket

    def _remove(self, key: str) -> bool:
        with self._store.lock:
            bucket = self._bucket()
            if not bucket or bucket.pop(key, None) is None:
                return False
            if not bucket:
                del self._store.targets[(self.session_id, self.target_id)]
            return True

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        with self._store.lock:
            return list(self._bucket() or ())

    def _stat(self, key: str) -> KeyInfo | None:
        bucket = self._bucket()
        entry = bucket.get(key) if bucket else None
        if entry is None:
            return None
        kind, payload, modified = entry
        return self._key_info(key, kind, payload, modified)

    def _list_sessions(self) -> Iterable[str]:
        with self._store.lock:
            return [s for s, _ in self._store.targets]

    def _list_targets(self, session: str) -> Iterable[str]:
        with self._store.lock:
            return [t for s, t in self._store.targets if s == session]

    def _sibling(self, session_id: str, target_id: str) -> Self:
        return type(self)(session_id, target_id, name=self._name, _store=self._store)
