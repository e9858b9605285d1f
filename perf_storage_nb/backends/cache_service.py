"""CacheServiceStorage: the production backend on the real MGraph-AI Cache Service (over httpx).

Mapping (DESIGN.md §3): one entry per session/target, ``cache_key = "sessions/{s}/targets/{t}"`` stored
``key_based`` with ``json_field_path=cache_key`` (so ``cache_hash = sha256(cache_key)[:16]``) and the fixed
``file_id`` ``perf-entry``; each key is one child data file (``data_key`` = folder part, ``data_file_id`` =
last segment) on the json / string / binary routes.

* Segments of ``[A-Za-z0-9_-]`` are sent as they are (other consumers read the same names); a segment with a
  '.' or starting with '__' is encoded reversibly (:func:`~perf_storage_nb.cache_keys.encode_segment`)
  because the server silently rewrites '.'.
* JSON objects are stored natively; any other JSON value (and a dict whose only key is the marker) is
  wrapped as ``{"__psnb_value__": value}`` because the server only accepts objects.
* The empty string is sent as the JSON literal ``""`` and empty bytes as a fixed sentinel, because the
  server rejects empty bodies; bytes that happen to start with the sentinel get it prefixed once more.
* The cache_id is resolved once and memoised on the shared client; reads never create entries.

One value per key. The server keeps ``k.json``, ``k.txt`` and ``k.bin`` as separate files and has no
conditional or atomic multi-file write, and several clients (the factory builds one per ``create_storage``,
other processes have their own) may write one target. Each client keeps a per-target kind map, but only as a
*hint*; a save relies on it only where that is safe:

* the map says the key holds the kind being saved -> ``POST .../update/{type}/...`` (1 request). The server
  writes only if that very file exists, so the key held this kind and, as every save keeps the rule, no other;
  a 404 (someone changed or deleted the key) falls through to the next case;
* otherwise -> ``store``, then DELETE the two other kinds concurrently (3 requests, 2 round trips);
* except a key missing from the map of an entry *this client created* (a new key in a new target, the
  common first run) -> ``store`` alone (1 request).

So a single writer stays at one request per save, load and exists (a test counts them), and a key changed by
another client is cleaned up by the next save or delete of any client. ``delete`` removes every kind at once
(3 concurrent requests). The cost of the trade-off: the creating client takes "not in my map" as "absent";
if another client writes a key in kind A after the entry was created and the creator then saves that key for
the first time in kind B, both files remain until a ``delete``. Truly simultaneous saves of one key in two
kinds may also leave both (never neither, except when both callers also delete). An entry found on the server
(not created here) is listed once (memory/s3 modes) so re-saves of its existing keys take the update path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, ClassVar, Literal, Self

import httpx

from .. import codec
from ..base import BaseStorage, KeyInfo
from ..cache_client import (
    DATA_TYPE,
    DEFAULT_API_KEY_HEADER,
    DEFAULT_NAMESPACE,
    CacheServiceClient,
    DataFile,
    TargetState,
    check_namespace,
)
from ..cache_keys import encode_segment, key_hash, split_key
from ..codec import KINDS, Kind
from ..errors import StorageBackendError, StorageKeyError, StorageKindError

__all__ = ["EMPTY_BYTES", "VALUE_MARKER", "CacheServiceStorage", "ResponseChunks"]

VALUE_MARKER = "__psnb_value__"
_WRAP_HEAD = b'{"' + VALUE_MARKER.encode() + b'":'
#: what empty bytes are stored as (the server answers 400 to an empty body)
EMPTY_BYTES = b"\x00perf_storage_nb:empty-bytes:7f3a9c1e\x00"
#: what an operation on a memoised cache_id answers when the entry is gone (see ``_on_entry``)
_STALE: Any = object()


class CacheServiceStorage(BaseStorage):
    """Session/target/key storage on the MGraph-AI Cache Service.

    Give ``url`` (one, a list or comma-separated replicas; default env ``PERF_STORAGE_URL``), ``api_key``
    (default env ``PERF_STORAGE_API_KEY``) and ``namespace``; or pass a ready ``client`` (e.g. an in-process
    one from :func:`perf_storage_nb.server.client_cache_service`). Siblings share the client and its pool.
    """

    backend_name: ClassVar[str] = "cache_service"
    concurrent_bulk: ClassVar[bool] = True

    def __init__(
        self,
        session_id: str,
        target_id: str,
        *,
        url: str | None = None,
        api_key: str | None = None,
        namespace: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        client: CacheServiceClient | None = None,
        owns_client: bool | None = None,
    ) -> None:
        super().__init__(session_id, target_id)
        built = client is None
        if client is None:
            ns = DEFAULT_NAMESPACE if namespace is None else namespace
            client = CacheServiceClient(
                url, api_key=api_key, namespace=ns, timeout=timeout, retries=retries, api_key_header=api_key_header
            )
        self._namespace = check_namespace(client.namespace if namespace is None else namespace)
        #: close() closes the client: by default only one this storage built itself (siblings share it)
        self._owns_client = built if owns_client is None else owns_client
        self._client = client
        self._state: TargetState = client.target_state(session_id, target_id, self._namespace)

    # ---- identity -------------------------------------------------------------------------------------
    @property
    def client(self) -> CacheServiceClient:
        """The direct-access client (shared with siblings): hash queries, cross-session loads, raw structure."""
        return self._client

    @property
    def namespace(self) -> str:
        """The cache service namespace of this storage."""
        return self._namespace

    @property
    def cache_key(self) -> str:
        """The entry key of this session/target: ``sessions/{session}/targets/{target}``."""
        return self._state.cache_key

    @property
    def cache_id(self) -> str | None:
        """The entry's cache_id (memoised), or None while nothing was written; never creates the entry."""
        return self._client.resolve(self._state, create=False, namespace=self._namespace)

    def to_config(self) -> dict[str, Any]:
        """Config dict without the API key (it comes from ``PERF_STORAGE_API_KEY`` or the caller).

        A storage on an in-process service (:func:`~perf_storage_nb.server.client_cache_service`) gives
        ``url="http://cache-service.inprocess"``: that service lives only inside its client, so building a
        storage from this config raises StorageConfigError instead of returning one that cannot connect.
        """
        c = self._client
        return {
            "backend": "cache_service",
            "session_id": self.session_id,
            "target_id": self.target_id,
            "url": ",".join(c.urls),
            "namespace": self._namespace,
            "timeout": c.timeout,
            "retries": c.retries,
            "api_key_header": c.api_key_header,
        }

    def describe(self) -> str:
        return f"cache_service://{self._namespace}/{self.session_id}/{self.target_id}"

    def __repr__(self) -> str:
        return (
            f"CacheServiceStorage(session_id={self.session_id!r}, target_id={self.target_id!r}, "
            f"namespace={self._namespace!r})"
        )

    def close(self) -> None:
        """Close the connection pool if this storage created it (siblings share their creator's pool)."""
        if self._owns_client:
            self._client.close()

    # ---- entry helpers ----------------------------------------------------------------------------------
    def _entry(self, create: bool) -> str | None:
        return self._client.resolve(self._state, create=create, namespace=self._namespace)

    def _on_entry(self, create: bool, op: Callable[[str], Any]) -> Any:
        """``op(cache_id)``, run again on a re-resolved entry if it answers _STALE; None when there is no entry.

        Another storage or process may delete the target (and someone may recreate it) at any time: the
        memoised cache_id then answers 404, which is noticed here, once, instead of in every primitive.
        """
        for _attempt in range(2):
            cache_id = self._entry(create)
            if cache_id is None:
                return None
            result = op(cache_id)
            if result is not _STALE:
                return result
            self._client.forget(self._state, cache_id)
        if create:
            raise StorageBackendError(f"could not write to {self.describe()}: its entry keeps disappearing")
        return None

    def _is_stale(self, cache_id: str) -> bool:
        """True when the target's entry no longer has ``cache_id`` (deleted, or replaced by someone else)."""
        return self._client.cache_id_for_key(self._state.cache_key, namespace=self._namespace) != cache_id

    def _learn_kinds(self, cache_id: str) -> None:
        """Fill the kind map of an entry we did not create from one listing (once; memory/s3 modes only)."""
        state = self._state
        if state.listed or not self._client.can_list():
            return
        with state.lock:  # concurrent first saves (save_many) wait for one listing instead of sending eight
            if state.listed:
                return
            since = state.begin()
            files = self._client.list_data(cache_id, namespace=self._namespace)
            if files is not None:
                state.observed_all(_kinds_of(files), since, cache_id)

    def _drop_other_kinds(self, cache_id: str, name: tuple[str, str], kind: Kind | None) -> list[bool]:
        """Delete a key (``split_key`` name) in every kind but ``kind``, concurrently; which of them existed."""
        data_key, file_id = name
        types = [DATA_TYPE[k] for k in KINDS if k != kind]
        return self._client.delete_data_types(cache_id, types, data_key, file_id, namespace=self._namespace)

    def _probe(self, key: str, missed: Kind, cache_id: str) -> Kind | None | object:
        """After a GET miss on ``missed``: the kind the key holds, None when absent, _STALE for a stale entry.

        The server answers 404 to a GET of an *empty* string file, so finding ``missed`` itself here means
        the value is empty.
        """
        data_key, file_id = split_key(key)
        client = self._client
        if client.can_list():
            files = client.list_data(cache_id, data_key, recursive=False, namespace=self._namespace)
            if files is None:
                return _STALE
            kinds = {f.kind for f in files if f.file_id == file_id and f.data_key == data_key and f.kind}
            return missed if missed in kinds else next(iter(sorted(kinds)), None)
        if self._is_stale(cache_id):
            return _STALE
        for kind in (missed, *(k for k in KINDS if k != missed)):
            if client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self._namespace):
                return kind
        return None

    def _post(
        self,
        action: Literal["store", "update"],
        cache_id: str,
        kind: Kind,
        name: tuple[str, str],
        body: Any,
        content_type: str,
    ) -> bool:
        """``store`` or ``update`` one child file; False on 404 (no such file for update, or no entry)."""
        data_key, file_id = name
        return self._client.post_data(
            action,
            cache_id,
            DATA_TYPE[kind],
            data_key,
            file_id,
            body,
            content_type=content_type,
            namespace=self._namespace,
        )

    # ---- primitives -----------------------------------------------------------------------------------------
    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        body, content_type = _encode_body(kind, payload)
        # The update route refuses empty text (ours is the JSON literal '""') and answers 500 to the JSON object
        # '{}' (the server turns it into None): those two always take the store route.
        updatable = not ((kind == "text" and not payload) or (kind == "json" and body == b"{}"))
        name = split_key(key)  # an over-long name is refused before any request
        self._on_entry(True, lambda cache_id: self._store(cache_id, key, name, kind, body, content_type, updatable))

    def _store(
        self, cache_id: str, key: str, name: tuple[str, str], kind: Kind, body: Any, content_type: str, updatable: bool
    ) -> Any:
        """One save on ``cache_id`` keeping one value per key (see the module notes); _STALE if the entry is gone."""
        state = self._state
        known = state.kinds.get(key)
        if known is None and not state.created:
            self._learn_kinds(cache_id)
            known = state.kinds.get(key)
        if known == kind and updatable and self._post("update", cache_id, kind, name, body, content_type):
            # 'update' only writes a file that exists: the key held this very kind, so no other kind is there.
            state.wrote(key, kind)
            return None
        if not self._post("store", cache_id, kind, name, body, content_type):
            return _STALE
        # A key absent from the map of an entry this client created is taken to be absent (the one-request
        # steady state); anything else may have been written in another kind by someone else: drop it.
        if known is not None or not state.created:
            self._drop_other_kinds(cache_id, name, kind)
        state.wrote(key, kind)
        return None

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        data_key, file_id = split_key(key)
        client, state, ns = self._client, self._state, self._namespace

        def read(cache_id: str) -> Any:
            since = state.begin()
            body = client.retrieve_data(cache_id, DATA_TYPE[hint], data_key, file_id, namespace=ns)
            if body is not None:
                state.observed(key, hint, since)
                return hint, _decode_body(hint, body)
            other = self._probe(key, hint, cache_id)
            if other is _STALE:
                return other
            state.observed(key, other, since)  # type: ignore[arg-type]
            if other is None:
                return None
            if other == hint:
                return hint, b""  # an empty string file (the server's GET says 404 for it)
            body = client.retrieve_data(cache_id, DATA_TYPE[other], data_key, file_id, namespace=ns)  # type: ignore[index]
            return None if body is None else (other, _decode_body(other, body))  # type: ignore[arg-type]

        return self._on_entry(False, read)

    def _kind_hint(self, key: str) -> Kind:
        """The kind this client last saw ``key`` hold (json when unknown): load_any then reads once."""
        return self._state.kinds.get(key, "json")

    def _decode_json(self, payload: bytes) -> Any:
        value = json.loads(payload)
        if type(value) is dict and len(value) == 1 and VALUE_MARKER in value:
            return value[VALUE_MARKER]
        return value

    def _exists(self, key: str) -> bool:
        data_key, file_id = split_key(key)
        state = self._state

        def exists(cache_id: str) -> Any:
            since = state.begin()
            kind = self._kind_hint(key)
            if self._client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self._namespace):
                return True
            other = self._probe(key, kind, cache_id)
            if other is _STALE:
                return other
            state.observed(key, other, since)  # type: ignore[arg-type]
            return other is not None

        return bool(self._on_entry(False, exists))

    def _remove(self, key: str) -> bool:
        name = split_key(key)

        def remove(cache_id: str) -> Any:
            # Every kind, at once: a key must not survive in a kind some other client wrote.
            deleted = any(self._drop_other_kinds(cache_id, name, None))
            if not deleted and self._is_stale(cache_id):
                return _STALE
            self._state.wrote(key, None)
            return deleted

        return bool(self._on_entry(False, remove))

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        data_key = "/".join(encode_segment(s) for s in folder.split("/")) if folder else ""
        state = self._state

        def keys(cache_id: str) -> Any:
            since = state.begin()
            files = self._client.list_data(cache_id, data_key, namespace=self._namespace)
            if files is None:
                return _STALE
            found = _kinds_of(files)
            if not folder:
                state.observed_all(found, since, cache_id)
            else:
                for k, kind in found.items():
                    state.observed(k, kind, since)
            return list(found)

        return self._on_entry(False, keys) or []

    def _stat(self, key: str) -> KeyInfo | None:
        got = self._read(key, self._kind_hint(key))
        if got is None:
            return None
        kind, payload = got
        if kind == "json":
            payload = codec.encode_json(self._decode(key, "json", payload))
        return KeyInfo(key, kind, len(payload), codec.content_hash(kind, payload), None)

    def _list_sessions(self) -> Iterable[str]:
        return self._client.sessions(namespace=self._namespace)

    def _list_targets(self, session: str) -> Iterable[str]:
        return self._client.targets(session, namespace=self._namespace)

    def _sibling(self, session_id: str, target_id: str) -> Self:
        return type(self)(session_id, target_id, namespace=self._namespace, client=self._client)

    # ---- streaming ------------------------------------------------------------------------------------------
    def _write_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        name = split_key(key)
        counter = _Counter(chunks)
        state = self._state

        def store(cache_id: str) -> Any:
            known = state.kinds.get(key)
            # A streamed body cannot be sent twice, so no 'update' attempt: store, then drop other kinds.
            if not self._post("store", cache_id, "bytes", name, counter, "application/octet-stream"):
                self._client.forget(state, cache_id)
                raise StorageBackendError(
                    f"could not stream {key!r} into {self.describe()}: the entry was deleted meanwhile; nothing stored"
                )
            if known is not None or not state.created:
                self._drop_other_kinds(cache_id, name, "bytes")
            state.wrote(key, "bytes")
            return counter.count

        return int(self._on_entry(True, store))

    def _read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        data_key, file_id = split_key(key)
        route = f"/{self._namespace}/cache/{{}}/data/binary/{_join(data_key, file_id)}"

        def open_stream(cache_id: str) -> Any:
            response = self._client.send("GET", route.format(cache_id), missing=(404,), stream=True)
            if response is not None:
                return ResponseChunks(response, chunk_size)
            kind = self._probe(key, "bytes", cache_id)  # not the same GET again: look at the other kinds
            if kind is _STALE or kind is None:
                return kind
            if kind != "bytes":
                raise StorageKindError(key, kind, "bytes")  # type: ignore[arg-type]
            # written between our GET and the probe: read it whole (rare)
            body = self._client.retrieve_data(cache_id, "binary", data_key, file_id, namespace=self._namespace)
            data = b"" if body is None else _decode_body("bytes", body)
            return iter([data[i : i + chunk_size] for i in range(0, len(data), chunk_size)])

        chunks = self._on_entry(False, open_stream)
        if chunks is None:
            raise StorageKeyError(f"no key {key!r} in {self.describe()}")
        return chunks  # type: ignore[no-any-return]

    # ---- whole target -----------------------------------------------------------------------------------------
    def delete_target(self) -> int:
        """Delete every key of this target, then its entry (all versions); returns how many keys were deleted.

        Child data goes first (the server orphans it otherwise). Needs a server storage mode that can list
        (memory, s3); other modes raise StorageNotSupported before anything is deleted.
        """
        client, state, ns = self._client, self._state, self._namespace
        with state.lock:
            cache_id = self._entry(create=False)
            if cache_id is None:
                return 0
            files = client.list_data(cache_id, namespace=ns) or []
            keys = {f.key for f in files if f.key is not None}
            client.delete_all_data(cache_id, namespace=ns)
            # Racing creators may have made several cache_ids for this key; they share the child folder.
            for _round in range(5):
                versions = client.entry_versions(key_hash(state.cache_key), namespace=ns)
                ids = (
                    {cache_id}
                    if versions is None
                    else {v["cache_id"] for v in versions.get("cache_ids", [])} | {cache_id}
                )
                for cid in sorted(ids):
                    client.delete_entry(cid, namespace=ns)
                cache_id = client.cache_id_for_key(state.cache_key, namespace=ns)
                if cache_id is None:
                    break
            client.forget(state)
        return len(keys)


# ---- body encoding --------------------------------------------------------------------------------------------
def _encode_body(kind: Kind, payload: bytes) -> tuple[bytes, str]:
    if kind == "json":
        if payload[:1] == b"{" and not (payload.startswith(_WRAP_HEAD) and _marker_only(payload)):
            return payload, "application/json"
        return _WRAP_HEAD + payload + b"}", "application/json"
    if kind == "text":
        if not payload:
            return b'""', "application/json"  # the server rejects an empty body; a JSON "" literal is accepted
        return payload, "text/plain; charset=utf-8"
    if not payload or payload.startswith(EMPTY_BYTES):
        return EMPTY_BYTES + payload, "application/octet-stream"
    return payload, "application/octet-stream"


def _decode_body(kind: Kind, body: bytes) -> bytes:
    if kind == "bytes" and body.startswith(EMPTY_BYTES):
        return body[len(EMPTY_BYTES) :]
    return body


def _marker_only(payload: bytes) -> bool:
    value = json.loads(payload)
    return isinstance(value, dict) and list(value) == [VALUE_MARKER]


def _join(data_key: str, file_id: str) -> str:
    return f"{data_key}/{file_id}" if data_key else file_id


class _Counter:
    """Iterates chunks for a streamed upload, counting bytes and applying the empty/sentinel rule."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        it = iter(self._chunks)
        head = b""
        for chunk in it:
            head += chunk
            if len(head) >= len(EMPTY_BYTES):
                break
        self.count = len(head)
        if not head or head.startswith(EMPTY_BYTES):
            yield EMPTY_BYTES
        if head:
            yield head
        for chunk in it:
            self.count += len(chunk)
            if chunk:
                yield chunk


def _kinds_of(files: Iterable[DataFile]) -> dict[str, Kind]:
    """Our keys and kinds in a listing (names we could not have written are skipped)."""
    found: dict[str, Kind] = {}
    for f in files:
        k, kind = f.key, f.kind
        if k is not None and kind is not None:
            found[k] = kind
    return found


class ResponseChunks(Iterator[bytes]):
    """The chunks of one streamed binary value; closing it frees the pooled connection.

    Closed when exhausted, on ``close()``, on leaving a ``with`` block, and when garbage-collected: an
    abandoned iterator must not keep one of the client's pooled connections checked out.
    """

    def __init__(self, response: httpx.Response, chunk_size: int) -> None:
        self._response: httpx.Response | None = response
        self._chunks = response.iter_bytes(chunk_size)
        self._started = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        if self._response is None:
            raise StopIteration
        try:
            if not self._started:
                self._started = True
                head = self._head()
                if head:
                    return head
            while True:
                chunk = next(self._chunks)
                if chunk:
                    return chunk
        except StopIteration:
            self.close()
            raise
        except httpx.HTTPError as exc:
            self.close()
            raise StorageBackendError(f"streaming from the cache service failed: {type(exc).__name__}: {exc}") from exc

    def _head(self) -> bytes:
        """The first bytes, with the empty-bytes sentinel removed (it is never split across chunks here)."""
        head = b""
        for chunk in self._chunks:
            head += chunk
            if len(head) >= len(EMPTY_BYTES):
                break
        return head.removeprefix(EMPTY_BYTES)

    def close(self) -> None:
        """Release the connection (idempotent)."""
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with suppress(Exception):  # nothing can be reported from a finalizer
            self.close()
