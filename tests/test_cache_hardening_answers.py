"""A URL that is not the cache service (issue 11, item 6) and ``check()`` (``%storage use`` and the CLI call it).

Another web server on 127.0.0.1 answering 200 with a web page, plain text or JSON of another shape used to give
a raw JSONDecodeError (or KeyError) on every call; now the first call says the URL does not look like the
MGraph-AI Cache Service, quotes at most a short excerpt, and a storage on the right URL works at once.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import StorageAuthError, StorageBackendError, StorageConnectionError, StorageError
from perf_storage_nb.backends.cache_service import CacheServiceClient, CacheServiceStorage
from perf_storage_nb.server import free_port

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")

NOT_SERVICE = "does not look like the MGraph-AI Cache Service"
#: deep inside every body: an error that shows it dumped the body wholesale
BURIED = "BURIED-IN-THE-BODY"
PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"
    + b"<p>Please sign in.</p>" * 40
    + BURIED.encode()
    + b"</body></html>"
)

#: name -> (status, content type, body) the other server answers to every request
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "html-page": (200, "text/html; charset=utf-8", PAGE),
    "plain-text": (200, "text/plain", b"it works!\n" * 30 + BURIED.encode()),
    "json-of-another-shape": (
        200,
        "application/json",
        b'{"hello": "world", "pad": "' + b"x" * 300 + BURIED.encode() + b'"}',
    ),
    "json-array": (200, "application/json", b'["' + BURIED.encode() + b'"]'),
    "json-null": (200, "application/json", b"null"),
    "html-404": (404, "text/html", PAGE),
    "html-405": (405, "text/html", PAGE),
}


class _OtherServer(http.server.BaseHTTPRequestHandler):
    """Some other web server on the port: the same answer to every request."""

    answer: ClassVar[tuple[int, str, bytes]] = ANSWERS["html-page"]

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 - the names http.server dispatches to

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(params=sorted(ANSWERS))
def other_server(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_OtherServer,), {"answer": ANSWERS[request.param]})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


CALLS = {
    "check": lambda s: s.check(),
    "save": lambda s: s.save("doc.json", {"v": 1}),
    "load": lambda s: s.load("doc.json"),
    "save_string": lambda s: s.save_string("page.html", "<p>x</p>"),
    "load_bytes": lambda s: s.load_bytes("a.bin"),
    "exists": lambda s: s.exists("doc.json"),
    "info": lambda s: s.info("doc.json"),
    "list_keys": lambda s: s.list_keys(),
    "delete": lambda s: s.delete("doc.json"),
    "sessions": lambda s: s.sessions(),
    "client.load": lambda s: s.client.load("s", "t", "doc.json"),
}


def test_a_url_that_is_not_the_cache_service_fails_clearly_on_the_first_call(
    other_server: str, cache_server: Any
) -> None:
    for name, call in CALLS.items():
        storage = CacheServiceStorage("other", "t", url=other_server, api_key="some-key-123", timeout=5, retries=1)
        with pytest.raises(StorageBackendError) as info:
            call(storage)
        message = str(info.value)
        assert NOT_SERVICE in message and other_server in message, f"{name}: {message}"
        assert BURIED not in message and len(message) < 700, f"{name} dumped the body: {message}"
        assert "check the URL" in message and "some-key-123" not in message
        assert not isinstance(info.value, StorageConnectionError)  # the server is up: it is the wrong one
        storage.close()
    # the URL fixed (a new storage): everything works at once, in the same process
    fixed = CacheServiceStorage("other", "t", url=cache_server.url, api_key=cache_server.api_key)
    fixed.check()
    fixed.save("doc.json", {"v": 1})
    assert fixed.load("doc.json") == {"v": 1}
    fixed.close()


@settings(max_examples=150, deadline=None)
@given(
    status=st.sampled_from([200, 404]),
    content_type=st.sampled_from(["text/html", "text/plain", "application/json", ""]),
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=80).map(str.encode),
        st.sampled_from([b"{}", b"[]", b'{"cache_id": 5}', b'{"cache_id": "../x"}', b'{"files": "no"}', b"1e999"]),
    ),
)
def test_any_answer_is_a_storage_error_never_a_raw_one(status: int, content_type: str, body: bytes) -> None:
    # The space of answers the wrong server may give: whatever it is, every call ends in a StorageError (or, for
    # a 404 the real service would give too - empty or JSON - in "missing").
    headers = {"content-type": content_type} if content_type else {}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    client = CacheServiceClient("http://mock.test", transport=httpx.MockTransport(answer), retries=0)
    storage = CacheServiceStorage("s", "t", client=client, owns_client=True)
    for name, call in CALLS.items():
        try:
            call(storage)
        except StorageError as exc:
            assert len(str(exc)) < 800, f"{name}: {exc}"
        except Exception as exc:  # noqa: BLE001 - the property under test: nothing else escapes
            pytest.fail(f"{name} raised a raw {type(exc).__name__}: {exc}")
    storage.close()


# ---- check() --------------------------------------------------------------------------------------------------
class Counter:
    def __init__(self, client: CacheServiceClient) -> None:
        self.paths: list[str] = []
        client.http.event_hooks["request"].append(lambda r: self.paths.append(f"{r.method} {r.url.path}"))


def test_check_is_one_request_and_passes_on_the_real_service(cache_server: Any, cache_service_transport: Any) -> None:
    storage = CacheServiceStorage("check", "t", url=cache_server.url, api_key=cache_server.api_key)
    count = Counter(storage.client)
    assert storage.check() is None
    assert count.paths == ["GET /server/storage/info"]
    assert storage.client.can_list() and len(count.paths) == 1  # the storage mode it learned is remembered
    storage.close()
    inprocess = CacheServiceStorage("check", "t", client=CacheServiceClient(transport=cache_service_transport))
    inprocess.check()
    inprocess.close()


@pytest.mark.parametrize("key", [None, "wrong-key-abcdef"], ids=["missing-key", "wrong-key"])
def test_check_without_the_right_key_is_an_auth_error(
    cache_server: Any, key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERF_STORAGE_API_KEY", raising=False)
    storage = CacheServiceStorage("check", "t", url=cache_server.url, api_key=key)
    with pytest.raises(StorageAuthError, match="API key is missing or wrong") as info:
        storage.check()
    assert cache_server.url in str(info.value) and cache_server.api_key not in str(info.value)
    storage.close()


def test_check_of_a_dead_server_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    storage = CacheServiceStorage("check", "t", url=url, timeout=2, retries=1)
    with pytest.raises(StorageConnectionError, match="cannot connect") as info:
        storage.check()
    assert url in str(info.value)
    storage.close()


def test_check_of_another_json_service_without_the_route(cache_server: Any) -> None:
    # Another FastAPI app answers {"detail": "Not Found"} - JSON, like the cache service's own 404s.
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    client = CacheServiceClient("http://other.test", transport=httpx.MockTransport(answer))
    with pytest.raises(StorageBackendError, match=NOT_SERVICE) as info:
        CacheServiceStorage("check", "t", client=client).check()
    assert "no such route" in str(info.value) and "http://other.test" in str(info.value)
    client.close()
