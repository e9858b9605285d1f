"""Re-exports of the key/name mapping of the cache service (now :mod:`perf_storage_nb.backends.cache_service.names`)."""

from __future__ import annotations

from .backends.cache_service.names import (
    DATA_KEY_MAX,
    FILE_ID_MAX,
    decode_segment,
    encode_segment,
    join_key,
    key_hash,
    split_key,
    target_cache_key,
)

__all__ = [
    "DATA_KEY_MAX",
    "FILE_ID_MAX",
    "decode_segment",
    "encode_segment",
    "join_key",
    "key_hash",
    "split_key",
    "target_cache_key",
]
