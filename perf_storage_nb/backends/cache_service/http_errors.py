"""What goes wrong on the wire, mapped onto our error tree: one table for httpx exceptions, one rule for statuses.

In the style of httpx's own ``map_httpcore_exceptions()``: :data:`EXCEPTION_MAP` names, for every exception
class httpx exports, what it means for one request (:class:`Outcome`); :func:`mapped_errors` applies it to a
block, choosing the most specific class of the exception raised. Transient outcomes (refused, timed out,
dropped) reach the wire client's retry loop as :class:`Transient` and become a StorageError only when it gives
up; the others become one at once. No message ever holds a request header, so the API key stays out of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from ...errors import (
    StorageAuthError,
    StorageBackendError,
    StorageConnectionError,
    StorageError,
    StorageNotSupported,
)

__all__ = [
    "DROPPED",
    "EXCEPTION_MAP",
    "FATAL",
    "POOL",
    "REFUSED",
    "RETRY_STATUSES",
    "TIMEOUT",
    "Call",
    "Outcome",
    "Transient",
    "mapped_errors",
    "may_retry",
    "outcome_of",
    "status_error",
]


@dataclass(frozen=True)
class Call:
    """One request as error messages name it (method, path, base URL; never its headers)."""

    method: str
    path: str
    base: str
    urls: tuple[str, ...]
    timeout: float
    pool: int
    api_key_header: str


@dataclass(frozen=True)
class Outcome:
    """What one kind of httpx exception means: the error we report, and whether the request may be sent again."""

    name: str
    error: type[StorageError]
    transient: bool
    template: str

    def error_for(self, call: Call, exc: BaseException, current: str | None = None) -> StorageError:
        """The error to raise for ``exc`` during ``call``; ``current`` is the base URL in use when giving up."""
        return self.error(
            self.template.format(
                method=call.method,
                path=call.path,
                base=call.base,
                current=call.base if current is None else current,
                urls=", ".join(call.urls),
                timeout=call.timeout,
                pool=call.pool,
                name=type(exc).__name__,
                exc=exc,
            )
        )


#: Our own pool is exhausted (responses left open, or more threads than connections): another replica would
#: not help and the server is not to blame, so neither fail over nor retry.
POOL = Outcome(
    "pool",
    StorageBackendError,
    False,
    "no free connection in this client's pool of {pool} within {timeout:g} s for {method} {path}: too many "
    "concurrent requests or streamed responses left open (close iter_bytes() iterators, or pass max_connections=...)",
)
#: No connection was made: the next replica is tried.
REFUSED = Outcome(
    "refused",
    StorageConnectionError,
    True,
    "cannot connect to the cache service at {urls} ({name}: {exc}); is it running? start one with `perf-storage serve`",
)
#: Connected, but no answer in time: the next replica, or once more on the same one.
TIMEOUT = Outcome(
    "timeout",
    StorageConnectionError,
    True,
    "the cache service at {base} did not answer {method} {path} within {timeout:g} s (timeout)",
)
#: The connection broke mid-request: uvicorn closes a keep-alive connection after any 500, so the next request
#: on it is reset. Retried (idempotent calls only).
DROPPED = Outcome(
    "dropped",
    StorageConnectionError,
    True,
    "the connection to the cache service at {current} kept failing for {method} {path} ({name}: {exc})",
)
#: Anything else: reported at once, naming the request and the httpx exception.
FATAL = Outcome("fatal", StorageBackendError, False, "{method} {base}{path} failed: {name}: {exc}")

#: every exception class httpx exports -> its outcome; the most specific class of an exception decides
#: (PoolTimeout is a TimeoutException, ConnectTimeout too). tests/test_cache_http_errors.py checks that no
#: exported class is missing, so a class added by a new httpx version cannot slip through unmapped.
EXCEPTION_MAP: Mapping[type[Exception], Outcome] = {
    httpx.PoolTimeout: POOL,
    httpx.ConnectError: REFUSED,
    httpx.ConnectTimeout: REFUSED,
    httpx.TimeoutException: TIMEOUT,
    httpx.ReadTimeout: TIMEOUT,
    httpx.WriteTimeout: TIMEOUT,
    httpx.ReadError: DROPPED,
    httpx.WriteError: DROPPED,
    httpx.RemoteProtocolError: DROPPED,
    httpx.CloseError: FATAL,
    httpx.NetworkError: FATAL,
    httpx.LocalProtocolError: FATAL,
    httpx.ProtocolError: FATAL,
    httpx.ProxyError: FATAL,
    httpx.UnsupportedProtocol: FATAL,
    httpx.TransportError: FATAL,
    httpx.DecodingError: FATAL,
    httpx.TooManyRedirects: FATAL,
    httpx.RequestError: FATAL,
    httpx.HTTPStatusError: FATAL,
    httpx.HTTPError: FATAL,
    # Not HTTPErrors (httpx raises them for malformed URLs and misused streams): still ours to report.
    httpx.InvalidURL: FATAL,
    httpx.CookieConflict: FATAL,
    httpx.StreamError: FATAL,
    httpx.StreamConsumed: FATAL,
    httpx.StreamClosed: FATAL,
    httpx.ResponseNotRead: FATAL,
    httpx.RequestNotRead: FATAL,
}


class Transient(Exception):  # noqa: N818 - a signal inside the wire client's retry loop, never raised to callers
    """A failure the wire client may retry: its outcome and the httpx exception behind it."""

    def __init__(self, outcome: Outcome, cause: Exception) -> None:
        super().__init__(f"{outcome.name}: {type(cause).__name__}: {cause}")
        self.outcome = outcome
        self.cause = cause


def outcome_of(exc: BaseException) -> Outcome | None:
    """The outcome of the most specific mapped class of ``exc``; None for an exception httpx did not raise."""
    for cls in type(exc).__mro__:
        outcome = EXCEPTION_MAP.get(cls)
        if outcome is not None:
            return outcome
    return None


@contextmanager
def mapped_errors(call: Call) -> Iterator[None]:
    """Translate httpx exceptions raised in the block: :class:`Transient` to retry, else a StorageError."""
    try:
        yield
    except Exception as exc:
        outcome = outcome_of(exc)
        if outcome is None:
            raise
        if outcome.transient:
            raise Transient(outcome, exc) from exc
        raise outcome.error_for(call, exc) from exc


# ---- statuses --------------------------------------------------------------------------------------------------
#: statuses worth sending an idempotent request again for (the server recovers from most 5xx at once)
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def status_error(call: Call, response: httpx.Response, storage_mode: Callable[[], str]) -> StorageError:
    """The error for an unexpected status of a read response; ``storage_mode()`` labels the server's mode."""
    status = response.status_code
    if status >= 500 and _not_implemented(response):
        return StorageNotSupported(
            f"{call.method} {call.path} is not supported by this server's storage mode ({storage_mode()}); "
            "only the memory and s3 modes can list or bulk-delete - run the service with "
            "CACHE__SERVICE__STORAGE_MODE=memory or s3"
        )
    message = server_message(response)
    if status in (401, 403):
        return StorageAuthError(
            f"the cache service at {call.base} refused {call.method} {call.path} ({status}): the API key is missing "
            f"or wrong (header {call.api_key_header!r}; pass api_key=... or set PERF_STORAGE_API_KEY). Server said: "
            f"{message}"
        )
    return StorageBackendError(
        f"the cache service at {call.base} answered {status} to {call.method} {call.path}: {message}"
    )


def may_retry(status: int, error: StorageError) -> bool:
    """True when a request answered ``status`` (mapped to ``error``) is worth sending again."""
    # A storage mode that cannot do something answers 500 every time: not transient.
    return status in RETRY_STATUSES and not isinstance(error, StorageNotSupported)


def server_message(response: httpx.Response) -> str:
    """A short message from an error body (never the server's stack trace)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else "(empty body)"
    if isinstance(body, dict):
        if body.get("message"):
            return str(body["message"])[:300]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return "; ".join(str(d.get("msg", d)) for d in detail[:3])[:300]
        if isinstance(detail, dict):
            return str(detail.get("message", detail))[:300]
        error = body.get("error")
        if error:
            return f"{detail}: {error}"[:300]
        if detail:
            return str(detail)[:300]
    return str(body)[:200]


def _not_implemented(response: httpx.Response) -> bool:
    # local_disk/sqlite/zip raise NotImplementedError (or lack the method) for listing: not a transient error.
    text = response.text
    return "NotImplementedError" in text or "has no attribute 'folder__" in text
