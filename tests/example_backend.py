"""The smallest complete backend: five methods, everything else comes from BaseStorage.

It shows what a third-party backend must write (``to_config`` and four primitives) and what it may add:
navigation here is two one-liners over the dict; without them ``sessions()``/``targets()`` raise
StorageNotSupported. ``tests/test_contract.py`` runs the whole contract suite on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from perf_storage_nb import BaseStorage
from perf_storage_nb.kinds import Kind

#: name -> {(session, target, key): (kind, payload)}; one dict per name, shared by siblings through the name
_STORES: dict[str, dict[tuple[str, str, str], tuple[Kind, bytes]]] = {}
_LOCK = threading.Lock()


class DictStorage(BaseStorage):
    """A dict of encoded values, named so that siblings rebuilt from ``to_config()`` find the same data."""

    backend_name: ClassVar[str] = "example_dict"

    def __init__(self, session_id: str, target_id: str, *, name: str = "default") -> None:
        super().__init__(session_id, target_id)
        self._name = name
        with _LOCK:
            self._data = _STORES.setdefault(name, {})

    def to_config(self) -> dict[str, Any]:
        """What the factory (and the default ``_sibling``) rebuilds this storage from."""
        return {
            "backend": self.backend_name,
            "session_id": self.session_id,
            "target_id": self.target_id,
            "name": self._name,
        }

    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        with _LOCK:
            self._data[(self.session_id, self.target_id, key)] = (kind, payload)

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        return self._data.get((self.session_id, self.target_id, key))

    def _remove(self, key: str) -> bool:
        with _LOCK:
            return self._data.pop((self.session_id, self.target_id, key), None) is not None

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        with _LOCK:
            return [k for s, t, k in self._data if (s, t) == (self.session_id, self.target_id)]

    # Optional: navigation (the base raises StorageNotSupported without these).
    def _list_sessions(self) -> Iterable[str]:
        with _LOCK:
            return {s for s, _t, _k in self._data}

    def _list_targets(self, session: str) -> Iterable[str]:
        with _LOCK:
            return {t for s, t, _k in self._data if s == session}


class NoNavigationStorage(DictStorage):
    """The same backend without the optional navigation primitives."""

    backend_name: ClassVar[str] = "example_no_navigation"
    _list_sessions = BaseStorage._list_sessions
    _list_targets = BaseStorage._list_targets
