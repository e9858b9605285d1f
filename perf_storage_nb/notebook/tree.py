"""Walk a storage's backend into a :class:`~perf_storage_nb.display.StorageTree` (the ``%storage tree`` listing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..display import StorageTree

__all__ = ["tree_from_storage"]


def tree_from_storage(
    storage: Any, *, sessions: Iterable[str] | None = None, target: str | None = None, location: str | None = None
) -> StorageTree:
    """Walk a storage's backend (sessions -> targets -> keys, or only ``target``) into a :class:`StorageTree`."""
    tree = []
    for session in sorted(sessions if sessions is not None else storage.sessions()):
        names = [target] if target is not None else storage.targets(session)
        tree.append((session, [(t, storage.for_session(session, t).list_keys()) for t in names]))
    if location is None:
        location = storage.describe().rsplit("/", 2)[0] if hasattr(storage, "describe") else repr(storage)
    return StorageTree(location, tree)
