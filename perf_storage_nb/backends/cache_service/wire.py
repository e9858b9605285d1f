"""WireClient: the HTTP layer of the cache service client - connection pool, API key, replicas, retries.

:meth:`WireClient.send` is the one seam every request goes through: a short loop holding only the retry,
back-off and fail-over policy; what an httpx exception or a status *means* lives in :mod:`.http_errors`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypedDict, TypeVar

import httpx

from ...errors import StorageConfigError
from .http_errors import DROPPED, REFUSED, Call, Outcome, Transient, mapped_errors, may_retry, status_error

__all__ = ["DEFAULT_API_KEY_HEADER", "INPROCESS_URL", "WireClient", "WireOptions"]

DEFAULT_API_KEY_HEADER = "x-api-key"
INPROCESS_URL = "http://cache-service.inprocess"

_T = TypeVar("_T")


class WireOptions(TypedDict, total=False):
    """The keyword options of :class:`WireClient` (passed through by the clients built on it)."""

    api_key: str | None
    timeout: float
    retries: int
    api_key_header: str
    transport: httpx.BaseTransport | None
    max_connections: int


class _ApiKeyAuth(httpx.Auth):
    """Adds the API key header per request, so the key never sits in the client's default headers."""

    def __init__(self, header: str, key: str) -> None:
        self._header, self._key = header, key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._key
        yield request

    def __repr__(self) -> str:
        return f"_ApiKeyAuth(header={self._header!r}, key=***)"


class WireClient:
    """Thread-safe httpx client for one cache service: keep-alive pool, timeouts, retries, fail-over.

    ``url`` is one base URL, a list, or a comma-separated string of replicas. ``api_key`` (default: env
    ``PERF_STORAGE_API_KEY``) goes in header ``api_key_header``; it never appears in a repr or an error.
    ``transport`` replaces the network (e.g. ``httpx.WSGITransport`` over an in-process app).
    """

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
    ) -> None:
        if url is None:  # an explicit transport (in-process app, fault injection) needs no real URL
            url = INPROCESS_URL if transport is not None else os.environ.get("PERF_STORAGE_URL")
        if not url:
            raise StorageConfigError(
                "no cache service URL: pass url='http://127.0.0.1:8801' (or several, comma-separated) or set "
                "PERF_STORAGE_URL; start a local server with `perf-storage serve`"
            )
        urls = _check_urls(url, in_process_ok=transport is not None)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise StorageConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise StorageConfigError(f"retries must be an int >= 0, not {retries!r}")
        self.urls: tuple[str, ...] = tuple(urls)
        self.timeout = float(timeout)
        self.retries = retries
        self.api_key_header = api_key_header
        api_key = api_key if api_key is not None else os.environ.get("PERF_STORAGE_API_KEY")
        self._has_key = bool(api_key)
        self._current = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # for the few requests one operation sends at once
        self._max_connections = max_connections
        # WSGI gives the app no body without a Content-Length, so chunked uploads are joined in-process
        # (where nothing crosses a network and the WSGI transport buffers the body anyway).
        self._chunked_uploads = not isinstance(transport, httpx.WSGITransport)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self.http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            transport=transport,
            auth=_ApiKeyAuth(api_key_header, api_key) if api_key else None,
            follow_redirects=False,
        )

    # ---- identity and lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL currently in use (the first that answered)."""
        return self.urls[self._current]

    def __repr__(self) -> str:
        key = "set" if self._has_key else "none"
        return f"{type(self).__name__}(url={','.join(self.urls)!r}, api_key={key})"

    def close(self) -> None:
        """Close the connection pool (and the helper threads of concurrent requests)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def concurrently(self, calls: Sequence[Callable[[], _T]]) -> list[_T]:
        """Run a few independent requests at once (one round trip instead of several); results in order.

        The last call runs in the calling thread; the helper pool is small and its tasks never submit more,
        so bulk callers that already run on threads cannot deadlock it.
        """
        if len(calls) <= 1:
            return [call() for call in calls]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=max(1, min(8, self._max_connections // 2)), thread_name_prefix="perf-storage-http"
                )
            pool = self._pool
        futures = [pool.submit(call) for call in calls[:-1]]
        last = calls[-1]()
        return [*(f.result() for f in futures), last]

    def upload_body(self, content: bytes | Iterable[bytes]) -> bytes | Iterable[bytes]:
        """``content`` as this transport can send it (chunks are joined where the transport needs a length)."""
        if not self._chunked_uploads and not isinstance(content, (bytes, bytearray)):
            return b"".join(content)
        return content

    # ---- the one seam: send, retry, fail over ------------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        content_type: str | None = None,
        ok: tuple[int, ...] = (200,),
        missing: tuple[int, ...] = (),
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response | None:
        """Send one request; None for a ``missing`` status, the response for an ``ok`` one, else a StorageError.

        Connection resets, protocol errors and 5xx are retried with backoff (``retry`` calls must be
        idempotent; streamed bodies cannot be replayed); refused connections and timeouts move on to the
        next base URL; with one URL a single timeout is retried once. Retrying stays within about
        ``timeout`` seconds (a hung server is reported after at most twice the timeout).
        """
        headers = {"content-type": content_type} if content_type else None
        attempts = _Attempts(self.retries if retry else 0, len(self.urls), self.timeout, retry, self._fail_over)
        while True:
            attempts.tries += 1
            index = self._current
            call = Call(
                method, path, self.urls[index], self.urls, self.timeout, self._max_connections, self.api_key_header
            )
            try:
                with mapped_errors(call):
                    request = self.http.build_request(
                        method, call.base + path, params=params, content=content, headers=headers
                    )
                    response = self.http.send(request, stream=stream)
            except Transient as exc:
                if attempts.again_after(exc.outcome, index):
                    continue
                raise exc.outcome.error_for(call, exc.cause, current=self.url) from exc.cause
            if response.status_code in ok:
                return response
            if response.status_code in missing:
                response.close()
                return None
            if stream:
                response.read()
            error = status_error(call, response, self._storage_mode_label)
            if may_retry(response.status_code, error) and attempts.again_after_status():
                continue
            raise error

    def _fail_over(self, index: int) -> None:
        with self._lock:
            if self._current == index and len(self.urls) > 1:
                self._current = (index + 1) % len(self.urls)

    def _storage_mode_label(self) -> str:
        """How error messages name the server's storage mode (the routes client asks the server)."""
        return "storage mode unknown"


class _Attempts:
    """The retry budget of one :meth:`WireClient.send`: counters, the deadline, and when to try again."""

    def __init__(
        self, retries: int, replicas: int, timeout: float, retry: bool, fail_over: Callable[[int], None]
    ) -> None:
        self.retries, self.replicas, self.retry, self.fail_over = retries, replicas, retry, fail_over
        self.deadline = time.monotonic() + timeout
        self.tries = 0  # requests sent
        self.refused = 0  # connection attempts refused (those move on to the next replica)
        self.timed_out = False  # one read timeout is retried on the same replica

    def again_after(self, outcome: Outcome, index: int) -> bool:
        """After a transient failure on replica ``index``: True to send again (after any pause), False to give up."""
        if outcome is REFUSED:
            self.refused += 1
            self.fail_over(index)
            if self.refused >= self.replicas * (1 + self.retries) or time.monotonic() > self.deadline:
                return False
            if self.refused % self.replicas == 0:  # every replica tried once: pause before another round
                _backoff(self.refused // self.replicas - 1, self.deadline)
            return True
        if outcome is DROPPED:
            if self.tries > self.retries or time.monotonic() > self.deadline:
                return False
            _backoff(self.tries - 1, self.deadline, first_free=True)
            return True
        # TIMEOUT
        if self.retry and self.refused + 1 < self.replicas:
            self.refused += 1
            self.fail_over(index)
            return True
        if self.retry and not self.timed_out:
            # One stalled request (a GC pause, a dropped packet) should not fail an idempotent call;
            # a second timeout means the server is hung: report it (after at most 2 x timeout).
            self.timed_out = True
            return True
        return False

    def again_after_status(self) -> bool:
        """After a retryable status: True to send again (after a pause) while retries and time are left."""
        if self.tries <= self.retries and time.monotonic() < self.deadline:
            _backoff(self.tries - 1, self.deadline)
            return True
        return False


def _backoff(attempt: int, deadline: float, first_free: bool = False) -> None:
    if first_free and attempt == 0:
        return  # a reset after a 500 needs no pause: the retry opens a fresh connection
    pause = min(0.05 * (2**attempt), 1.0) * (0.5 + random.random() / 2)
    time.sleep(max(0.0, min(pause, deadline - time.monotonic())))


# ---- base URLs -----------------------------------------------------------------------------------------------
_URL_FORM = "http://host:port or https://host[:port][/path] (several: a list or comma-separated)"


def _check_urls(url: str | Sequence[str], *, in_process_ok: bool) -> list[str]:
    """Validate base URLs up front (scheme, host, port; no credentials); returns them without trailing '/'."""
    items: list[object] = (
        list(url.split(",")) if isinstance(url, str) else list(url) if isinstance(url, (list, tuple)) else [url]
    )
    urls: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise StorageConfigError(f"cache service URL must be a str like {_URL_FORM}, not {type(item).__name__}")
        u = item.strip().rstrip("/")
        if not u:
            continue
        try:
            parsed = httpx.URL(u)
            host, _port = parsed.host, parsed.port  # the port is parsed lazily: touch it to validate it
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            # httpx quotes the bad part, which may hold a password when the URL has credentials
            detail = "" if "@" in u else f" {u!r} ({exc})"
            raise StorageConfigError(f"invalid cache service URL{detail}; expected {_URL_FORM}") from None
        if parsed.userinfo:
            raise StorageConfigError(
                f"cache service URL {_redact(parsed)!r} contains credentials; they would show in errors, reprs and "
                "to_config(): pass the key as api_key=... (or env PERF_STORAGE_API_KEY) instead"
            )
        if parsed.scheme not in ("http", "https") or not host:
            raise StorageConfigError(f"invalid cache service URL {u!r}: expected {_URL_FORM}")
        if host == INPROCESS_URL.split("://", 1)[1] and not in_process_ok:
            raise StorageConfigError(
                f"{u!r} names an in-process cache service, which cannot be rebuilt from config or reached over the "
                "network; use perf_storage_nb.server.client_cache_service() (or in_process_client()) instead"
            )
        urls.append(u)
    if not urls:
        raise StorageConfigError(f"no cache service URL given; expected {_URL_FORM}")
    return urls


def _redact(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://***@{url.host}{port}{url.path.rstrip('/')}"
