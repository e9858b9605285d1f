"""Re-exports of the cache service helpers: the in-process service for tests, the uvicorn process manager.

Now in ``perf_storage_nb.backends.cache_service.inprocess`` and ``perf_storage_nb.backends.cache_service.process``.
"""

from __future__ import annotations

from .backends.cache_service.inprocess import MODES, build_app, client_cache_service, create_app, in_process_client
from .backends.cache_service.process import CacheServer, _Process, free_port

__all__ = [
    "MODES",
    "CacheServer",
    "_Process",
    "build_app",
    "client_cache_service",
    "create_app",
    "free_port",
    "in_process_client",
]
