"""perf_storage_nb: session -> target -> key storage for notebook experiments.

One interface (:class:`BaseStorage`), three backends (memory, local files, the MGraph-AI Cache Service),
and an IPython extension (``%load_ext perf_storage_nb``) that is imported only when loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .backends.local import LocalStorage
from .backends.memory import MemoryStorage
from .base import BaseStorage, BulkResult, KeyInfo
from .errors import (
    StorageAuthError,
    StorageBackendError,
    StorageConfigError,
    StorageConfigTypeError,
    StorageConnectionError,
    StorageError,
    StorageKeyError,
    StorageKindError,
    StorageNameError,
    StorageNameTypeError,
    StorageNotSupported,
    StorageRegressionError,
    StorageValueError,
    StorageValueTypeError,
)
from .factory import StorageFactory, available_backends, create_storage, register_backend
from .names import check_id, check_key, target_id_from_text

if TYPE_CHECKING:
    from .backends.cache_service import CacheServiceClient, CacheServiceStorage

__version__ = "0.1.0"

__all__ = [
    "BaseStorage",
    "BulkResult",
    "CacheServiceClient",
    "CacheServiceStorage",
    "KeyInfo",
    "LocalStorage",
    "MemoryStorage",
    "Perf__Storage__Base",
    "Perf__Storage__Cache_Service",
    "Perf__Storage__Factory",
    "Perf__Storage__Local",
    "Perf__Storage__Memory",
    "StorageAuthError",
    "StorageBackendError",
    "StorageConfigError",
    "StorageConfigTypeError",
    "StorageConnectionError",
    "StorageError",
    "StorageFactory",
    "StorageKeyError",
    "StorageKindError",
    "StorageNameError",
    "StorageNameTypeError",
    "StorageNotSupported",
    "StorageRegressionError",
    "StorageValueError",
    "StorageValueTypeError",
    "available_backends",
    "check_id",
    "check_key",
    "create_storage",
    "load_ipython_extension",
    "register_backend",
    "target_id_from_text",
    "unload_ipython_extension",
]

_LAZY = {
    # The cache service backend pulls in httpx; load it on first use so `import perf_storage_nb` stays light.
    "CacheServiceClient": ("perf_storage_nb.backends.cache_service", "CacheServiceClient"),
    "CacheServiceStorage": ("perf_storage_nb.backends.cache_service", "CacheServiceStorage"),
    "Perf__Storage__Cache_Service": ("perf_storage_nb.backends.cache_service", "CacheServiceStorage"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perf_storage_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%storage`` / ``%%storage`` (``%load_ext perf_storage_nb``); idempotent and silent."""
    from .notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and hooks registered by :func:`load_ipython_extension`."""
    from .notebook.extension import unload

    unload(ipython)


# Names from the seed document and the MGraph-AI code: the same objects, not subclasses.
Perf__Storage__Base = BaseStorage
Perf__Storage__Memory = MemoryStorage
Perf__Storage__Local = LocalStorage
Perf__Storage__Factory = StorageFactory
