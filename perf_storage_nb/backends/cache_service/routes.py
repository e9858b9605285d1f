"""RoutesClient: one typed method per route of the MGraph-AI Cache Service, on top of :class:`WireClient`.

Server info, entries (by hash, by key), child data (store, update, retrieve, stream, exists, list, delete),
namespaces and the raw admin storage routes. A missing item is None (or False), never an exception; list,
delete-all, namespace and admin routes need a server storage mode that implements them (memory, s3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Unpack

import httpx

from ...errors import StorageConfigTypeError, StorageNameError
from .answers import ARRAY, OBJECT, Shape, is_bool, is_guid, is_int, is_list, is_str
from .names import DataFile, DataType, check_hash, check_namespace, key_hash
from .wire import WireClient, WireOptions

__all__ = ["CACHE_ID", "DEFAULT_NAMESPACE", "ENTRY_FILE_ID", "RoutesClient"]

DEFAULT_NAMESPACE = "perf-results"
#: Every entry is created with this fixed file_id, so all cache_ids ever created for one session/target
#: (the server mints a new one per create, and races between processes create several) share ONE child
#: folder ``.../targets/{t}/perf-entry/data``: concurrent first writers lose nothing. Same value as the
#: original implementation, so its data stays readable.
ENTRY_FILE_ID = "perf-entry"

#: the answers the client reads, by the fields it reads (anything else: not the cache service)
CACHE_ID = Shape({"cache_id": is_guid}, what="a 'cache_id' GUID")
_EXISTS = Shape({"exists": is_bool}, what="an 'exists' boolean")
_STATUS = Shape({"status": is_str}, what="a 'status' string")
_STORED = Shape({"cache_id": is_str, "data_type": is_str}, what="'cache_id' and 'data_type'")
_UPDATED = Shape({"success": is_bool}, what="a 'success' boolean")
_MODE = Shape({"storage_mode": is_str}, what="a 'storage_mode' string")
_DELETED = Shape({"deleted_count": is_int}, what="a 'deleted_count' number")


def _paths(value: object) -> bool:
    return isinstance(value, list) and all(map(is_str, value))


def _data_files(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(f, dict) and is_str(f.get("data_file_id")) for f in value)


_FILES = Shape({"files": _paths}, what="a 'files' array of paths")
_DATA_FILES = Shape({"files": _data_files}, what="a 'files' array of data files")
_VERSIONS = Shape({"cache_ids": is_list}, what="a 'cache_ids' array")
_CONTENT_TYPES = {
    "json": "application/json",
    "string": "text/plain; charset=utf-8",
    "binary": "application/octet-stream",
}


class RoutesClient(WireClient):
    """Typed wrappers of the cache service routes, in the namespace ``namespace`` unless a call names another."""

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        **options: Unpack[WireOptions],
    ) -> None:
        if not isinstance(namespace, str):  # an option of the wrong type; a bad name is a StorageNameError
            raise StorageConfigTypeError(
                f"namespace must be a str of 1-128 letters, digits, '_' and '-', not {type(namespace).__name__}"
            )
        self.namespace = check_namespace(namespace)
        super().__init__(url, **options)
        self._storage_mode: str | None = None

    def __repr__(self) -> str:
        key = "set" if self._has_key else "none"
        return f"{type(self).__name__}(url={','.join(self.urls)!r}, namespace={self.namespace!r}, api_key={key})"

    def _ns(self, namespace: str | None) -> str:
        return self.namespace if namespace is None else check_namespace(namespace)

    def _storage_mode_label(self) -> str:
        try:
            return f"storage mode {self.storage_mode()!r}"
        except Exception:  # noqa: BLE001 - only decorates a message
            return "storage mode unknown"

    # ---- JSON answers, typed -------------------------------------------------------------------------------
    def _object(self, method: str, path: str, shape: Shape = OBJECT, **kwargs: Any) -> dict[str, Any] | None:
        """A JSON object answer of ``shape``; None for a ``missing`` status."""
        data: dict[str, Any] | None = self.send_json(method, path, shape, **kwargs)
        return data

    def _list(self, method: str, path: str, **kwargs: Any) -> list[Any]:
        """A JSON array answer."""
        data: list[Any] = self.send_json(method, path, ARRAY, **kwargs)
        return data

    def _field(self, method: str, path: str, name: str, shape: Shape = OBJECT, **kwargs: Any) -> Any:
        """One field of a JSON object answer of ``shape`` (None when absent, or for a ``missing`` status)."""
        return (self._object(method, path, shape, **kwargs) or {}).get(name)

    # ---- server -------------------------------------------------------------------------------------------
    def health(self) -> bool:
        """True when ``GET /info/health`` answers ``{"status": "ok"}``."""
        return bool(self._field("GET", "/info/health", "status", _STATUS) == "ok")

    def check(self) -> str:
        """Verify the service is reachable, is the cache service and takes our API key; returns its storage mode.

        One cheap request that needs the key (``GET /server/storage/info``): a dead server raises
        StorageConnectionError, a missing or wrong key StorageAuthError, a URL that is not the cache service
        StorageBackendError saying so. The answer is remembered (:meth:`storage_mode` sends nothing more).
        """
        info = self.send_json("GET", "/server/storage/info", _MODE, route_needed=True)
        self._storage_mode = str(info["storage_mode"])
        return self._storage_mode

    def info(self) -> dict[str, Any]:
        """Server name, version, status and environment (``/info/status``)."""
        return dict(self._object("GET", "/info/status") or {})

    def versions(self) -> dict[str, Any]:
        """Versions of the service and its libraries (``/info/versions``)."""
        return dict(self._object("GET", "/info/versions") or {})

    def storage_info(self) -> dict[str, Any]:
        """The server's storage mode and settings (``/server/storage/info``)."""
        return dict(self._object("GET", "/server/storage/info", _MODE) or {})

    def storage_mode(self) -> str:
        """``memory``, ``s3``, ``local_disk``, ... (asked once, then remembered)."""
        if self._storage_mode is None:
            self._storage_mode = str(self.storage_info().get("storage_mode"))
        return self._storage_mode

    def can_list(self) -> bool:
        """True when the server's storage mode implements listing and delete-all (memory, s3)."""
        return self.storage_mode() in ("memory", "s3")

    # ---- entries --------------------------------------------------------------------------------------------
    def cache_id_for_hash(self, cache_hash: str, *, namespace: str | None = None) -> str | None:
        """The latest cache_id stored under ``cache_hash`` (None when unknown); one request."""
        route = f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}/cache-id"
        data = self._object("GET", route, CACHE_ID, missing=(404,))
        return None if data is None else str(data["cache_id"])

    def cache_id_for_key(self, cache_key: str, *, namespace: str | None = None) -> str | None:
        """The cache_id of an entry stored with ``json_field_path=cache_key`` (hash computed here); one request."""
        return self.cache_id_for_hash(key_hash(cache_key), namespace=namespace)

    def create_entry(
        self,
        cache_key: str,
        body: dict[str, Any] | None = None,
        *,
        namespace: str | None = None,
        file_id: str = ENTRY_FILE_ID,
    ) -> str:
        """Store a ``key_based`` entry findable by ``sha256(cache_key)[:16]``; returns its new cache_id."""
        payload = {**(body or {}), "cache_key": cache_key}
        data = self._object(
            "POST",
            f"/{self._ns(namespace)}/key_based/store/json/{cache_key}",
            CACHE_ID,
            params={"json_field_path": "cache_key", "file_id": file_id},
            content=json.dumps(payload).encode(),
            content_type="application/json",
        )
        return str((data or {})["cache_id"])

    def entry_versions(self, cache_hash: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """Every cache_id recorded under ``cache_hash`` (``refs-hash``: cache_ids, latest_id, total_versions)."""
        route = f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}/refs-hash"
        return self._object("GET", route, _VERSIONS, missing=(404,))

    def entry_refs(self, cache_id: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """Raw paths of an entry (``retrieve/{id}/refs``); None when unknown."""
        return self._object("GET", f"/{self._ns(namespace)}/retrieve/{cache_id}/refs", missing=(404,))

    def entry(self, cache_id: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The entry wrapper: ``{"data", "metadata", "data_type"}``; None when unknown."""
        return self._object("GET", f"/{self._ns(namespace)}/retrieve/{cache_id}", missing=(404,))

    def entry_by_hash(self, cache_hash: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The latest entry stored under ``cache_hash`` (data + metadata) in one request; None when unknown."""
        return self._object("GET", f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}", missing=(404,))

    def hash_exists(self, cache_hash: str, *, namespace: str | None = None) -> bool:
        """True when any entry has ``cache_hash``; one request."""
        route = f"/{self._ns(namespace)}/exists/hash/{check_hash(cache_hash)}"
        return bool(self._field("GET", route, "exists", _EXISTS))

    def delete_entry(self, cache_id: str, *, namespace: str | None = None) -> bool:
        """Delete an entry (not its child data: delete that first); True if it existed."""
        return bool(self._field("DELETE", f"/{self._ns(namespace)}/delete/{cache_id}", "status", _STATUS) == "success")

    # ---- child data -----------------------------------------------------------------------------------------
    def _data(self, namespace: str | None, cache_id: str, *route: str) -> str:
        """``/{ns}/cache/{cache_id}/data/...``: the route prefix of an entry's child data, with ``route`` joined."""
        return "/".join([f"/{self._ns(namespace)}/cache/{cache_id}/data", *(part for part in route if part)])

    def store_data(
        self,
        cache_id: str,
        data_type: DataType,
        data_key: str,
        file_id: str,
        content: bytes | Iterable[bytes],
        *,
        namespace: str | None = None,
    ) -> bool:
        """Upsert one child file; False when the entry does not exist (404). Streamed bodies are sent once."""
        return self.post_data("store", cache_id, data_type, data_key, file_id, content, namespace=namespace)

    def post_data(
        self,
        action: Literal["store", "update"],
        cache_id: str,
        data_type: DataType,
        data_key: str,
        file_id: str,
        content: bytes | Iterable[bytes],
        *,
        content_type: str | None = None,
        namespace: str | None = None,
    ) -> bool:
        """``store`` (upsert) or ``update`` (only if that file exists) one child file; False on 404.

        404 means no entry (both actions) or, for ``update``, no file of that data type under that name. The
        answer is checked: a server that answers 200 without storing anything is not the cache service.
        """
        body = self.upload_body(content)
        answer = self._object(
            "POST",
            self._data(namespace, cache_id, action, data_type, data_key, file_id),
            _STORED if action == "store" else _UPDATED,
            content=body,
            content_type=content_type or _CONTENT_TYPES[data_type],
            missing=(404,),
            retry=isinstance(body, (bytes, bytearray)),  # a streamed body cannot be replayed
        )
        return answer is not None and answer.get("success", True) is True

    def retrieve_data(
        self,
        cache_id: str,
        data_type: DataType,
        data_key: str,
        file_id: str,
        *,
        namespace: str | None = None,
        raw_path: str | None = None,
    ) -> bytes | None:
        """The raw body of one child file, or None when missing.

        The server parses json and string files to answer, and answers 500 when it cannot (a file another
        client planted: not JSON, too deep for it, not UTF-8). With ``raw_path`` (where the file lies in the
        server's storage) such a file is then read as stored bytes, so the caller can say what is wrong with it.
        """
        route = self._data(namespace, cache_id, data_type, data_key, file_id)
        response = self.send("GET", route, missing=(404,), final=(500,) if raw_path else ())
        if response is None:
            return None
        if response.status_code == 200:
            return response.content
        stored = self.raw_file_bytes(raw_path) if raw_path else None
        if stored is not None:
            return stored
        response = self.send("GET", route, missing=(404,))  # not there after all: the server's own error
        return None if response is None else response.content

    def open_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> httpx.Response | None:
        """A streamed response (``iter_bytes``) for one child file, or None when missing; the caller closes it."""
        route = self._data(namespace, cache_id, data_type, data_key, file_id)
        return self.send("GET", route, missing=(404,), stream=True)

    @contextmanager
    def stream_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> Iterator[httpx.Response | None]:
        """Context manager yielding a streamed response (``iter_bytes``) for one child file, or None."""
        response = self.open_data(cache_id, data_type, data_key, file_id, namespace=namespace)
        try:
            yield response
        finally:
            if response is not None:
                response.close()

    def data_exists(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> bool:
        """True when the child file exists with that type (the server answers 200 either way)."""
        return bool(
            self._field(
                "GET", self._data(namespace, cache_id, "exists", data_type, data_key, file_id), "exists", _EXISTS
            )
        )

    def list_data(
        self, cache_id: str, data_key: str = "", *, recursive: bool = True, namespace: str | None = None
    ) -> list[DataFile] | None:
        """Child files under ``data_key``; None when the entry is unknown. Memory/s3 storage modes only."""
        params = {"recursive": "true" if recursive else "false"}
        route = self._data(namespace, cache_id, "list", data_key)
        data = self._object("GET", route, _DATA_FILES, params=params, missing=(404,))
        if data is None:
            return None
        return [
            DataFile(
                str(f.get("data_key") or ""),
                f["data_file_id"],
                str(f.get("data_type") or ""),
                int(f["file_size"]) if is_int(f.get("file_size")) else 0,
                str(f.get("file_path") or ""),
            )
            for f in data["files"]
        ]

    def delete_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> bool:
        """Delete one child file; True if it existed."""
        route = self._data(namespace, cache_id, "delete", data_type, data_key, file_id)
        return self.send("DELETE", route, missing=(404,)) is not None

    def delete_data_types(
        self,
        cache_id: str,
        data_types: Iterable[DataType],
        data_key: str,
        file_id: str,
        *,
        namespace: str | None = None,
    ) -> list[bool]:
        """Delete one child file in several data types at once (concurrent requests); which of them existed."""

        def deleter(data_type: DataType) -> Callable[[], bool]:
            return lambda: self.delete_data(cache_id, data_type, data_key, file_id, namespace=namespace)

        return self.concurrently([deleter(t) for t in data_types])

    def delete_all_data(self, cache_id: str, data_key: str = "", *, namespace: str | None = None) -> int:
        """Delete every child file (under ``data_key``); returns how many. Memory/s3 storage modes only."""
        return int(
            self._field("DELETE", self._data(namespace, cache_id, "delete", "all", data_key), "deleted_count", _DELETED)
            or 0
        )

    # ---- namespaces and raw storage (admin routes) ----------------------------------------------------------
    def namespaces(self) -> list[str]:
        """Every namespace of the server (memory/s3 storage modes)."""
        return sorted(self._list("GET", "/namespaces/list"))

    def cache_ids(self, *, namespace: str | None = None) -> list[str]:
        """Every cache_id of a namespace."""
        return self._list("GET", f"/{self._ns(namespace)}/file-ids")

    def cache_hashes(self, *, namespace: str | None = None) -> list[str]:
        """Every cache_hash of a namespace."""
        return self._list("GET", f"/{self._ns(namespace)}/file-hashes")

    def raw_folders(self, path: str, *, recursive: bool = True) -> list[str]:
        """Folders under a raw storage path, relative to it (admin route; memory/s3 storage modes)."""
        return self._list("GET", f"/admin/storage/folders/{_raw(path)}", params={"recursive": str(recursive).lower()})

    def raw_files(self, path: str) -> list[str]:
        """Every file (full raw path) under a raw storage path (admin route; memory/s3 storage modes)."""
        return list(self._field("GET", f"/admin/storage/files/all/{_raw(path)}", "files", _FILES) or [])

    def raw_file_bytes(self, path: str) -> bytes | None:
        """The stored bytes of one raw file (JSON is stored pretty-printed); None when missing."""
        if not self._field("GET", f"/admin/storage/file/exists/{_raw(path)}", "exists", _EXISTS):
            return None
        response = self.send("GET", f"/admin/storage/file/bytes/{_raw(path)}")
        return None if response is None else response.content


def _raw(path: str) -> str:
    if not isinstance(path, str) or ".." in path.split("/") or path.startswith("/"):
        raise StorageNameError(f"invalid raw storage path {path!r}: relative, without '..' segments")
    return path
