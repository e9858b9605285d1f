"""CacheServiceClient: our own typed httpx client for the MGraph-AI Cache Service.

One seam (:meth:`CacheServiceClient.send`) maps httpx exceptions and HTTP statuses onto our error tree,
retries idempotent calls (the server drops keep-alive connections after any 500) and fails over between
several base URLs (replicas sharing one S3 bucket). Everything else is a thin, typed route wrapper plus the
"direct access" helpers of DESIGN.md §4: cross-session loads, hash queries, content de-duplication, bulk
multi-target queries and raw-structure inspection.

Example::

    client = CacheServiceClient("http://127.0.0.1:8801", api_key="...", namespace="perf-results")
    client.load("baseline", "item_001", "results/metrics.json")
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx

from .cache_keys import join_key, key_hash, target_cache_key
from .codec import Kind
from .errors import (
    StorageAuthError,
    StorageBackendError,
    StorageConfigError,
    StorageConnectionError,
    StorageNameError,
    StorageNotSupported,
)
from .names import check_id

__all__ = [
    "DEFAULT_API_KEY_HEADER",
    "DEFAULT_NAMESPACE",
    "ENTRY_FILE_ID",
    "CacheServiceClient",
    "DataFile",
]

DEFAULT_NAMESPACE = "perf-results"
DEFAULT_API_KEY_HEADER = "x-api-key"
#: Every entry is created with this fixed file_id, so all cache_ids ever created for one session/target
#: (the server mints a new one per create, and races between processes create several) share ONE child
#: folder ``.../targets/{t}/perf-entry/data``: concurrent first writers lose nothing. Same value as the
#: original implementation, so its data stays readable.
ENTRY_FILE_ID = "perf-entry"
INPROCESS_URL = "http://cache-service.inprocess"

_T = TypeVar("_T")
DataType = Literal["json", "string", "binary"]
#: our kinds -> the server's child data types (and back)
DATA_TYPE: dict[Kind, DataType] = {"json": "json", "text": "string", "bytes": "binary"}
KIND_OF: dict[str, Kind] = {"json": "json", "string": "text", "binary": "bytes"}

_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HASH = re.compile(r"[a-f0-9]{10,96}")
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_CONTENT_TYPES = {
    "json": "application/json",
    "string": "text/plain; charset=utf-8",
    "binary": "application/octet-stream",
}


def _path(*names: str) -> str:
    return "/".join(n for n in names if n)


@dataclass(frozen=True)
class DataFile:
    """One child data file as listed by the server."""

    data_key: str
    file_id: str
    data_type: str
    size: int
    path: str

    @property
    def key(self) -> str | None:
        """Our key for this file (None when its name is not one we could have written)."""
        return join_key(self.data_key, self.file_id)

    @property
    def kind(self) -> Kind | None:
        """Our kind (json/text/bytes) for this file's data type."""
        return KIND_OF.get(self.data_type)


@dataclass
class TargetState:
    """What a client knows about one session/target entry; shared by every storage of that target on the client.

    ``kinds`` is a hint map (key -> kind) fed by our writes and by what reads and listings observed. Every
    change goes through :meth:`wrote` or :meth:`observed` under ``lock``: an observation that started before
    one of our writes completed never overwrites what that write recorded (a generation stamp per key).
    """

    cache_key: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    cache_id: str | None = None
    #: key -> kind of every key whose kind we know (our own writes, reads and listings)
    kinds: dict[str, Kind] = field(default_factory=dict)
    #: True once ``kinds`` was filled from a full listing (or the entry is one this client created)
    listed: bool = False
    #: True when this client created the entry: a key missing from ``kinds`` is taken to be absent on saves
    created: bool = False
    #: bumped by every write or delete we record; ``stamps[key]`` is the generation of the key's last one
    generation: int = 0
    stamps: dict[str, int] = field(default_factory=dict)
    #: the generation of the last :meth:`reset`: observations started before it saw another cache_id
    epoch: int = 0

    def begin(self) -> int:
        """The generation an observation (read, probe, listing) starts at; pass it to :meth:`observed`."""
        with self.lock:
            return self.generation

    def wrote(self, key: str, kind: Kind | None) -> None:
        """Record our own completed write (``kind``) or delete (None) of ``key``."""
        with self.lock:
            self.generation += 1
            self.stamps[key] = self.generation
            if kind is None:
                self.kinds.pop(key, None)
            else:
                self.kinds[key] = kind

    def observed(self, key: str, kind: Kind | None, since: int) -> None:
        """Record what an observation started at ``since`` saw, unless we wrote ``key`` after it started."""
        with self.lock:
            if since < self.epoch or self.stamps.get(key, 0) > since:
                return
            if kind is None:
                self.kinds.pop(key, None)
            else:
                self.kinds[key] = kind

    def observed_all(self, found: dict[str, Kind], since: int, cache_id: str) -> None:
        """Replace the map by a full listing started at ``since`` (keys we wrote meanwhile keep their record)."""
        with self.lock:
            if since < self.epoch or self.cache_id != cache_id:
                return  # the entry was forgotten or replaced while we listed: the listing is of a stale id
            kept = {k: v for k, v in self.kinds.items() if self.stamps.get(k, 0) > since}
            fresh = {k: v for k, v in found.items() if self.stamps.get(k, 0) <= since}
            self.kinds = {**fresh, **kept}
            self.listed = True

    def reset(self, cache_id: str | None, *, created: bool) -> None:
        """Start over for a (new) cache_id: nothing known; a fresh entry holds no keys."""
        with self.lock:
            self.cache_id = cache_id
            self.kinds.clear()
            self.stamps.clear()
            self.generation += 1
            self.epoch = self.generation
            self.created = self.listed = created


class _ApiKeyAuth(httpx.Auth):
    """Adds the API key header per request, so the key never sits in the client's default headers."""

    def __init__(self, header: str, key: str) -> None:
        self._header, self._key = header, key

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers[self._header] = self._key
        yield request

    def __repr__(self) -> str:
        return f"_ApiKeyAuth(header={self._header!r}, key=***)"


class CacheServiceClient:
    """Typed, thread-safe httpx client for the MGraph-AI Cache Service (keep-alive, timeouts, retries, failover).

    ``url`` is one base URL, a list, or a comma-separated string of replicas. ``api_key`` (default: env
    ``PERF_STORAGE_API_KEY``) goes in header ``api_key_header``; it never appears in a repr or an error.
    ``transport`` replaces the network (e.g. ``httpx.WSGITransport`` over an in-process app).
    """

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        api_key: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        timeout: float = 30.0,
        retries: int = 3,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
    ) -> None:
        if url is None:  # an explicit transport (in-process app, fault injection) needs no real URL
            url = INPROCESS_URL if transport is not None else os.environ.get("PERF_STORAGE_URL")
        if not url:
            raise StorageConfigError(
                "no cache service URL: pass url='http://127.0.0.1:8801' (or several, comma-separated) or set "
                "PERF_STORAGE_URL; start a local server with `perf-storage serve`"
            )
        urls = _check_urls(url, in_process_ok=transport is not None)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise StorageConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise StorageConfigError(f"retries must be an int >= 0, not {retries!r}")
        self.urls: tuple[str, ...] = tuple(urls)
        self.namespace = check_namespace(namespace)
        self.timeout = float(timeout)
        self.retries = retries
        self.api_key_header = api_key_header
        api_key = api_key if api_key is not None else os.environ.get("PERF_STORAGE_API_KEY")
        self._has_key = bool(api_key)
        self._current = 0
        self._lock = threading.Lock()
        self._targets: dict[tuple[str, str], TargetState] = {}
        self._pool: ThreadPoolExecutor | None = None  # for the few requests one operation sends at once
        self._max_connections = max_connections
        self._storage_mode: str | None = None
        # WSGI gives the app no body without a Content-Length, so chunked uploads are joined in-process
        # (where nothing crosses a network and the WSGI transport buffers the body anyway).
        self._chunked_uploads = not isinstance(transport, httpx.WSGITransport)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            transport=transport,
            auth=_ApiKeyAuth(api_key_header, api_key) if api_key else None,
            follow_redirects=False,
        )

    # ---- identity ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL currently in use (the first that answered)."""
        return self.urls[self._current]

    def __repr__(self) -> str:
        key = "set" if self._has_key else "none"
        return f"CacheServiceClient(url={','.join(self.urls)!r}, namespace={self.namespace!r}, api_key={key})"

    def close(self) -> None:
        """Close the connection pool (and the helper threads of concurrent requests)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.http.close()

    def concurrently(self, calls: Sequence[Callable[[], _T]]) -> list[_T]:
        """Run a few independent requests at once (one round trip instead of several); results in order.

        The last call runs in the calling thread; the helper pool is small and its tasks never submit more,
        so bulk callers that already run on threads cannot deadlock it.
        """
        if len(calls) <= 1:
            return [call() for call in calls]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=max(1, min(8, self._max_connections // 2)), thread_name_prefix="perf-storage-http"
                )
            pool = self._pool
        futures = [pool.submit(call) for call in calls[:-1]]
        last = calls[-1]()
        return [*(f.result() for f in futures), last]

    def __enter__(self) -> CacheServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one seam: send, retry, fail over, translate -----------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        content_type: str | None = None,
        ok: tuple[int, ...] = (200,),
        missing: tuple[int, ...] = (),
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response | None:
        """Send one request; None for a ``missing`` status, the response for an ``ok`` one, else a StorageError.

        Connection resets, protocol errors and 5xx are retried with backoff (``retry`` calls must be
        idempotent; streamed bodies cannot be replayed); refused connections and timeouts move on to the
        next base URL; with one URL a single timeout is retried once. Retrying stays within about
        ``timeout`` seconds (a hung server is reported after at most twice the timeout).
        """
        headers = {"content-type": content_type} if content_type else None
        deadline = time.monotonic() + self.timeout
        retries = self.retries if retry else 0
        failure: Exception | None = None
        tries = refused = 0  # requests sent; connection attempts refused (those move to the next replica)
        timed_out = False  # one read timeout is retried on the same replica
        while True:
            tries += 1
            index = self._current
            base = self.urls[index]
            try:
                request = self.http.build_request(method, base + path, params=params, content=content, headers=headers)
                response = self.http.send(request, stream=stream)
            except httpx.PoolTimeout as exc:
                # Our own pool is exhausted (responses left open, or more threads than connections): another
                # replica would not help and the server is not to blame, so neither fail over nor retry.
                raise StorageBackendError(
                    f"no free connection in this client's pool of {self._max_connections} within {self.timeout:g} s "
                    f"for {method} {path}: too many concurrent requests or streamed responses left open (close "
                    "iter_bytes() iterators, or pass max_connections=...)"
                ) from exc
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure, refused = exc, refused + 1
                self._fail_over(index)
                if refused >= len(self.urls) * (1 + retries) or time.monotonic() > deadline:
                    break
                if refused % len(self.urls) == 0:  # every replica tried once: pause before another round
                    self._backoff(refused // len(self.urls) - 1, deadline)
                continue
            except httpx.TimeoutException as exc:
                if retry and refused + 1 < len(self.urls):
                    failure, refused = exc, refused + 1
                    self._fail_over(index)
                    continue
                if retry and not timed_out:
                    # One stalled request (a GC pause, a dropped packet) should not fail an idempotent call;
                    # a second timeout means the server is hung: report it (after at most 2 x timeout).
                    timed_out, failure = True, exc
                    continue
                raise StorageConnectionError(
                    f"the cache service at {base} did not answer {method} {path} within {self.timeout:g} s (timeout)"
                ) from exc
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                # uvicorn closes a keep-alive connection after any 500: the next request on it is reset.
                failure = exc
                if tries > retries or time.monotonic() > deadline:
                    break
                self._backoff(tries - 1, deadline, first_free=True)
                continue
            except httpx.HTTPError as exc:
                raise StorageBackendError(f"{method} {base}{path} failed: {type(exc).__name__}: {exc}") from exc
            status = response.status_code
            if status in ok:
                return response
            if status in missing:
                response.close()
                return None
            if stream:
                response.read()
            if status >= 500 and _not_implemented(response):
                raise StorageNotSupported(
                    f"{method} {path} is not supported by this server's storage mode ({self._mode_for_message()}); "
                    "only the memory and s3 modes can list or bulk-delete - run the service with "
                    "CACHE__SERVICE__STORAGE_MODE=memory or s3"
                )
            if status in _RETRY_STATUSES and tries <= retries and time.monotonic() < deadline:
                self._backoff(tries - 1, deadline)
                continue
            self._raise_for_status(method, base, path, response)
        if isinstance(failure, (httpx.ConnectError, httpx.ConnectTimeout)):
            where = ", ".join(self.urls)
            raise StorageConnectionError(
                f"cannot connect to the cache service at {where} ({type(failure).__name__}: {failure}); "
                "is it running? start one with `perf-storage serve`"
            ) from failure
        raise StorageConnectionError(
            f"the connection to the cache service at {self.url} kept failing for {method} {path} "
            f"({type(failure).__name__}: {failure})"
        ) from failure

    def _fail_over(self, index: int) -> None:
        with self._lock:
            if self._current == index and len(self.urls) > 1:
                self._current = (index + 1) % len(self.urls)

    @staticmethod
    def _backoff(attempt: int, deadline: float, first_free: bool = False) -> None:
        if first_free and attempt == 0:
            return  # a reset after a 500 needs no pause: the retry opens a fresh connection
        pause = min(0.05 * (2**attempt), 1.0) * (0.5 + random.random() / 2)
        time.sleep(max(0.0, min(pause, deadline - time.monotonic())))

    def _raise_for_status(self, method: str, base: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        message = _server_message(response)
        if status in (401, 403):
            raise StorageAuthError(
                f"the cache service at {base} refused {method} {path} ({status}): the API key is missing or wrong "
                f"(header {self.api_key_header!r}; pass api_key=... or set PERF_STORAGE_API_KEY). Server said: "
                f"{message}"
            )
        raise StorageBackendError(f"the cache service at {base} answered {status} to {method} {path}: {message}")

    def _mode_for_message(self) -> str:
        try:
            return f"storage mode {self.storage_mode()!r}"
        except Exception:  # noqa: BLE001 - only decorates a message
            return "storage mode unknown"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        return None if response is None else response.json()

    # ---- server -------------------------------------------------------------------------------------------
    def health(self) -> bool:
        """True when ``GET /info/health`` answers ``{"status": "ok"}``."""
        return (self._json("GET", "/info/health") or {}).get("status") == "ok"

    def info(self) -> dict[str, Any]:
        """Server name, version, status and environment (``/info/status``)."""
        return dict(self._json("GET", "/info/status"))

    def versions(self) -> dict[str, Any]:
        """Versions of the service and its libraries (``/info/versions``)."""
        return dict(self._json("GET", "/info/versions"))

    def storage_info(self) -> dict[str, Any]:
        """The server's storage mode and settings (``/server/storage/info``)."""
        return dict(self._json("GET", "/server/storage/info"))

    def storage_mode(self) -> str:
        """``memory``, ``s3``, ``local_disk``, ... (asked once, then remembered)."""
        if self._storage_mode is None:
            self._storage_mode = str(self.storage_info().get("storage_mode"))
        return self._storage_mode

    def can_list(self) -> bool:
        """True when the server's storage mode implements listing and delete-all (memory, s3)."""
        return self.storage_mode() in ("memory", "s3")

    # ---- entries --------------------------------------------------------------------------------------------
    def _ns(self, namespace: str | None) -> str:
        return self.namespace if namespace is None else check_namespace(namespace)

    def cache_id_for_hash(self, cache_hash: str, *, namespace: str | None = None) -> str | None:
        """The latest cache_id stored under ``cache_hash`` (None when unknown); one request."""
        data = self._json(
            "GET", f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}/cache-id", missing=(404,)
        )
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
        data = self._json(
            "POST",
            f"/{self._ns(namespace)}/key_based/store/json/{cache_key}",
            params={"json_field_path": "cache_key", "file_id": file_id},
            content=json.dumps(payload).encode(),
            content_type="application/json",
        )
        return str(data["cache_id"])

    def entry_versions(self, cache_hash: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """Every cache_id recorded under ``cache_hash`` (``refs-hash``: cache_ids, latest_id, total_versions)."""
        return self._json(
            "GET", f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}/refs-hash", missing=(404,)
        )

    def entry_refs(self, cache_id: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """Raw paths of an entry (``retrieve/{id}/refs``); None when unknown."""
        return self._json("GET", f"/{self._ns(namespace)}/retrieve/{cache_id}/refs", missing=(404,))

    def entry(self, cache_id: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The entry wrapper: ``{"data", "metadata", "data_type"}``; None when unknown."""
        return self._json("GET", f"/{self._ns(namespace)}/retrieve/{cache_id}", missing=(404,))

    def entry_by_hash(self, cache_hash: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The latest entry stored under ``cache_hash`` (data + metadata) in one request; None when unknown."""
        return self._json("GET", f"/{self._ns(namespace)}/retrieve/hash/{check_hash(cache_hash)}", missing=(404,))

    def hash_exists(self, cache_hash: str, *, namespace: str | None = None) -> bool:
        """True when any entry has ``cache_hash``; one request."""
        data = self._json("GET", f"/{self._ns(namespace)}/exists/hash/{check_hash(cache_hash)}")
        return bool(data.get("exists"))

    def delete_entry(self, cache_id: str, *, namespace: str | None = None) -> bool:
        """Delete an entry (not its child data: delete that first); True if it existed."""
        data = self._json("DELETE", f"/{self._ns(namespace)}/delete/{cache_id}")
        return data.get("status") == "success"

    # ---- child data -----------------------------------------------------------------------------------------
    def _data(self, namespace: str | None, cache_id: str) -> str:
        return f"/{self._ns(namespace)}/cache/{cache_id}/data"

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

        404 means no entry (both actions) or, for ``update``, no file of that data type under that name.
        """
        if not self._chunked_uploads and not isinstance(content, (bytes, bytearray)):
            content = b"".join(content)
        replayable = isinstance(content, (bytes, bytearray))
        response = self.send(
            "POST",
            f"{self._data(namespace, cache_id)}/{action}/{data_type}/{_path(data_key, file_id)}",
            content=content,
            content_type=content_type or _CONTENT_TYPES[data_type],
            missing=(404,),
            retry=replayable,
        )
        return response is not None

    def retrieve_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> bytes | None:
        """The raw body of one child file, or None when missing."""
        response = self.send(
            "GET", f"{self._data(namespace, cache_id)}/{data_type}/{_path(data_key, file_id)}", missing=(404,)
        )
        return None if response is None else response.content

    @contextmanager
    def stream_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> Iterator[httpx.Response | None]:
        """Context manager yielding a streamed response (``iter_bytes``) for one child file, or None."""
        response = self.send(
            "GET",
            f"{self._data(namespace, cache_id)}/{data_type}/{_path(data_key, file_id)}",
            missing=(404,),
            stream=True,
        )
        try:
            yield response
        finally:
            if response is not None:
                response.close()

    def data_exists(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> bool:
        """True when the child file exists with that type (the server answers 200 either way)."""
        data = self._json("GET", f"{self._data(namespace, cache_id)}/exists/{data_type}/{_path(data_key, file_id)}")
        return bool(data.get("exists"))

    def list_data(
        self, cache_id: str, data_key: str = "", *, recursive: bool = True, namespace: str | None = None
    ) -> list[DataFile] | None:
        """Child files under ``data_key``; None when the entry is unknown. Memory/s3 storage modes only."""
        route = f"{self._data(namespace, cache_id)}/list" + (f"/{data_key}" if data_key else "")
        data = self._json("GET", route, params={"recursive": "true" if recursive else "false"}, missing=(404,))
        if data is None:
            return None
        return [
            DataFile(
                f.get("data_key") or "",
                f["data_file_id"],
                f["data_type"],
                int(f.get("file_size") or 0),
                f.get("file_path", ""),
            )
            for f in data.get("files", [])
        ]

    def delete_data(
        self, cache_id: str, data_type: DataType, data_key: str, file_id: str, *, namespace: str | None = None
    ) -> bool:
        """Delete one child file; True if it existed."""
        response = self.send(
            "DELETE", f"{self._data(namespace, cache_id)}/delete/{data_type}/{_path(data_key, file_id)}", missing=(404,)
        )
        return response is not None

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
        return self.concurrently(
            [lambda t=t: self.delete_data(cache_id, t, data_key, file_id, namespace=namespace) for t in data_types]
        )

    def delete_all_data(self, cache_id: str, data_key: str = "", *, namespace: str | None = None) -> int:
        """Delete every child file (under ``data_key``); returns how many. Memory/s3 storage modes only."""
        route = f"{self._data(namespace, cache_id)}/delete/all" + (f"/{data_key}" if data_key else "")
        data = self._json("DELETE", route)
        return int(data.get("deleted_count") or 0)

    # ---- namespaces and raw storage (admin routes) ----------------------------------------------------------
    def namespaces(self) -> list[str]:
        """Every namespace of the server (memory/s3 storage modes)."""
        return sorted(self._json("GET", "/namespaces/list"))

    def cache_ids(self, *, namespace: str | None = None) -> list[str]:
        """Every cache_id of a namespace."""
        return list(self._json("GET", f"/{self._ns(namespace)}/file-ids"))

    def cache_hashes(self, *, namespace: str | None = None) -> list[str]:
        """Every cache_hash of a namespace."""
        return list(self._json("GET", f"/{self._ns(namespace)}/file-hashes"))

    def raw_folders(self, path: str, *, recursive: bool = True) -> list[str]:
        """Folders under a raw storage path, relative to it (admin route; memory/s3 storage modes)."""
        return list(
            self._json("GET", f"/admin/storage/folders/{_raw(path)}", params={"recursive": str(recursive).lower()})
        )

    def raw_files(self, path: str) -> list[str]:
        """Every file (full raw path) under a raw storage path (admin route; memory/s3 storage modes)."""
        return list((self._json("GET", f"/admin/storage/files/all/{_raw(path)}") or {}).get("files", []))

    def raw_file_bytes(self, path: str) -> bytes | None:
        """The stored bytes of one raw file (JSON is stored pretty-printed); None when missing."""
        if not (self._json("GET", f"/admin/storage/file/exists/{_raw(path)}") or {}).get("exists"):
            return None
        response = self.send("GET", f"/admin/storage/file/bytes/{_raw(path)}")
        return None if response is None else response.content

    # ---- session/target entries (shared by every storage on this client) ---------------------------------
    def target_state(self, session_id: str, target_id: str, namespace: str | None = None) -> TargetState:
        """The shared, memoised state of one session/target entry."""
        ns = self._ns(namespace)
        cache_key = target_cache_key(session_id, target_id)
        with self._lock:
            state = self._targets.get((ns, cache_key))
            if state is None:
                state = self._targets[(ns, cache_key)] = TargetState(cache_key)
            return state

    def resolve(self, state: TargetState, *, create: bool, namespace: str | None = None) -> str | None:
        """The cache_id of a target entry, memoised; created (fixed file_id) only when ``create``.

        Reads never create entries. Creation is serialised per target in this process; between processes
        duplicates are harmless because every cache_id of the target shares the same child folder.
        """
        cache_id = state.cache_id
        if cache_id is not None:
            return cache_id
        with state.lock:
            if state.cache_id is not None:
                return state.cache_id
            found = self.cache_id_for_key(state.cache_key, namespace=namespace)
            if found is None and create:
                session, target = state.cache_key.split("/")[1::2]
                found = self.create_entry(
                    state.cache_key,
                    {"session_id": session, "target_id": target, "created_by": "perf_storage_nb"},
                    namespace=namespace,
                )
                state.reset(found, created=True)  # a fresh entry holds no keys (see the backend's notes on races)
            elif found is not None:
                state.reset(found, created=False)
            return found

    def forget(self, state: TargetState, stale_id: str | None = None) -> None:
        """Drop a memoised cache_id (the entry was deleted, possibly by someone else)."""
        with state.lock:
            if stale_id is None or state.cache_id == stale_id:
                state.reset(None, created=False)

    # ---- direct access (DESIGN.md §4) ---------------------------------------------------------------------
    def load(
        self, session_id: str, target_id: str, key: str, default: Any = None, *, namespace: str | None = None
    ) -> Any:
        """Load a key of any session/target (JSON value, str or bytes) without building a storage."""
        from .backends.cache_service import CacheServiceStorage

        return CacheServiceStorage(session_id, target_id, client=self, namespace=self._ns(namespace)).load_any(
            key, default
        )

    def bulk_load(
        self, items: Iterable[tuple[str, str, str]], *, namespace: str | None = None, workers: int = 8
    ) -> dict[tuple[str, str, str], Any]:
        """Load many ``(session, target, key)`` triples concurrently; missing ones map to None."""
        triples = list(items)
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(triples) or 1))) as pool:
            values = list(pool.map(lambda t: self.load(*t, namespace=namespace), triples))
        return dict(zip(triples, values, strict=True))

    def bulk_keys(
        self,
        session_id: str,
        target_ids: Iterable[str],
        prefix: str = "",
        *,
        namespace: str | None = None,
        workers: int = 8,
    ) -> dict[str, list[str]]:
        """``list_keys(prefix)`` of many targets of one session, concurrently."""
        from .backends.cache_service import CacheServiceStorage

        targets = list(target_ids)

        def keys(target: str) -> list[str]:
            return CacheServiceStorage(session_id, target, client=self, namespace=self._ns(namespace)).list_keys(prefix)

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
            return dict(zip(targets, pool.map(keys, targets), strict=True))

    def sessions(self, *, namespace: str | None = None) -> list[str]:
        """Sessions of a namespace that hold data (one admin listing)."""
        return sorted({s for s, _t in self._data_targets(f"{self._ns(namespace)}/data/key-based/sessions")})

    def targets(self, session_id: str, *, namespace: str | None = None) -> list[str]:
        """Targets of ``session_id`` that hold data (one admin listing)."""
        session = check_id(session_id, "session_id")
        root = f"{self._ns(namespace)}/data/key-based/sessions/{session}"
        return sorted(t for s, t in self._data_targets(root) if s == session)

    def _data_targets(self, root: str) -> set[tuple[str, str]]:
        # A target holds data when a file exists under '<s>/targets/<t>/perf-entry/data/'. The file listing
        # is used, not the folder listing: on the server the recursive folder walk costs ~100x more
        # (2.2 s against 0.03 s for 60 targets x 50 keys, measured in-process).
        prefix = root.split("/sessions", 1)[0] + "/sessions/"
        found: set[tuple[str, str]] = set()
        for path in self.raw_files(root):
            parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
            in_entry = len(parts) > 5 and parts[1] == "targets" and parts[3:5] == [ENTRY_FILE_ID, "data"]
            if in_entry and _is_id(parts[0]) and _is_id(parts[2]):
                found.add((parts[0], parts[2]))
        return found

    def content_seen(self, content: Any, *, namespace: str | None = None) -> bool:
        """ "Was this content already processed?": True after :meth:`mark_processed` of equal content; one request."""
        return self.hash_exists(key_hash(_content_digest(content)), namespace=namespace)

    def mark_processed(self, content: Any, info: dict[str, Any] | None = None, *, namespace: str | None = None) -> str:
        """Record that ``content`` (bytes, str or JSON) was processed, with optional ``info``; returns the cache_id."""
        digest = _content_digest(content)
        body = {"content_sha256": digest, "info": info or {}}
        data = self._json(
            "POST",
            f"/{self._ns(namespace)}/key_based/store/json/processed/{digest[:2]}/{digest}",
            params={"json_field_path": "content_sha256"},
            content=json.dumps(body).encode(),
            content_type="application/json",
        )
        return str(data["cache_id"])

    def processed_info(self, content: Any, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The ``info`` recorded by :meth:`mark_processed` for equal content, or None; one request."""
        entry = self.entry_by_hash(key_hash(_content_digest(content)), namespace=namespace)
        return None if entry is None else dict((entry.get("data") or {}).get("info") or {})

    def inspect_target(self, session_id: str, target_id: str, *, namespace: str | None = None) -> dict[str, Any]:
        """Raw structure of one session/target for debugging: hash, versions, refs and raw file paths."""
        ns = self._ns(namespace)
        cache_key = target_cache_key(session_id, target_id)
        cache_hash = key_hash(cache_key)
        versions = self.entry_versions(cache_hash, namespace=ns)
        cache_id = None if versions is None else versions.get("latest_id")
        out: dict[str, Any] = {
            "namespace": ns,
            "cache_key": cache_key,
            "cache_hash": cache_hash,
            "cache_id": cache_id,
            "versions": versions,
            "refs": self.entry_refs(cache_id, namespace=ns) if cache_id else None,
        }
        try:
            out["raw_files"] = self.raw_files(f"{ns}/data/key-based/{cache_key}")
        except StorageNotSupported as exc:
            out["raw_files"] = f"not available: {exc}"
        return out


# ---- helpers -------------------------------------------------------------------------------------------------
_URL_FORM = "http://host:port or https://host[:port][/path] (several: a list or comma-separated)"


def _check_urls(url: str | Sequence[str], *, in_process_ok: bool) -> list[str]:
    """Validate base URLs up front (scheme, host, port; no credentials); returns them without trailing '/'."""
    items = url.split(",") if isinstance(url, str) else list(url) if isinstance(url, (list, tuple)) else [url]
    urls: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise StorageConfigError(f"cache service URL must be a str like {_URL_FORM}, not {type(item).__name__}")
        u = item.strip().rstrip("/")
        if not u:
            continue
        try:
            parsed = httpx.URL(u)
            host, _port = parsed.host, parsed.port  # the port is parsed lazily: touch it to validate it
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            # httpx quotes the bad part, which may hold a password when the URL has credentials
            detail = "" if "@" in u else f" {u!r} ({exc})"
            raise StorageConfigError(f"invalid cache service URL{detail}; expected {_URL_FORM}") from None
        if parsed.userinfo:
            raise StorageConfigError(
                f"cache service URL {_redact(parsed)!r} contains credentials; they would show in errors, reprs and "
                "to_config(): pass the key as api_key=... (or env PERF_STORAGE_API_KEY) instead"
            )
        if parsed.scheme not in ("http", "https") or not host:
            raise StorageConfigError(f"invalid cache service URL {u!r}: expected {_URL_FORM}")
        if host == INPROCESS_URL.split("://", 1)[1] and not in_process_ok:
            raise StorageConfigError(
                f"{u!r} names an in-process cache service, which cannot be rebuilt from config or reached over the "
                "network; use perf_storage_nb.server.client_cache_service() (or in_process_client()) instead"
            )
        urls.append(u)
    if not urls:
        raise StorageConfigError(f"no cache service URL given; expected {_URL_FORM}")
    return urls


def _redact(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://***@{url.host}{port}{url.path.rstrip('/')}"


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if the server keeps it as-is (``[A-Za-z0-9_-]``, 1-128 chars), else raise."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise StorageNameError(
            f"invalid cache service namespace {namespace!r}: allowed: 1-128 letters, digits, '_' and '-' "
            "(the server silently rewrites anything else)"
        )
    return namespace


def check_hash(cache_hash: object) -> str:
    """Return ``cache_hash`` if it is 10-96 lowercase hex digits, else raise StorageNameError."""
    if not isinstance(cache_hash, str) or not _HASH.fullmatch(cache_hash):
        raise StorageNameError(f"invalid cache_hash {cache_hash!r}: allowed: 10-96 lowercase hex digits")
    return cache_hash


def _is_id(value: str) -> bool:
    try:
        check_id(value)
    except StorageNameError:
        return False
    return True


def _raw(path: str) -> str:
    if not isinstance(path, str) or ".." in path.split("/") or path.startswith("/"):
        raise StorageNameError(f"invalid raw storage path {path!r}: relative, without '..' segments")
    return path


def _content_digest(content: Any) -> str:
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    elif isinstance(content, str):
        data = content.encode("utf-8")
    else:
        data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _server_message(response: httpx.Response) -> str:
    """A short message from an error body (never the server's stack trace)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else "(empty body)"
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])[:300]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return "; ".join(str(d.get("msg", d)) for d in detail[:3])[:300]
        if isinstance(detail, dict):
            return str(detail.get("message", detail))[:300]
        error = body.get("error")
        if error:
            return f"{detail}: {error}"[:300]
        if detail:
            return str(detail)[:300]
    return str(body)[:200]


def _not_implemented(response: httpx.Response) -> bool:
    # local_disk/sqlite/zip raise NotImplementedError (or lack the method) for listing: not a transient error.
    text = response.text
    return "NotImplementedError" in text or "has no attribute 'folder__" in text
