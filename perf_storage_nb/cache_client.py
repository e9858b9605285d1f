"""Re-exports of the cache service client (now in :mod:`perf_storage_nb.backends.cache_service`)."""

from __future__ import annotations

from .backends.cache_service.client import CacheServiceClient
from .backends.cache_service.names import (
    DATA_TYPE,
    KIND_OF,
    DataFile,
    DataType,
    check_hash,
    check_namespace,
    join_key,
    key_hash,
    target_cache_key,
)
from .backends.cache_service.routes import DEFAULT_NAMESPACE, ENTRY_FILE_ID
from .backends.cache_service.state import TargetState
from .backends.cache_service.wire import DEFAULT_API_KEY_HEADER, INPROCESS_URL

__all__ = [
    "DATA_TYPE",
    "DEFAULT_API_KEY_HEADER",
    "DEFAULT_NAMESPACE",
    "ENTRY_FILE_ID",
    "INPROCESS_URL",
    "KIND_OF",
    "CacheServiceClient",
    "DataFile",
    "DataType",
    "TargetState",
    "check_hash",
    "check_namespace",
    "join_key",
    "key_hash",
    "target_cache_key",
]
