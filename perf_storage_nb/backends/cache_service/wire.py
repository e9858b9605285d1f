"""WireClient: the HTTP layer of the cache service client - connection pool, API key, replicas, retries.

:meth:`WireClient.send` is the one seam every request goes through: a short loop holding only the retry,
back-off and fail-over policy; what an httpx exception or a status *means* lives in :mod:`.http_errors`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypedDict, TypeVar

import httpx

from ...errors import StorageBackendError, StorageConfigError, StorageConnectionError, StorageError
from .answers import OBJECT, Shape, excerpt, looks_like_a_service_error, not_the_service, parse_json
from .api_key import ApiKeyAuth, Redactor, check_api_key, check_header_name
from .http_errors import (
    DROPPED,
    REFUSED,
    TIMEOUT,
    Call,
    Outcome,
    Transient,
    mapped_errors,
    may_retry,
    outcome_of,
    status_error,
)
from .options import (
    INPROCESS_URL,
    URL_FORM,
    check_max_connections,
    check_retries,
    check_timeout,
    check_transport,
    check_urls,
)

__all__ = ["DEFAULT_API_KEY_HEADER", "INPROCESS_URL", "URL_FORM", "WireClient", "WireOptions"]

DEFAULT_API_KEY_HEADER = "x-api-key"

_T = TypeVar("_T")


class WireOptions(TypedDict, total=False):
    """The keyword options of :class:`WireClient` (passed through by the clients built on it)."""

    api_key: str | None
    timeout: float
    retries: int
    api_key_header: str
    transport: httpx.BaseTransport | None
    max_connections: int


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
        # Every option is checked before anything is built: a bad one fails here, not at the first request.
        # The key first, so that the errors of the other checks can be scrubbed of it.
        if api_key is None:
            key = check_api_key(os.environ.get("PERF_STORAGE_API_KEY"), "env PERF_STORAGE_API_KEY")
        else:
            key = check_api_key(api_key)
        self._redactor = Redactor([key])
        try:
            transport = check_transport(transport)
            if url is None:  # an explicit transport (in-process app, fault injection) needs no real URL
                url = INPROCESS_URL if transport is not None else os.environ.get("PERF_STORAGE_URL")
            if url is None or (isinstance(url, str) and not url.strip()):
                raise StorageConfigError(
                    "no cache service URL: pass url='http://127.0.0.1:8801' (or several, comma-separated) or set "
                    "PERF_STORAGE_URL; start a local server with `perf-storage serve`"
                )
            urls = check_urls(url, in_process_ok=transport is not None)
            if key is not None and len(key) >= 6 and any(key in u for u in urls):  # shorter: chance matches
                raise StorageConfigError(
                    "a cache service URL contains the API key: it would be sent in every request line and show in "
                    "reprs, errors and to_config(); pass the key only as api_key=... (or env PERF_STORAGE_API_KEY)"
                )
            self.timeout = check_timeout(timeout)
            self.retries = check_retries(retries)
            self.api_key_header = check_header_name(api_key_header)
            self._max_connections = check_max_connections(max_connections)
        except StorageError as exc:
            self._redactor.scrub(exc)
            raise
        self.urls: tuple[str, ...] = tuple(urls)
        self._has_key = key is not None
        self._current = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # for the few requests one operation sends at once
        # WSGI gives the app no body without a Content-Length, so chunked uploads are joined in-process
        # (where nothing crosses a network and the WSGI transport buffers the body anyway).
        self._chunked_uploads = not isinstance(transport, httpx.WSGITransport)
        limits = httpx.Limits(max_connections=self._max_connections, max_keepalive_connections=self._max_connections)
        self.http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            transport=transport,
            auth=ApiKeyAuth(self.api_key_header, key) if key is not None else None,
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
        final: tuple[int, ...] = (),
        stream: bool = False,
        retry: bool = True,
    ) -> httpx.Response | None:
        """Send one request; None for a ``missing`` status, the response for an ``ok`` one, else a StorageError.

        Connection resets, protocol errors and 5xx are retried with backoff (``retry`` calls must be
        idempotent; streamed bodies cannot be replayed); refused connections and timeouts move on to the
        next base URL; with one URL a single timeout is retried once. Retrying stays within about
        ``timeout`` seconds (a hung server is reported after at most twice the timeout). A ``final`` status
        is returned at once, for the caller to handle. A "missing" or 4xx answer that the cache service
        would not give (a web page) is reported as not the cache service. Every error leaving here is
        scrubbed of the API key, its chained causes included.
        """
        try:
            return self._send(method, path, params, content, content_type, ok, missing, final, stream, retry)
        except StorageError as exc:
            self._redactor.scrub(exc)
            raise

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        content: bytes | Iterable[bytes] | None,
        content_type: str | None,
        ok: tuple[int, ...],
        missing: tuple[int, ...],
        final: tuple[int, ...],
        stream: bool,
        retry: bool,
    ) -> httpx.Response | None:
        headers = {"content-type": content_type} if content_type else None
        attempts = _Attempts(self.retries if retry else 0, len(self.urls), self.timeout, retry, self._fail_over)
        while True:
            attempts.tries += 1
            index = self._current
            call = self._call(method, path, index)
            try:
                with mapped_errors(call):
                    request = self.http.build_request(
                        method, call.base + path, params=params, content=content, headers=headers
                    )
                    response = self.http.send(request, stream=stream)
                    status = response.status_code
                    if status in ok:
                        return response
                    response.read()  # not the answer asked for: its body is small, and needed to judge it
            except Transient as exc:
                if attempts.again_after(exc.outcome, index):
                    continue
                raise exc.outcome.error_for(call, exc.cause, current=self.url) from exc.cause
            if status in missing:
                response.close()
                if not looks_like_a_service_error(response):
                    raise not_the_service(
                        call, response, f"that is not a cache service answer: {excerpt(response.content)}"
                    )
                return None
            if status in final:
                return response
            error = status_error(call, response, self._storage_mode_label)
            if may_retry(status, error) and attempts.again_after_status():
                continue
            if 400 <= status < 500 and status not in (401, 403) and not looks_like_a_service_error(response):
                raise not_the_service(
                    call, response, f"that is not a cache service answer: {excerpt(response.content)}"
                )
            raise error

    def send_json(
        self, method: str, path: str, shape: Shape = OBJECT, *, route_needed: bool = False, **options: Any
    ) -> Any:
        """:meth:`send`, then the answer's JSON checked against ``shape`` (None for a ``missing`` status).

        The one place an answer body is parsed: a body that is not JSON of that shape means the URL is not
        the cache service, and says so (never a raw JSONDecodeError or KeyError). With ``route_needed`` a 404
        says the same: every cache service has this route.
        """
        response = self.send(method, path, final=(404,) if route_needed else (), **options)
        if response is None:
            return None
        call = self._call(method, path, self._current)
        try:
            if route_needed and response.status_code == 404:
                raise not_the_service(call, response, f"(no such route): {excerpt(response.content)}")
            return parse_json(call, response, shape)
        except StorageError as exc:
            self._redactor.scrub(exc)
            raise

    def stream_error(self, exc: Exception, what: str) -> StorageError:
        """The error for an httpx failure while reading a streamed answer (``what``: the value being read)."""
        outcome = outcome_of(exc)
        cls = StorageConnectionError if outcome in (DROPPED, TIMEOUT, REFUSED) else StorageBackendError
        error = cls(
            f"reading {what} from the cache service at {self.url} failed mid-stream: {type(exc).__name__}: {exc}"
        )
        error.__cause__ = exc
        self._redactor.scrub(error)
        return error

    def _call(self, method: str, path: str, index: int) -> Call:
        return Call(method, path, self.urls[index], self.urls, self.timeout, self._max_connections, self.api_key_header)

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
        self.after_status = False  # the last answer was a retryable status (uvicorn then drops the connection)

    def again_after(self, outcome: Outcome, index: int) -> bool:
        """After a transient failure on replica ``index``: True to send again (after any pause), False to give up."""
        after_status, self.after_status = self.after_status, False
        if outcome is REFUSED:
            self.refused += 1
            self.fail_over(index)
            if self.refused >= self.replicas * (1 + self.retries) or time.monotonic() > self.deadline:
                return False
            if self.refused % self.replicas == 0:  # every replica tried once: pause before another round
                _backoff(self.refused // self.replicas - 1, self.deadline)
            return True
        if outcome is DROPPED:
            if after_status and time.monotonic() < self.deadline:
                # uvicorn closes a keep-alive connection after every 500: the reset that follows is that close,
                # not a new failure - it costs no try (else a route that keeps answering 500 would be reported
                # as a dropped connection, and its 500 never seen).
                self.tries -= 1
                return True
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
        self.after_status = True
        if self.tries <= self.retries and time.monotonic() < self.deadline:
            _backoff(self.tries - 1, self.deadline)
            return True
        return False


def _backoff(attempt: int, deadline: float, first_free: bool = False) -> None:
    if first_free and attempt == 0:
        return  # a reset after a 500 needs no pause: the retry opens a fresh connection
    pause = min(0.05 * (2 ** min(attempt, 10)), 1.0) * (0.5 + random.random() / 2)  # 2**attempt overflows a float
    time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
