"""The client's options, checked at construction: a bad one fails where it was given, not at the first request.

Each check names the option and the accepted form; a value of the wrong type is a
:class:`~perf_storage_nb.errors.StorageConfigTypeError` (also a TypeError), a wrong value of the right type a
:class:`~perf_storage_nb.errors.StorageConfigError`. URLs are quoted redacted
(:func:`~perf_storage_nb.redact.redact_url`).
"""

from __future__ import annotations

import math

import httpx

from ...errors import StorageConfigError, StorageConfigTypeError
from ...redact import redact_url

__all__ = [
    "INPROCESS_URL",
    "MAX_TIMEOUT",
    "URL_FORM",
    "check_max_connections",
    "check_retries",
    "check_timeout",
    "check_transport",
    "check_urls",
]

INPROCESS_URL = "http://cache-service.inprocess"
#: one day: longer timeouts overflow the socket layer (and a hung server should not block a notebook for longer)
MAX_TIMEOUT = 86_400.0
URL_FORM = "http://host:port or https://host[:port][/path] (several: a list or comma-separated)"


def _number_type(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_timeout(value: object) -> float:
    """Seconds to wait for a connection or an answer: a finite number > 0 and at most one day."""
    form = f"a number of seconds > 0 and <= {MAX_TIMEOUT:g} (e.g. timeout=30)"
    if not _number_type(value):
        raise StorageConfigTypeError(f"timeout must be {form}, not {type(value).__name__}")
    seconds = float(value)  # type: ignore[arg-type] # an int or float, checked above
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise StorageConfigError(f"timeout must be {form}, not {value!r}")
    return seconds


def check_retries(value: object) -> int:
    """How many times a failed idempotent request is sent again: an int >= 0."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise StorageConfigTypeError(f"retries must be an int >= 0 (e.g. retries=3), not {type(value).__name__}")
    if value < 0:
        raise StorageConfigError(f"retries must be an int >= 0 (e.g. retries=3), not {value!r}")
    return value


def check_max_connections(value: object) -> int:
    """The size of the connection pool: an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise StorageConfigTypeError(
            f"max_connections must be an int >= 1 (e.g. max_connections=32), not {type(value).__name__}"
        )
    if value < 1:
        raise StorageConfigError(f"max_connections must be an int >= 1 (e.g. max_connections=32), not {value!r}")
    return value


def check_transport(value: object) -> httpx.BaseTransport | None:
    """None (the network) or an httpx transport (an in-process app, fault injection)."""
    if value is None or isinstance(value, httpx.BaseTransport):
        return value
    raise StorageConfigTypeError(
        f"transport must be an httpx.BaseTransport (e.g. httpx.WSGITransport) or None, not {type(value).__name__}"
    )


def check_urls(url: object, *, in_process_ok: bool) -> list[str]:
    """Validate base URLs up front (scheme, host, port; no credentials, query or fragment); without trailing '/'."""
    if isinstance(url, str):
        items: list[object] = list(url.split(","))
    elif isinstance(url, (list, tuple)):
        items = list(url)
    else:
        raise StorageConfigTypeError(f"url must be a str like {URL_FORM}, not {type(url).__name__}")
    urls: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise StorageConfigTypeError(f"cache service URL must be a str like {URL_FORM}, not {type(item).__name__}")
        u = item.strip().rstrip("/")
        if u:
            urls.append(_check_url(u, in_process_ok))
    if not urls:
        raise StorageConfigError(f"no cache service URL given; expected {URL_FORM}")
    return urls


def _check_url(u: str, in_process_ok: bool) -> str:
    shown = redact_url(u)[:200]
    try:
        parsed = httpx.URL(u)
        host, _port = parsed.host, parsed.port  # the port is parsed lazily: touch it to validate it
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        # httpx quotes the bad part, which may hold a password when the URL has credentials
        detail = "" if "@" in u else f" ({redact_url(str(exc))[:200]})"
        raise StorageConfigError(f"invalid cache service URL {shown!r}{detail}; expected {URL_FORM}") from None
    if parsed.userinfo:
        raise StorageConfigError(
            f"cache service URL {shown!r} contains credentials; they would show in errors, reprs and to_config(): "
            "pass the key as api_key=... (or env PERF_STORAGE_API_KEY) instead"
        )
    if parsed.scheme not in ("http", "https") or not host:
        raise StorageConfigError(f"invalid cache service URL {shown!r}: expected {URL_FORM}")
    if parsed.query or parsed.fragment or "?" in u or "#" in u:
        raise StorageConfigError(
            f"cache service URL {shown!r} has a query or fragment; a base URL takes none (the namespace goes in "
            f"namespace=..., the key in api_key=...); expected {URL_FORM}"
        )
    if host == INPROCESS_URL.split("://", 1)[1] and not in_process_ok:
        raise StorageConfigError(
            f"{shown!r} names an in-process cache service, which cannot be rebuilt from config or reached over the "
            "network; use perf_storage_nb.server.client_cache_service() (or in_process_client()) instead"
        )
    return u
