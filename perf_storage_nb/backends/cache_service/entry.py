"""TargetEntry: the key operations on one session/target entry, shared by the storage and direct access.

Mapping: one entry per session/target, ``cache_key = "sessions/{s}/targets/{t}"`` stored ``key_based`` with
``json_field_path=cache_key`` (so ``cache_hash = sha256(cache_key)[:16]``) and the fixed ``file_id``
``perf-entry``; each key is one child data file (``data_key`` = folder part, ``data_file_id`` = last segment)
on the json / string / binary routes.

* Segments of ``[A-Za-z0-9_-]`` are sent as they are (other consumers read the same names); a segment with a
  '.' or starting with '__' is encoded reversibly (:func:`~.names.encode_segment`) because the server
  silently rewrites '.'.
* JSON objects are stored natively; any other JSON value (and a dict whose only key is the marker) is
  wrapped as ``{"__psnb_value__": value}`` because the server only accepts objects.
* Empty text and empty bytes are sent as the JSON literal ``""``, which the server stores as an empty file
  (it refuses an empty body); the pre-0.3 empty-bytes sentinel still reads as empty (see :mod:`.body`).
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

from collections.abc import Iterable, Iterator

from ...errors import StorageBackendError, StorageKeyError, StorageKindError
from ...kinds import Kind
from ...names import check_prefix
from .answers import is_guid
from .body import ResponseChunks, UploadCounter, decode_body, encode_body
from .entry_base import STALE, EntryBase, Stale, kinds_of
from .names import DATA_TYPE, encode_segment, key_hash, split_key

__all__ = ["TargetEntry"]


class TargetEntry(EntryBase):
    """The key operations on one session/target entry, shared by the storage and the direct-access helpers.

    Keys are checked by the caller; every operation keeps one value per key (see the module notes).
    """

    # ---- keys -----------------------------------------------------------------------------------------------
    def write(self, key: str, kind: Kind, payload: bytes) -> None:
        """Store ``payload`` of ``kind`` under ``key``, keeping one value per key (see the module notes)."""
        body, content_type = encode_body(kind, payload)
        # The update routes refuse empty text and bytes ("cannot be empty") and answer 500 to the JSON object
        # '{}' (the server turns it into None): those always take the store route.
        updatable = bool(payload) and not (kind == "json" and body == b"{}")
        name = split_key(key)  # an over-long name is refused before any request
        self.on_entry(True, lambda cache_id: self._store(cache_id, key, name, kind, body, content_type, updatable))

    def _store(
        self,
        cache_id: str,
        key: str,
        name: tuple[str, str],
        kind: Kind,
        body: bytes,
        content_type: str,
        updatable: bool,
    ) -> None | Stale:
        """One save on ``cache_id`` keeping one value per key (see the module notes); STALE if the entry is gone."""
        state = self.state
        known = state.kinds.get(key)
        if known is None and not state.created:
            self.learn_kinds(cache_id)
            known = state.kinds.get(key)
        if known == kind and updatable and self._post("update", cache_id, kind, name, body, content_type):
            # 'update' only writes a file that exists: the key held this very kind, so no other kind is there.
            state.wrote(key, kind)
            return None
        if not self._post("store", cache_id, kind, name, body, content_type):
            return STALE
        # A key absent from the map of an entry this client created is taken to be absent (the one-request
        # steady state); anything else may have been written in another kind by someone else: drop it.
        if known is not None or not state.created:
            self._drop_other_kinds(cache_id, name, kind)
        state.wrote(key, kind)
        return None

    def read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        """``(kind, payload)`` of ``key`` or None; one request when ``hint`` is right, a probe of the kinds if not."""
        name = split_key(key)
        state = self.state

        def read(cache_id: str) -> tuple[Kind, bytes] | None | Stale:
            since = state.begin()
            body = self.fetch(cache_id, hint, name)
            if body is not None:
                state.observed(key, hint, since)
                return hint, decode_body(hint, body)
            other = self.probe(key, hint, cache_id)
            if other is STALE:
                return other
            state.observed(key, other, since)
            if other is None:
                return None
            if other == hint:
                return hint, b""  # an empty string file (the server's GET says 404 for it)
            body = self.fetch(cache_id, other, name)
            return None if body is None else (other, decode_body(other, body))

        return self.on_entry(False, read)

    def exists(self, key: str) -> bool:
        """True when ``key`` holds a value of any kind (one request when the kind map knows its kind)."""
        data_key, file_id = split_key(key)
        state = self.state

        def exists(cache_id: str) -> bool | Stale:
            since = state.begin()
            kind = self.kind_hint(key)
            if self.client.data_exists(cache_id, DATA_TYPE[kind], data_key, file_id, namespace=self.namespace):
                return True
            other = self.probe(key, kind, cache_id)
            if other is STALE:
                return other
            state.observed(key, other, since)
            return other is not None

        return bool(self.on_entry(False, exists))

    def remove(self, key: str) -> bool:
        """Delete ``key`` in every kind; True if something was deleted."""
        name = split_key(key)

        def remove(cache_id: str) -> bool | Stale:
            # Every kind, at once: a key must not survive in a kind some other client wrote.
            deleted = any(self._drop_other_kinds(cache_id, name, None))
            if not deleted and self.is_stale(cache_id):
                return STALE
            self.state.wrote(key, None)
            return deleted

        return bool(self.on_entry(False, remove))

    def keys(self, prefix: str) -> list[str]:
        """Keys of the entry in the folder of ``prefix`` (one listing; may include keys not starting with it)."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        data_key = "/".join(encode_segment(s) for s in folder.split("/")) if folder else ""
        state = self.state

        def keys(cache_id: str) -> list[str] | Stale:
            since = state.begin()
            files = self.client.list_data(cache_id, data_key, namespace=self.namespace)
            if files is None:
                return STALE
            found = kinds_of(files)
            if not folder:
                state.observed_all(found, since, cache_id)
            else:
                for k, kind in found.items():
                    state.observed(k, kind, since)
            return list(found)

        return self.on_entry(False, keys) or []

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys of the entry that start with ``prefix`` (as ``BaseStorage.list_keys``)."""
        prefix = check_prefix(prefix)
        keys = self.keys(prefix)
        return sorted([k for k in keys if k.startswith(prefix)] if prefix else keys)

    # ---- streams --------------------------------------------------------------------------------------------
    def write_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the bytes of ``chunks`` under ``key`` in one streamed upload; returns the byte count."""
        name = split_key(key)
        counter = UploadCounter(chunks)
        if counter.empty:  # an empty value is sent as one body (the route refuses an empty stream)
            self.write(key, "bytes", b"")
            return 0
        state = self.state

        def store(cache_id: str) -> int:
            known = state.kinds.get(key)
            # A streamed body cannot be sent twice, so no 'update' attempt: store, then drop other kinds.
            if not self._post("store", cache_id, "bytes", name, counter, "application/octet-stream"):
                self.forget(cache_id)
                raise StorageBackendError(
                    f"could not stream {key!r} into {self.describe()}: the entry was deleted meanwhile; nothing stored"
                )
            if known is not None or not state.created:
                self._drop_other_kinds(cache_id, name, "bytes")
            state.wrote(key, "bytes")
            return counter.count

        return self.on_entry(True, store) or 0  # an entry to write to always exists (or on_entry raised)

    def read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        """The bytes of ``key`` in chunks (a streamed GET); StorageKeyError when missing."""
        data_key, file_id = split_key(key)

        def open_stream(cache_id: str) -> Iterator[bytes] | None | Stale:
            response = self.client.open_data(cache_id, "binary", data_key, file_id, namespace=self.namespace)
            if response is not None:
                return ResponseChunks(response, chunk_size, lambda exc: self.client.stream_error(exc, repr(key)))
            kind = self.probe(key, "bytes", cache_id)  # not the same GET again: look at the other kinds
            if kind is STALE or kind is None:
                return kind
            if kind != "bytes":
                raise StorageKindError(key, kind, "bytes")
            # written between our GET and the probe: read it whole (rare)
            body = self.client.retrieve_data(cache_id, "binary", data_key, file_id, namespace=self.namespace)
            data = b"" if body is None else decode_body("bytes", body)
            return iter([data[i : i + chunk_size] for i in range(0, len(data), chunk_size)])

        chunks = self.on_entry(False, open_stream)
        if chunks is None:
            raise StorageKeyError(f"no key {key!r} in {self.describe()}")
        return chunks

    # ---- whole target -----------------------------------------------------------------------------------------
    def delete_target(self) -> int:
        """Delete every key of this target, then its entry (all versions); returns how many keys were deleted.

        Child data goes first (the server orphans it otherwise). Needs a server storage mode that can list
        (memory, s3); other modes raise StorageNotSupported before anything is deleted.
        """
        client, state, ns = self.client, self.state, self.namespace
        with state.lock:
            cache_id = self.cache_id(create=False)
            if cache_id is None:
                return 0
            files = client.list_data(cache_id, namespace=ns) or []
            keys = {f.key for f in files if f.key is not None}
            client.delete_all_data(cache_id, namespace=ns)
            # Racing creators may have made several cache_ids for this key; they share the child folder.
            for _round in range(5):
                versions = client.entry_versions(key_hash(state.cache_key), namespace=ns)
                listed = [] if versions is None else versions["cache_ids"]
                ids = {v["cache_id"] for v in listed if isinstance(v, dict) and is_guid(v.get("cache_id"))} | {cache_id}
                for cid in sorted(ids):
                    client.delete_entry(cid, namespace=ns)
                cache_id = client.cache_id_for_key(state.cache_key, namespace=ns)
                if cache_id is None:
                    break
            self.forget()
        return len(keys)
