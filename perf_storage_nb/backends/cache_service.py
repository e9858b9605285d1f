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
* The cache_id is resolved once and memoised on the shared client: one request per save/load/exists in
  steady state. A per-target kind map (filled by this process's writes, or by one listing) keeps one value
  per key across kinds without an extra request per save.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Self

import httpx

from .. import codec
from ..base import BaseStorage, KeyInfo
from ..cache_client import (
    DATA_TYPE,
    DEFAULT_API_KEY_HEADER,
    DEFAULT_NAMESPACE,
    CacheServiceClient,
    TargetState,
    check_namespace,
)
from ..cache_keys import encode_segment, key_hash, split_key
from ..codec import KINDS, Kind
from ..errors import StorageBackendError, StorageKeyError, StorageKindError
from ..names import check_key

__all__ = ["EMPTY_BYTES", "VALUE_MARKER", "CacheServiceStorage"]

VALUE_MARKER = "__psnb_value__"
_WRAP_HEAD = b'{"' + VALUE_MARKER.encode() + b'":'
#: what empty bytes are stored as (the server answers 400 to an empty body)
EMPTY_BYTES = b"\x00perf_storage_nb:empty-bytes:7f3a9c1e\x00"


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
        namespace: str = DEFAULT_NAMESPACE,
        timeout: float = 30.0,
        retries: int = 3,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        client: CacheServiceClient | None = None,
    ) -> None:
        super().__init__(session_id, target_id)
        self._namespace = check_namespace(namespace)
        self._owns_client = client is None
        if client is None:
            client = CacheServiceClient(url, api_key=api_key, namespace=namespace, timeout=timeout,
                                        retries=retries, api_key_header=api_key_header)
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
        """Config dict without the API key (it comes from ``PERF_STORAGE_API_KEY`` or the caller)."""
        c = self._client
        return {"backend": "cache_service", "session_id": self.session_id, "target_id": self.target_id,
                "url": ",".join(c.urls), "namespace": self._namespace, "timeout": c.timeout,
                "retries": c.retries, "api_key_header": c.api_key_header}

    def describe(self) -> str:
        return f"cache_service://{self._namespace}/{self.session_id}/{self.target_id}"

    def __repr__(self) -> str:
        return (f"CacheServiceStorage(session_id={self.session_id!r}, target_id={self.target_id!r}, "
                f"namespace={self._namespace!r})")

    def close(self) -> None:
        """Close the connection pool if this storage created it (siblings share their creator's pool)."""
        if self._owns_client:
            self._client.close()

    # ---- entry helpers ----------------------------------------------------------------------------------
    def _entry(self, create: bool) -> str | None:
        return self._client.resolve(self._state, create=create, namespace=self._namespace)

    def _forget(self, stale: str) -> None:
        self._client.forget(self._state, stale)

    def _known_kinds(self, key: str, cache_id: str) -> set[Kind] | None:
        """Kinds ``key`` may hold on the server (set() when surely absent); None when unknowable cheaply."""
        state = self._state
        kind = state.kinds.get(key)
        if kind is not None:
            return {kind}
        if state.complete:
            return set()
        if not self._client.can_list():
            return None
        with state.lock:
            if not state.complete and state.cache_id == cache_id:
                files = self._client.list_data(cache_id, namespace=self._namespace) or []
                found: dict[str, set[Kind]] = {}
                for f in files:
                    k, fk = f.key, f.kind
                    if k is not None and fk is not None:
                        found.setdefault(k, set()).add(fk)
                for k, kinds in found.items():
                    state.kinds.setdefault(k, next(iter(kinds)))
                state.complete = True
                return found.get(key, set())
        kind = state.kinds.get(key)
        return {kind} if kind is not None else set()

    def _probe(self, key: str, missed: Kind, cache_id: str) -> tuple[Kind | None, bool]:
        """After a GET miss on ``missed``: ``(kind the key holds or None, entry is stale)``.

        The server answers 404 to a GET of an *empty* string file, so finding ``missed`` itself here means
        the value is empty.
        """
        data_key, file_id = split_key(key)
        client = self._client
        if client.can_list():
            files = client.list_data(cache_id, data_key, recursive=False, namespace=self._namespace)
            if files is None:
                return None, True
            kinds = {f.kind for f in files if f.file_id == file_id and f.data_key == data_key and f.kind}
            if missed in kinds:
                return missed, False
            return next(iter(sorted(kinds)), None), False
        if client.cache_id_for_key(self._state.cache_key, namespace=self._namespace) != cache_id:
            return None, True
        for kind in (missed, *(k for k in KINDS if k != missed)):
            if client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self._namespace):
                return kind, False
        return None, False

    # ---- primitives -----------------------------------------------------------------------------------------
    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        data_key, file_id = split_key(key)
        body, content_type = _encode_body(kind, payload)
        for _attempt in range(2):
            cache_id = self._entry(create=True)
            assert cache_id is not None
            before = self._known_kinds(key, cache_id)
            stored = self._client.send(
                "POST", f"/{self._namespace}/cache/{cache_id}/data/store/{DATA_TYPE[kind]}/{_join(data_key, file_id)}",
                content=body, content_type=content_type, missing=(404,),
            )
            if stored is not None:
                break
            self._forget(cache_id)  # the entry was deleted (by another storage or process): recreate it
        else:
            raise StorageBackendError(f"could not store {key!r} in {self.describe()}: the entry keeps disappearing")
        others = (set(KINDS) if before is None else before) - {kind}
        for other in sorted(others):  # one value per key: drop what the key held in another kind
            self._client.delete_data(cache_id, DATA_TYPE[other], data_key, file_id, namespace=self._namespace)
        self._state.kinds[key] = kind

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        data_key, file_id = split_key(key)
        for _attempt in range(2):
            cache_id = self._entry(create=False)
            if cache_id is None:
                return None
            body = self._client.retrieve_data(cache_id, DATA_TYPE[hint], data_key, file_id, namespace=self._namespace)
            if body is not None:
                self._state.kinds[key] = hint
                return hint, _decode_body(hint, body)
            other, stale = self._probe(key, hint, cache_id)
            if stale:
                self._forget(cache_id)
                continue
            if other is None:
                self._state.kinds.pop(key, None)
                return None
            self._state.kinds[key] = other
            if other == hint:
                return hint, b""  # an empty string file (the server's GET says 404 for it)
            body = self._client.retrieve_data(cache_id, DATA_TYPE[other], data_key, file_id, namespace=self._namespace)
            return None if body is None else (other, _decode_body(other, body))
        return None

    def _decode_json(self, payload: bytes) -> Any:
        value = json.loads(payload)
        if type(value) is dict and len(value) == 1 and VALUE_MARKER in value:
            return value[VALUE_MARKER]
        return value

    def load_any(self, key: str, default: Any = None) -> Any:
        """Load a key whatever its kind (JSON value, str or bytes); one request when its kind is known."""
        key = check_key(key)
        got = self._read(key, self._state.kinds.get(key, "json"))
        if got is None:
            return default
        kind, payload = got
        if kind == "json":
            return self._decode_json(payload)
        return codec.decode_text(payload) if kind == "text" else payload

    def _exists(self, key: str) -> bool:
        data_key, file_id = split_key(key)
        for _attempt in range(2):
            cache_id = self._entry(create=False)
            if cache_id is None:
                return False
            kind = self._state.kinds.get(key, "json")
            if self._client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self._namespace):
                return True
            other, stale = self._probe(key, kind, cache_id)
            if stale:
                self._forget(cache_id)
                continue
            if other is not None:
                self._state.kinds[key] = other
            return other is not None
        return False

    def _remove(self, key: str) -> bool:
        data_key, file_id = split_key(key)
        for _attempt in range(2):
            cache_id = self._entry(create=False)
            if cache_id is None:
                return False
            known = self._state.kinds.pop(key, None)
            if known is not None and self._client.delete_data(cache_id, DATA_TYPE[known], data_key, file_id,
                                                              namespace=self._namespace):
                return True
            if self._client.can_list():
                files = self._client.list_data(cache_id, data_key, recursive=False, namespace=self._namespace)
                if files is None:
                    self._forget(cache_id)
                    continue
                kinds = [f.kind for f in files if f.file_id == file_id and f.data_key == data_key and f.kind]
            else:
                kinds = [k for k in KINDS if k != known]
            deleted = [self._client.delete_data(cache_id, DATA_TYPE[k], data_key, file_id, namespace=self._namespace)
                       for k in kinds]
            return any(deleted)
        return False

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        data_key = "/".join(encode_segment(s) for s in folder.split("/")) if folder else ""
        for _attempt in range(2):
            cache_id = self._entry(create=False)
            if cache_id is None:
                return []
            files = self._client.list_data(cache_id, data_key, namespace=self._namespace)
            if files is None:
                self._forget(cache_id)
                continue
            keys: dict[str, Kind] = {}
            for f in files:
                k, kind = f.key, f.kind
                if k is not None and kind is not None:
                    keys[k] = kind
            if not folder:
                self._state.kinds.clear()
                self._state.complete = True
            self._state.kinds.update(keys)
            return list(keys)
        return []

    def _stat(self, key: str) -> KeyInfo | None:
        got = self._read(key, self._state.kinds.get(key, "json"))
        if got is None:
            return None
        kind, payload = got
        if kind == "json":
            payload = codec.encode_json(self._decode_json(payload))
        return KeyInfo(key, kind, len(payload), codec.content_hash(kind, payload), None)

    def _list_sessions(self) -> Iterable[str]:
        return self._client.sessions(namespace=self._namespace)

    def _list_targets(self, session: str) -> Iterable[str]:
        return self._client.targets(session, namespace=self._namespace)

    def _sibling(self, session_id: str, target_id: str) -> Self:
        return type(self)(session_id, target_id, namespace=self._namespace, client=self._client)

    # ---- streaming ------------------------------------------------------------------------------------------
    def _write_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        data_key, file_id = split_key(key)
        cache_id = self._entry(create=True)
        assert cache_id is not None
        before = self._known_kinds(key, cache_id)
        counter = _Counter(chunks)
        stored = self._client.store_data(cache_id, "binary", data_key, file_id, counter, namespace=self._namespace)
        if not stored:
            self._forget(cache_id)
            raise StorageBackendError(f"could not stream {key!r} into {self.describe()}: the entry was deleted meanwhile; nothing stored")
        for other in sorted((set(KINDS) if before is None else before) - {"bytes"}):
            self._client.delete_data(cache_id, DATA_TYPE[other], data_key, file_id, namespace=self._namespace)
        self._state.kinds[key] = "bytes"
        return counter.count

    def _read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        data_key, file_id = split_key(key)
        cache_id = self._entry(create=False)
        response = None
        if cache_id is not None:
            response = self._client.send("GET", f"/{self._namespace}/cache/{cache_id}/data/binary/{_join(data_key, file_id)}",
                                         missing=(404,), stream=True)
        if response is None:
            got = self._read(key, "bytes") if cache_id is not None else None
            if got is not None and got[0] != "bytes":
                raise StorageKindError(key, got[0], "bytes")
            if got is None:
                raise StorageKeyError(f"no key {key!r} in {self.describe()}")
            data = got[1]
            return (data[i : i + chunk_size] for i in range(0, len(data), chunk_size))
        return _iter_response(response, chunk_size)

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
                ids = {cache_id} if versions is None else {v["cache_id"] for v in versions.get("cache_ids", [])} | {cache_id}
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


def _iter_response(response: httpx.Response, chunk_size: int) -> Iterator[bytes]:
    try:
        head = b""
        chunks = response.iter_bytes(chunk_size)
        for chunk in chunks:
            head += chunk
            if len(head) >= len(EMPTY_BYTES):
                break
        if head.startswith(EMPTY_BYTES):
            head = head[len(EMPTY_BYTES) :]
        if head:
            yield head
        yield from chunks
    except httpx.HTTPError as exc:
        raise StorageBackendError(f"streaming from the cache service failed: {type(exc).__name__}: {exc}") from exc
    finally:
        response.close()
