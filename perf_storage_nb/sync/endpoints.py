"""Where a sync or copy reads and writes: locations (the factory's URLs) and ``[LOCATION#]ADDRESS`` endpoints.

A location is what :func:`~perf_storage_nb.factory.create_storage` takes as a URL: ``./perf_results``,
``file:///abs/path``, ``http(s)://host:port[?namespace=NAME]`` or ``memory://name``. An endpoint names a place
in one: ``LOCATION#SESSION[/TARGET][:KEY-OR-PREFIX]`` (the address grammar of :mod:`perf_storage_nb.addressing`;
``#`` never occurs in an address, so the last one separates it). Without ``LOCATION#`` the caller's default
location applies.
"""

from __future__ import annotations

import os
from typing import Any

from ..addressing import Address, parse_address
from ..base import BaseStorage
from ..errors import StorageConfigError
from ..redact import redact_url

__all__ = [
    "PLACEHOLDER",
    "default_location",
    "location_label",
    "open_location",
    "parse_endpoint",
]

#: session and target ids of a storage opened only to reach a location's sessions (never written to)
PLACEHOLDER = "perf-storage"


def default_location() -> str:
    """``PERF_STORAGE_URL``, else ``PERF_STORAGE_ROOT``, else ``./perf_results`` (the local backend's default)."""
    return os.environ.get("PERF_STORAGE_URL") or os.environ.get("PERF_STORAGE_ROOT") or "./perf_results"


def open_location(
    location: str | BaseStorage | None, *, api_key: str | None = None, namespace: str | None = None
) -> BaseStorage:
    """A storage on ``location`` (a URL, or a storage whose backend is used), from which every target is reached."""
    if isinstance(location, BaseStorage):
        return location
    from ..factory import create_storage

    url = default_location() if location is None else location
    if not isinstance(url, str):
        raise StorageConfigError(f"a location is a URL or folder path (str), not {type(url).__name__}")
    overrides: dict[str, Any] = {"session_id": PLACEHOLDER, "target_id": PLACEHOLDER}
    remote = url.lower().startswith(("http://", "https://"))
    if namespace is not None:
        if not remote:
            raise StorageConfigError(
                f"--namespace applies to a cache service location (http(s)://host:port), not {redact_url(url)!r}"
            )
        overrides["namespace"] = namespace
    if api_key is not None and remote:
        overrides["api_key"] = api_key
    return create_storage(url, **overrides)


def location_label(storage: BaseStorage) -> str:
    """The location part of a storage's description, without its session/target (and without secrets)."""
    config = storage.to_config()
    if storage.backend_name == "cache_service":
        return f"{redact_url(str(config.get('url', '')))} (namespace {config.get('namespace')})"
    if storage.backend_name == "local":
        return f"file://{config.get('root')}"
    suffix = f"/{storage.session_id}/{storage.target_id}"
    text = storage.describe()
    return text[: -len(suffix)] if text.endswith(suffix) else text


def parse_endpoint(text: str) -> tuple[str | None, Address]:
    """``[LOCATION#]SESSION[/TARGET][:KEY-OR-PREFIX]`` -> (location or None, address); StorageNameError if bad."""
    location, sep, address = text.rpartition("#")
    return (location if sep and location else None), parse_address(address)
