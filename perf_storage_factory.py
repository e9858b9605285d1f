"""The seed's import path: ``from perf_storage_factory import Perf__Storage__Factory``."""

from perf_storage_nb import Perf__Storage__Factory, StorageFactory, create_storage

__all__ = ["Perf__Storage__Factory", "StorageFactory", "create_storage"]
