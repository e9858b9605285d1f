"""The API key: checked once, sent only as a request header, and kept out of every message, repr and log record.

* :func:`check_api_key` strips a key read from a file or an env var and refuses what cannot be sent as an
  HTTP header value - without ever quoting it (an invalid key is still a secret).
* :class:`ApiKeyAuth` adds the header per request, so the key is never in the client's default headers.
* :class:`Redactor` scrubs a known key out of an exception, its ``args`` and its whole ``__cause__`` /
  ``__context__`` chain, in place: the wire client runs it on every error it raises, so no path (an httpx
  message quoting a header, a server echoing a request) can carry the key into a traceback or notebook output.
* The same scrubbing guards the httpx/httpcore loggers (DEBUG records included) while a client holds a key.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Generator, Iterable

import httpx

from ...errors import StorageConfigError, StorageConfigTypeError
from ...redact import redact_secrets

__all__ = ["ApiKeyAuth", "Redactor", "check_api_key", "check_header_name"]

#: what an API key may hold: visible ASCII, spaces only inside (surrounding whitespace is stripped first)
_KEY = re.compile(r"[\x21-\x7e]+(?: +[\x21-\x7e]+)*")
#: an HTTP header name (RFC 9110 token)
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
#: headers httpx sets itself: an API key sent under one of these names would break the request framing
_RESERVED = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection", "te", "upgrade"})
_KEY_FORM = (
    "an API key is printable ASCII (letters, digits, punctuation; spaces only inside); surrounding "
    "whitespace and a trailing newline are stripped"
)


def check_api_key(value: object, source: str = "api_key") -> str | None:
    """``value`` stripped of surrounding whitespace; None for no key. The key is never quoted in an error.

    ``source`` names where the key came from (``api_key`` or ``env PERF_STORAGE_API_KEY``). An empty or
    whitespace-only key from the environment means "no key"; given explicitly it is a mistake.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        hint = " (decode it first: key.decode())" if isinstance(value, (bytes, bytearray)) else ""
        raise StorageConfigTypeError(f"{source} must be a str, not {type(value).__name__}{hint}; {_KEY_FORM}")
    key = value.strip()
    if not key:
        if source != "api_key":
            return None
        raise StorageConfigError(
            f"{source} is empty (or only whitespace); omit it (None) for a server without API keys; {_KEY_FORM}"
        )
    if not _KEY.fullmatch(key):
        raise StorageConfigError(f"{source} contains {_flaw(key)}, which cannot be sent in an HTTP header; {_KEY_FORM}")
    return key


def _flaw(key: str) -> str:
    """What is wrong with a key, named without quoting any of it."""
    if any(c in "\r\n" for c in key):
        return "a line break inside it"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return "a control character (tab, NUL, ...)"
    if not key.isascii():
        return "a non-ASCII character"
    return "a character outside printable ASCII"


def check_header_name(value: object) -> str:
    """The header the API key goes in: an HTTP token (surrounding whitespace stripped), not one httpx sets."""
    if not isinstance(value, str):
        raise StorageConfigTypeError(
            f"api_key_header must be a str header name like 'x-api-key', not {type(value).__name__}"
        )
    name = value.strip()
    if not _TOKEN.fullmatch(name):
        raise StorageConfigError(
            f"api_key_header {name[:80]!r} is not an HTTP header name: use letters, digits and -!#$%&'*+.^_`|~ "
            "(e.g. 'x-api-key')"
        )
    if name.lower() in _RESERVED:
        raise StorageConfigError(f"api_key_header {name!r} is a header httpx sets itself; use e.g. 'x-api-key'")
    return name


class Redactor:
    """Scrubs known secrets out of text and exceptions (in place, along the whole cause/context chain)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = tuple(s for s in secrets if s)

    def text(self, text: str) -> str:
        """``text`` with every secret (and its stripped form) replaced by ``***``."""
        return redact_secrets(text, self.secrets) if self.secrets else text

    def scrub(self, exc: BaseException) -> BaseException:
        """Redact the args of ``exc`` and of every exception chained to it; returns ``exc``."""
        if not self.secrets:
            return exc
        seen: set[int] = set()
        todo: list[BaseException | None] = [exc]
        while todo:
            item = todo.pop()
            if item is None or id(item) in seen:
                continue
            seen.add(id(item))
            if any(isinstance(a, str) and self.text(a) != a for a in item.args):
                item.args = tuple(self.text(a) if isinstance(a, str) else a for a in item.args)
            todo += [item.__cause__, item.__context__]
        return exc


class ApiKeyAuth(httpx.Auth):
    """Adds the API key header per request, so the key never sits in the client's default headers."""

    def __init__(self, header: str, key: str) -> None:
        self._header, self._key = header, key
        _guard_logs(self)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._key
        yield request

    def redactor(self) -> Redactor:
        """A redactor of this key."""
        return Redactor([self._key])

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r}, key=***)"


# ---- logs ----------------------------------------------------------------------------------------------------
#: the loggers of httpx and httpcore: at DEBUG they log requests, response headers and failed exceptions
_LOGGERS = ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")
_live: weakref.WeakSet[ApiKeyAuth] = weakref.WeakSet()
_installed = False
_lock = threading.Lock()


class _LogScrubber(logging.Filter):
    """Redacts the API keys of live clients from records of the httpx/httpcore loggers (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:  # a client built in another thread must not change the set while it is copied
            live = list(_live)
        if not live:
            return True
        redactor = Redactor(auth._key for auth in live)
        message = record.getMessage()
        if redactor.text(message) != message:
            record.msg, record.args = redactor.text(message), None
        if record.exc_info and record.exc_info[1] is not None:
            redactor.scrub(record.exc_info[1])
            record.exc_text = None  # a cached traceback text would hold the unscrubbed message
        return True


def _guard_logs(auth: ApiKeyAuth) -> None:
    """Register a live key; the filter is added to the httpx/httpcore loggers once per process."""
    global _installed
    with _lock:
        _live.add(auth)
        if not _installed:
            scrubber = _LogScrubber()
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(scrubber)
            _installed = True
