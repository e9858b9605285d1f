"""CacheServiceStorage: the production backend on the real MGraph-AI Cache Service (over httpx).

A thin adapter: the BaseStorage primitives map onto :class:`~.entry.TargetEntry`, where the mapping to the
server and the one-value-per-key rules are explained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, ClassVar, Self

from ...base import BaseStorage, KeyInfo
from ...errors import StorageConfigTypeError
from ...kinds import Kind
from .body import decode_json, json_payload
from .client import CacheServiceClient
from .names import check_namespace
from .routes import DEFAULT_NAMESPACE
from .state import TargetState
from .wire import DEFAULT_API_KEY_HEADER

__all__ = ["CacheServiceStorage"]


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
        _check_types(namespace, client, owns_client)
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
        self._entry = client.target_entry(session_id, target_id, self._namespace)
        self._state: TargetState = self._entry.state

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
        return self._entry.cache_id(create=False)

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

    def check(self) -> None:
        """Verify the service answers, is the cache service and takes the API key (one request; see the client's)."""
        self._client.check()

    def close(self) -> None:
        """Close the connection pool if this storage created it (siblings share their creator's pool)."""
        if self._owns_client:
            self._client.close()

    # ---- primitives -----------------------------------------------------------------------------------------
    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        self._entry.write(key, kind, payload)

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        return self._entry.read(key, hint)

    def _kind_hint(self, key: str) -> Kind:
        """The kind this client last saw ``key`` hold (json when unknown): load_any then reads once."""
        return self._entry.kind_hint(key)

    def _decode_json(self, payload: bytes) -> Any:
        return decode_json(payload)

    def _exists(self, key: str) -> bool:
        return self._entry.exists(key)

    def _remove(self, key: str) -> bool:
        return self._entry.remove(key)

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        return self._entry.keys(prefix)

    def _stat(self, key: str) -> KeyInfo | None:
        got = self._read(key, self._kind_hint(key))
        if got is None:
            return None
        kind, payload = got
        # Reading never validates as a save would: a document another client stored (deeper than we would
        # save, say) is sized like on every backend, and one that cannot be read says so.
        try:
            value_payload = json_payload(payload) if kind == "json" else payload
        except ValueError as exc:
            raise self._unreadable(key, kind, exc) from exc
        return replace(self._key_info(key, kind, value_payload), stored_size=len(payload))

    def _list_sessions(self) -> Iterable[str]:
        return self._client.sessions(namespace=self._namespace)

    def _list_targets(self, session: str) -> Iterable[str]:
        return self._client.targets(session, namespace=self._namespace)

    def _sibling(self, session_id: str, target_id: str) -> Self:
        return type(self)(session_id, target_id, namespace=self._namespace, client=self._client)

    # ---- streaming ------------------------------------------------------------------------------------------
    def _write_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        return self._entry.write_stream(key, chunks)

    def _read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        return self._entry.read_stream(key, chunk_size)

    # ---- whole target -----------------------------------------------------------------------------------------
    def delete_target(self) -> int:
        """Delete every key of this target, then its entry (all versions); returns how many keys were deleted.

        Child data goes first (the server orphans it otherwise). Needs a server storage mode that can list
        (memory, s3); other modes raise StorageNotSupported before anything is deleted.
        """
        return self._entry.delete_target()


def _check_types(namespace: object, client: object, owns_client: object) -> None:
    """The storage's own options of the wrong type (the client checks the rest) are TypeErrors, up front."""
    if namespace is not None and not isinstance(namespace, str):
        raise StorageConfigTypeError(
            f"namespace must be a str of 1-128 letters, digits, '_' and '-', not {type(namespace).__name__}"
        )
    if client is not None and not isinstance(client, CacheServiceClient):
        raise StorageConfigTypeError(
            f"client must be a CacheServiceClient (e.g. perf_storage_nb.server.in_process_client()), not "
            f"{type(client).__name__}"
        )
    if owns_client is not None and not isinstance(owns_client, bool):
        raise StorageConfigTypeError(f"owns_client must be True, False or None, not {type(owns_client).__name__}")
