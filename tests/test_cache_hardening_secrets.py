"""The API key of the cache service client (issue 11, item 2): checked and stripped up front, and never in any
message, repr, log record or output, whatever the path.

The fault paths run against the real service (a uvicorn process on 127.0.0.1 with an API key) and a closed
port; ``httpx.MockTransport`` only stands in for what the real server cannot do on demand: a 500 whose body
echoes the request headers, and lower layers whose exceptions quote them (a timeout, a protocol error).
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_storage_nb import (
    StorageAuthError,
    StorageConfigError,
    StorageConfigTypeError,
    StorageConnectionError,
    StorageError,
)
from perf_storage_nb.backends.cache_service import CacheServiceClient, CacheServiceStorage
from perf_storage_nb.server import free_port

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")

#: every generated key contains this; a leak of any part of the key around it shows it
MARK = "Zq7xKeyMark"
#: the accepted form, written from the README independently of the code: printable ASCII, spaces inside
_VALID = re.compile(r"[\x21-\x7e]+(?: +[\x21-\x7e]+)*")


def valid_key(key: str) -> bool:
    return bool(_VALID.fullmatch(key.strip()))


# ---- the key is checked and stripped at construction --------------------------------------------------------
@pytest.mark.parametrize("key", [12345, 1.5, b"bytes-key", ["k"], True])
def test_a_key_of_the_wrong_type_is_a_type_error_that_does_not_echo_it(key: object) -> None:
    with pytest.raises(StorageConfigTypeError, match="api_key must be a str") as info:
        CacheServiceStorage("s", "t", url="http://127.0.0.1:1", api_key=key)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert str(key) not in str(info.value) and "bytes-key" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "flaw"),
    [
        (f"ab{MARK}\ncd", "line break"),
        (f"{MARK}\r\nmore", "line break"),
        (f"{MARK}\tx", "control character"),
        (f"{MARK}\x00", "control character"),
        (f"{MARK}\x7f", "control character"),
        (f"{MARK}é", "non-ASCII"),
        (f"{MARK}\u00a0x", "non-ASCII"),
        (f"{MARK}\u2028x", "non-ASCII"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_a_config_error_that_does_not_quote_it(key: str, flaw: str) -> None:
    with pytest.raises(StorageConfigError, match=flaw) as info:
        CacheServiceClient("http://127.0.0.1:1", api_key=key)
    assert MARK not in str(info.value) and not isinstance(info.value, TypeError)
    assert "printable ASCII" in str(info.value)  # the accepted form


def test_an_empty_key_given_explicitly_is_an_error_but_an_empty_env_var_means_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(StorageConfigError, match="empty"):
        CacheServiceClient("http://127.0.0.1:1", api_key=" \n")
    monkeypatch.setenv("PERF_STORAGE_API_KEY", "  \n")
    assert "api_key=none" in repr(CacheServiceClient("http://127.0.0.1:1"))
    monkeypatch.setenv("PERF_STORAGE_API_KEY", f"a{MARK}\nb")
    with pytest.raises(StorageConfigError, match="env PERF_STORAGE_API_KEY") as info:
        CacheServiceClient("http://127.0.0.1:1")
    assert MARK not in str(info.value)


def test_a_key_read_from_a_file_with_its_newline_works(cache_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = CacheServiceStorage("secrets", "file-key", url=cache_server.url, api_key=f"  {cache_server.api_key}\n")
    storage.save("k.json", {"ok": 1})
    assert storage.load("k.json") == {"ok": 1}
    storage.close()
    monkeypatch.setenv("PERF_STORAGE_API_KEY", cache_server.api_key + "\r\n")
    from_env = CacheServiceStorage("secrets", "file-key", url=cache_server.url)
    assert from_env.load("k.json") == {"ok": 1}
    from_env.close()


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (12, StorageConfigTypeError),
        (None, StorageConfigTypeError),
        ("x api key", StorageConfigError),
        ("x-api-key:", StorageConfigError),
        ("", StorageConfigError),
        ("x-äpi", StorageConfigError),
        ("Content-Type", StorageConfigError),
    ],
)
def test_the_key_header_is_checked(header: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="api_key_header"):
        CacheServiceClient("http://127.0.0.1:1", api_key_header=header)  # type: ignore[arg-type]


def test_the_key_header_is_stripped(cache_server: Any) -> None:
    client = CacheServiceClient(cache_server.url, api_key=cache_server.api_key, api_key_header=" x-api-key\n")
    assert client.api_key_header == "x-api-key" and client.health()
    client.close()


# ---- never in any output, whatever the path -----------------------------------------------------------------
def _echo_500(request: httpx.Request) -> httpx.Response:
    """A server that crashes and echoes the request (its headers, so the key) in its error body."""
    echoed = {"detail": "boom", "error": f"bad request {dict(request.headers)}", "message": str(request.headers)}
    return httpx.Response(500, json=echoed)


def _raising(cls: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise cls(f"failed while sending headers {list(request.headers.raw)}", request=request)

    return handler


def _mock(handler: Callable[[httpx.Request], httpx.Response], key: str, **options: Any) -> CacheServiceStorage:
    client = CacheServiceClient(
        "http://mock.test", api_key=key, transport=httpx.MockTransport(handler), timeout=2, retries=1, **options
    )
    return CacheServiceStorage("secrets", "t", client=client, owns_client=True)


Path = Callable[[str, Any], CacheServiceStorage]
PATHS: dict[str, Path] = {
    "refused": lambda key, server: CacheServiceStorage(
        "secrets", "t", url=f"http://127.0.0.1:{free_port()}", api_key=key, timeout=2, retries=0
    ),
    "401": lambda key, server: CacheServiceStorage("secrets", "t", url=server.url, api_key=key, timeout=5),
    "500-echoing-the-request": lambda key, server: _mock(_echo_500, key),
    "timeout-quoting-headers": lambda key, server: _mock(_raising(httpx.ReadTimeout), key),
    "protocol-error-quoting-headers": lambda key, server: _mock(_raising(httpx.LocalProtocolError), key),
    "reset-quoting-headers": lambda key, server: _mock(_raising(httpx.ReadError), key),
    "key-in-the-url-path": lambda key, server: CacheServiceStorage(
        "secrets", "t", url=f"http://127.0.0.1:{free_port()}{_in_path(key)}", api_key=key, timeout=2, retries=0
    ),
    "malformed-url-with-the-key": lambda key, server: CacheServiceStorage(
        "secrets", "t", url=f"http://127.0.0.1:99999/?api_key={key}", api_key=key
    ),
}
OPS: list[Callable[[CacheServiceStorage], Any]] = [
    lambda s: s.save("k.json", 1),
    lambda s: s.load("k.json"),
    lambda s: s.save_stream("k.bin", iter([b"x" * 10])),
    lambda s: s.check(),
]


def _in_path(key: str) -> str:
    """The key as a URL path (a user who pasted it there by mistake), when it can be one verbatim."""
    return f"/{key.strip()}" if re.fullmatch(r"[A-Za-z0-9._~-]+", key.strip()) else ""


def _texts(exc: BaseException) -> list[str]:
    """Everything a user, a notebook or a log could show of an exception: the whole formatted traceback chain."""
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.builds(lambda a, b: a + MARK + b, st.text(max_size=6), st.text(max_size=6)),
    path=st.sampled_from(sorted(PATHS)),
    op=st.integers(0, len(OPS) - 1),
)
def test_the_key_never_shows_whatever_the_path(
    key: str, path: str, op: int, cache_server: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.clear()
    caplog.set_level(logging.DEBUG)  # httpx/httpcore log requests, headers and failures at DEBUG
    seen: list[str] = []
    try:
        storage = PATHS[path](key, cache_server)
    except StorageConfigError as exc:
        seen += _texts(exc)
        assert not valid_key(key) or path in ("malformed-url-with-the-key", "key-in-the-url-path"), exc
    else:
        assert valid_key(key), "a key that cannot be sent as a header was accepted"
        seen += [repr(storage), repr(storage.client), repr(storage.client.http.auth), str(storage.to_config())]
        with pytest.raises(StorageError) as info:
            OPS[op](storage)
        seen += _texts(info.value)
        if path in ("refused", "key-in-the-url-path", "timeout-quoting-headers"):
            assert isinstance(info.value, StorageConnectionError)
        elif path == "401" and op != 3:
            assert isinstance(info.value, StorageAuthError)
        storage.close()
    out, err = capfd.readouterr()
    seen += [caplog.text, out, err, *(json.dumps(r.__dict__, default=str) for r in caplog.records)]
    forms = {MARK, key, key.strip()}
    leaks = [text for text in seen for form in forms if len(form) >= 4 and form in text]
    assert not leaks, f"the key leaked via the {path!r} path: {leaks[0][:500]}"


# ---- a hostile server: the key echoed in response headers (logged by httpcore at DEBUG) ----------------------
class _EchoHeaders(http.server.BaseHTTPRequestHandler):
    """Answers 401 and echoes every request header back, as headers and as the body."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        body = json.dumps({"message": f"you sent {dict(self.headers)}"}).encode()
        self.send_response(401)
        for name, value in self.headers.items():
            self.send_header(f"x-echo-{name}", value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_a_server_echoing_the_key_cannot_put_it_in_errors_or_debug_logs(
    echo_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = f"k-{MARK}-123"
    storage = CacheServiceStorage("secrets", "t", url=echo_server, api_key=key, timeout=5)
    with pytest.raises(StorageAuthError) as info:
        storage.check()
    assert any("x-echo-x-api-key" in r.getMessage() for r in caplog.records), "httpcore logged no response headers"
    assert "***" in caplog.text and "***" in str(info.value)  # the echoes were there, and redacted
    for text in [*_texts(info.value), caplog.text]:
        assert MARK not in text
    storage.close()


def test_the_dev_server_strips_and_checks_its_key_like_the_client() -> None:
    from perf_storage_nb.server import CacheServer

    assert CacheServer(api_key=f" {MARK}-key\n").api_key == f"{MARK}-key"  # what a client sends for the same file
    with pytest.raises(StorageConfigError) as info:
        CacheServer(api_key=f"{MARK}\nx")
    assert MARK not in str(info.value)
