"""EntryBase: one session/target entry as one client sees it - its cache_id and its kind map.

The cache_id is found by hash, created (with the fixed file_id) only by writes, memoised in the client's
shared :class:`~.state.TargetState`, and forgotten when the entry turns out to be gone; the kind map is
learned from one listing and corrected by what reads observe. The key operations built on this, and why
they use the map as they do, are in :mod:`.entry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Final, Literal, TypeVar

from ...errors import StorageBackendError
from ...kinds import KINDS, Kind
from .names import DATA_TYPE, EXTENSION, DataFile, split_key
from .routes import ENTRY_FILE_ID, RoutesClient
from .state import TargetState

__all__ = ["STALE", "EntryBase", "Stale", "kinds_of"]

_T = TypeVar("_T")


class _Gone(Enum):
    STALE = "stale"


#: what an operation on a memoised cache_id answers when the entry is gone (see :meth:`EntryBase.on_entry`)
STALE: Final = _Gone.STALE
Stale = Literal[_Gone.STALE]


class EntryBase:
    """One session/target entry seen through one client: its memoised cache_id and kind map.

    ``state`` is the client's shared :class:`TargetState` of this entry, so every storage and direct-access
    call on that client agrees on the cache_id and the kinds. Keys are checked by the caller.
    """

    def __init__(
        self, client: RoutesClient, state: TargetState, namespace: str, session_id: str, target_id: str
    ) -> None:
        self.client = client
        self.state = state
        self.namespace = namespace
        self.session_id = session_id
        self.target_id = target_id

    def describe(self) -> str:
        """``cache_service://{namespace}/{session}/{target}``."""
        return f"cache_service://{self.namespace}/{self.session_id}/{self.target_id}"

    def raw_path(self, name: tuple[str, str], kind: Kind) -> str:
        """Where the server stores the ``kind`` file of ``name`` (a ``split_key`` pair): for its admin routes.

        Every cache_id of the entry shares the folder of the fixed file_id (see :data:`~.routes.ENTRY_FILE_ID`).
        """
        data_key, file_id = name
        folder = f"{self.namespace}/data/key-based/{self.state.cache_key}/{ENTRY_FILE_ID}/data"
        return "/".join(part for part in (folder, data_key, f"{file_id}.{EXTENSION[kind]}") if part)

    def fetch(self, cache_id: str, kind: Kind, name: tuple[str, str]) -> bytes | None:
        """The stored body of the ``kind`` file of ``name``, or None; one request.

        A json or string file the server cannot parse itself (planted by another client) is read as stored
        bytes instead, so that decoding it says what is wrong ("not valid JSON", "nested too deeply").
        """
        data_key, file_id = name
        raw = self.raw_path(name, kind) if kind != "bytes" else None
        return self.client.retrieve_data(
            cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self.namespace, raw_path=raw
        )

    # ---- the entry ------------------------------------------------------------------------------------------
    def cache_id(self, *, create: bool) -> str | None:
        """The cache_id of the entry, memoised; created (fixed file_id) only when ``create``.

        Reads never create entries. Creation is serialised per target in this process; between processes
        duplicates are harmless because every cache_id of the target shares the same child folder.
        """
        state = self.state
        cache_id = state.cache_id
        if cache_id is not None:
            return cache_id
        with state.lock:
            if state.cache_id is not None:
                return state.cache_id
            found = self.client.cache_id_for_key(state.cache_key, namespace=self.namespace)
            if found is None and create:
                body = {"session_id": self.session_id, "target_id": self.target_id, "created_by": "perf_storage_nb"}
                found = self.client.create_entry(state.cache_key, body, namespace=self.namespace)
                state.reset(found, created=True)  # a fresh entry holds no keys (see the notes of .entry on races)
            elif found is not None:
                state.reset(found, created=False)
            return found

    def forget(self, stale_id: str | None = None) -> None:
        """Drop the memoised cache_id (the entry was deleted, possibly by someone else)."""
        with self.state.lock:
            if stale_id is None or self.state.cache_id == stale_id:
                self.state.reset(None, created=False)

    def on_entry(self, create: bool, op: Callable[[str], _T | Stale]) -> _T | None:
        """``op(cache_id)``, run again on a re-resolved entry if it answers STALE; None when there is no entry.

        Another storage or process may delete the target (and someone may recreate it) at any time: the
        memoised cache_id then answers 404, which is noticed here, once, instead of in every primitive.
        """
        for _attempt in range(2):
            cache_id = self.cache_id(create=create)
            if cache_id is None:
                return None
            result = op(cache_id)
            if result is not STALE:
                return result
            self.forget(cache_id)
        if create:
            raise StorageBackendError(f"could not write to {self.describe()}: its entry keeps disappearing")
        return None

    def is_stale(self, cache_id: str) -> bool:
        """True when the target's entry no longer has ``cache_id`` (deleted, or replaced by someone else)."""
        return self.client.cache_id_for_key(self.state.cache_key, namespace=self.namespace) != cache_id

    # ---- the kind map ---------------------------------------------------------------------------------------
    def kind_hint(self, key: str) -> Kind:
        """The kind this client last saw ``key`` hold (json when unknown): load_any then reads once."""
        return self.state.kinds.get(key, "json")

    def learn_kinds(self, cache_id: str) -> None:
        """Fill the kind map of an entry we did not create from one listing (once; memory/s3 modes only)."""
        state = self.state
        if state.listed or not self.client.can_list():
            return
        with state.lock:  # concurrent first saves (save_many) wait for one listing instead of sending eight
            self._list_once(cache_id)

    def _list_once(self, cache_id: str) -> None:
        """The listing of :meth:`learn_kinds`, under the state's lock: skipped if another thread listed meanwhile."""
        state = self.state
        if state.listed:
            return
        since = state.begin()
        files = self.client.list_data(cache_id, namespace=self.namespace)
        if files is not None:
            state.observed_all(kinds_of(files), since, cache_id)

    def probe(self, key: str, missed: Kind, cache_id: str) -> Kind | None | Stale:
        """After a GET miss on ``missed``: the kind the key holds, None when absent, STALE for a stale entry.

        The server answers 404 to a GET of an *empty* string file, so finding ``missed`` itself here means
        the value is empty.
        """
        data_key, file_id = split_key(key)
        client = self.client
        if client.can_list():
            files = client.list_data(cache_id, data_key, recursive=False, namespace=self.namespace)
            if files is None:
                return STALE
            kinds = sorted({f.kind for f in files if f.file_id == file_id and f.data_key == data_key and f.kind})
            return missed if missed in kinds else next(iter(kinds), None)
        if self.is_stale(cache_id):
            return STALE
        for kind in (missed, *(k for k in KINDS if k != missed)):
            if client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self.namespace):
                return kind
        return None

    def _post(
        self,
        action: Literal["store", "update"],
        cache_id: str,
        kind: Kind,
        name: tuple[str, str],
        body: bytes | Iterable[bytes],
        content_type: str,
    ) -> bool:
        """``store`` or ``update`` one child file; False on 404 (no such file for update, or no entry)."""
        data_key, file_id = name
        return self.client.post_data(
            action,
            cache_id,
            DATA_TYPE[kind],
            data_key,
            file_id,
            body,
            content_type=content_type,
            namespace=self.namespace,
        )

    def _drop_other_kinds(self, cache_id: str, name: tuple[str, str], kind: Kind | None) -> list[bool]:
        """Delete a key (``split_key`` name) in every kind but ``kind``, concurrently; which of them existed."""
        data_key, file_id = name
        types = [DATA_TYPE[k] for k in KINDS if k != kind]
        return self.client.delete_data_types(cache_id, types, data_key, file_id, namespace=self.namespace)


def kinds_of(files: Iterable[DataFile]) -> dict[str, Kind]:
    """Our keys and kinds in a listing (names we could not have written are skipped)."""
    found: dict[str, Kind] = {}
    for f in files:
        k, kind = f.key, f.kind
        if k is not None and kind is not None:
            found[k] = kind
    return found
