"""The real MGraph-AI Cache Service inside this process (no network, no port): for tests and notebooks.

Heavy imports (fastapi, the service) happen only inside these functions, so importing this module loads
neither. Example::

    from perf_storage_nb.server import client_cache_service
    storage = client_cache_service("experiment_alpha", "item_001")   # in-process, memory mode, no port
    storage.save("results/metrics.json", {"ok": True})
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from ...errors import StorageConfigError
from .client import CacheServiceClient
from .routes import DEFAULT_NAMESPACE
from .storage import CacheServiceStorage
from .wire import INPROCESS_URL

__all__ = ["MODES", "Mode", "build_app", "client_cache_service", "create_app", "in_process_client"]

Mode = Literal["memory", "local_disk", "s3"]
MODES: tuple[str, ...] = ("memory", "local_disk", "s3")
_env_lock = threading.Lock()


@contextmanager
def _env(values: dict[str, str | None]) -> Iterator[None]:
    """Set env vars for the duration of the block (the service reads its config from env at build time)."""
    with _env_lock:
        old = {k: os.environ.get(k) for k in values}
        try:
            for k, v in values.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            yield
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _service_class() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the service's own FastAPI deprecation warnings are not the user's
        from mgraph_ai_service_cache.fast_api.Cache_Service__Fast_API import Cache_Service__Fast_API
    return Cache_Service__Fast_API


def build_app(*, mode: Mode = "memory", path: str | os.PathLike[str] | None = None) -> Any:
    """Build the real cache service FastAPI app in this process, without API-key auth (for in-process use)."""
    if mode not in MODES:
        raise StorageConfigError(f"unknown storage mode {mode!r}; valid modes: {', '.join(MODES)}")
    env: dict[str, str | None] = {"CACHE__SERVICE__STORAGE_MODE": mode}
    if mode == "local_disk":
        env["CACHE__SERVICE__LOCAL_DISK_PATH"] = str(path or tempfile.mkdtemp(prefix="perf-storage-cache-"))
    service = _service_class()
    with _env(env), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api = service()
        api.config.enable_api_key = False
        return api.setup().app()


def create_app() -> Any:
    """The app uvicorn serves (``uvicorn perf_storage_nb.backends.cache_service.inprocess:create_app --factory``).

    Its config (storage mode, API key) comes from the environment.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _service_class()().setup().app()


def in_process_client(
    app: Any | None = None, *, namespace: str = DEFAULT_NAMESPACE, mode: Mode = "memory", timeout: float = 30.0
) -> CacheServiceClient:
    """A :class:`CacheServiceClient` talking to an in-process service (no network, no port)."""
    import a2wsgi
    import httpx

    app = build_app(mode=mode) if app is None else app
    # a2wsgi types the WSGI environ as its own TypedDict; httpx passes the plain dict WSGI specifies
    transport = httpx.WSGITransport(app=a2wsgi.ASGIMiddleware(app))  # type: ignore[arg-type]
    return CacheServiceClient(INPROCESS_URL, namespace=namespace, transport=transport, timeout=timeout)


def client_cache_service(
    session_id: str = "test-session",
    target_id: str = "test-target",
    *,
    namespace: str = DEFAULT_NAMESPACE,
    app: Any | None = None,
) -> CacheServiceStorage:
    """A ready :class:`CacheServiceStorage` over a fresh in-process cache service (``.client``: direct access)."""
    client = in_process_client(app, namespace=namespace)
    # closing the storage closes its private client (and with it the in-process service)
    return CacheServiceStorage(session_id, target_id, namespace=namespace, client=client, owns_client=True)
