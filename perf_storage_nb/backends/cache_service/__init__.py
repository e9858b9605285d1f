"""The MGraph-AI Cache Service backend: an httpx client, the storage, and the in-process service for tests.

Layers, each importing only those below it::

    inprocess                   the real service in this process (tests, notebooks)
    storage                     CacheServiceStorage: BaseStorage primitives over entry
    client                      CacheServiceClient: routes + direct access (cross-session loads, hashes, bulk)
    entry -> entry_base         TargetEntry: one target's key operations / its cache_id and kind map
    routes                      RoutesClient: one typed method per server route (the answers' shapes)
    wire                        WireClient: pool, replicas, the retry loop - the one seam every request, answer
                                body and error goes through (errors scrubbed of the API key)
    answers -> http_errors      what the service's answers look like ("not the cache service"); errors by table
    api_key  options            leaves: the API key (checked, sent, redacted, kept out of logs); option checks
    names  body  state          leaves: key/kind/name mapping, body encoding, per-target state

``process`` (CacheServer, the uvicorn process manager behind ``perf-storage serve``) is a dev tool and not
imported here: ``from perf_storage_nb.backends.cache_service.process import CacheServer``.
"""

from __future__ import annotations

from .body import EMPTY_BYTES, VALUE_MARKER, ResponseChunks
from .client import CacheServiceClient
from .entry import TargetEntry
from .inprocess import MODES, build_app, client_cache_service, create_app, in_process_client
from .names import DATA_TYPE, KIND_OF, DataFile, check_hash, check_namespace, key_hash, target_cache_key
from .routes import DEFAULT_NAMESPACE, ENTRY_FILE_ID, RoutesClient
from .state import TargetState
from .storage import CacheServiceStorage
from .wire import DEFAULT_API_KEY_HEADER, INPROCESS_URL, WireClient

__all__ = [
    "DATA_TYPE",
    "DEFAULT_API_KEY_HEADER",
    "DEFAULT_NAMESPACE",
    "EMPTY_BYTES",
    "ENTRY_FILE_ID",
    "INPROCESS_URL",
    "KIND_OF",
    "MODES",
    "VALUE_MARKER",
    "CacheServiceClient",
    "CacheServiceStorage",
    "DataFile",
    "ResponseChunks",
    "RoutesClient",
    "TargetEntry",
    "TargetState",
    "WireClient",
    "build_app",
    "check_hash",
    "check_namespace",
    "client_cache_service",
    "create_app",
    "in_process_client",
    "key_hash",
    "target_cache_key",
]
