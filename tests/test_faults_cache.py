"""Cache-service backend under faults: the real service killed mid-batch and restarted, 5xx bursts, resets,
timeouts, wrong or missing API keys, a server on the wrong port.

The server is always the real ``mgraph-ai-service-cache`` (in-process or a uvicorn process on 127.0.0.1).
``httpx.MockTransport`` is used only to inject faults in front of the real in-process app.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[server]')")

import a2wsgi  # noqa: E402
import httpx  # noqa: E402

from perf_storage_nb import StorageAuthError, StorageBackendError, StorageConnectionError, StorageError  # noqa: E402
from perf_storage_nb.backends.cache_service import CacheServiceStorage  # noqa: E402
from perf_storage_nb.cache_client import CacheServiceClient  # noqa: E402
from perf_storage_nb.server import CacheServer, build_app, free_port  # noqa: E402

Fault = int | str  # an HTTP status to answer, or "reset" / "timeout" / "connect" to raise


class FaultInjector:
    """A MockTransport handler in front of the real in-process app: pops one planned fault per request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.plan: list[Fault] = []
        self.only_host: str | None = None  # inject only into requests to this host (failover tests)
        self.hosts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if self.plan and (self.only_host is None or request.url.host == self.only_host):
            fault = self.plan.pop(0)
            if fault == "reset":
                raise httpx.ReadError("injected: connection reset by peer", request=request)
            if fault == "timeout":
                raise httpx.ReadTimeout("injected: read timed out", request=request)
            if fault == "connect":
                raise httpx.ConnectError("injected: connection refused", request=request)
            return httpx.Response(int(fault), json={"detail": "injected fault", "error": "", "stack_trace": "..."})
        return self.inner.handle_request(request)


@pytest.fixture(scope="module")
def app_transport() -> httpx.BaseTransport:
    return httpx.WSGITransport(app=a2wsgi.ASGIMiddleware(build_app()))


@pytest.fixture
def faults(app_transport: httpx.BaseTransport) -> FaultInjector:
    return FaultInjector(app_transport)


def _storage(
    faults: FaultInjector, *urls: str, timeout: float = 10.0, target: str | None = None
) -> CacheServiceStorage:
    client = CacheServiceClient(list(urls) or None, transport=httpx.MockTransport(faults), timeout=timeout, retries=3)
    return CacheServiceStorage("faults", target or f"t{secrets.token_hex(4)}", client=client)


# ---- retries --------------------------------------------------------------------------------------------
BURSTS: dict[str, list[Fault]] = {
    "503x3": [503, 503, 503],
    "500-502-504": [500, 502, 504],
    "reset-after-500": [500, "reset"],
    "resets": ["reset", "reset"],
    "refused": ["connect", "connect"],
}
OPS: dict[str, Callable[[CacheServiceStorage], Any]] = {
    "save": lambda s: s.save("doc.json", {"v": 2}),
    "load": lambda s: s.load("doc.json"),
    "save_string": lambda s: s.save_string("page.html", "<p>2</p>"),
    "exists": lambda s: s.exists("doc.json"),
    "list_keys": lambda s: s.list_keys(),
    "save_many": lambda s: s.save_many({f"m{i}.json": i for i in range(4)}).raise_for_errors(),
}


@pytest.mark.parametrize("burst", BURSTS, ids=list(BURSTS))
@pytest.mark.parametrize("op", OPS, ids=list(OPS))
def test_short_fault_bursts_are_absorbed_by_retries(faults: FaultInjector, burst: str, op: str) -> None:
    storage = _storage(faults)
    storage.save("doc.json", {"v": 1})
    faults.plan = list(BURSTS[burst])
    OPS[op](storage)  # no error reaches the caller
    assert faults.plan == [], "the injected faults were never hit"
    expected = {"v": 2} if op == "save" else {"v": 1}
    assert storage.load("doc.json") == expected
    if op == "save_many":
        assert storage.load_many([f"m{i}.json" for i in range(4)]).ok == {f"m{i}.json": i for i in range(4)}


def test_a_long_5xx_outage_is_reported_not_hidden(faults: FaultInjector) -> None:
    storage = _storage(faults, timeout=5.0)
    storage.save("doc.json", {"v": 1})
    faults.plan = [503] * 40
    with pytest.raises(StorageBackendError) as info:
        storage.save("doc.json", {"v": 2})
    assert "503" in str(info.value) and "Traceback" not in str(info.value)
    faults.plan = []
    assert storage.load("doc.json") == {"v": 1}  # the failed save changed nothing
    storage.save("doc.json", {"v": 3})  # and the storage works again once the server does
    assert storage.load("doc.json") == {"v": 3}


def test_bulk_reports_each_failed_item_and_a_resume_completes_them(faults: FaultInjector) -> None:
    storage = _storage(faults)
    storage.save("warm.json", 0)
    items = {f"batch/i{n:02d}.json": {"n": n} for n in range(12)}
    faults.plan = [503] * 200  # outage for the first part of the batch, then the server recovers
    result = storage.save_many(items)
    faults.plan = []
    assert set(result.ok) | set(result.errors) == set(items)
    assert result.errors, "the outage failed no item: the test injected nothing"
    assert all(isinstance(e, StorageError) for e in result.errors.values())
    resumed = storage.save_many({k: items[k] for k in result.failed}).raise_for_errors()
    assert set(resumed.ok) == set(result.failed)
    assert storage.load_many(items).ok == items  # acknowledged + resumed: nothing lost


def test_a_single_read_timeout_is_absorbed_by_a_retry(faults: FaultInjector) -> None:
    storage = _storage(faults)
    storage.save("doc.json", {"v": 1})
    faults.plan = ["timeout"]
    storage.save("doc.json", {"v": 2})
    assert storage.load("doc.json") == {"v": 2}


def test_read_timeouts_fail_over_to_another_replica(faults: FaultInjector) -> None:
    storage = _storage(faults, "http://replica-a.test", "http://replica-b.test")
    storage.save("doc.json", {"v": 1})
    faults.only_host, faults.plan = storage.client.url.split("//")[1], ["timeout"] * 5
    storage.save("doc.json", {"v": 2})
    assert storage.load("doc.json") == {"v": 2}
    assert len(faults.plan) == 4, "exactly one timeout on replica a, then every call went to replica b"
    assert storage.client.url == "http://replica-b.test"


# ---- the real server killed during a batch, then restarted -------------------------------------------------
def _kill(server: CacheServer) -> None:
    """SIGKILL the uvicorn process (no graceful shutdown), then let the helper clean up its log."""
    server.kill()
    server.stop()


def _data_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*.json") if "/data/" in str(p))


@pytest.mark.slow
def test_server_killed_and_restarted_during_a_batch(tmp_path: Path) -> None:
    """local_disk mode: kill -9 mid-batch; failed items are reported, a resume completes them, nothing is lost."""
    api_key, port, disk = secrets.token_urlsafe(16), free_port(), tmp_path / "cache"
    server = CacheServer(mode="local_disk", port=port, path=disk, api_key=api_key)
    server.start()
    restarted: CacheServer | None = None
    try:
        storage = CacheServiceStorage("faults", "batch", url=server.url, api_key=api_key, timeout=3.0, retries=1)
        items = {f"items/i{n:03d}.json": {"n": n, "pad": "x" * 200} for n in range(400)}
        keys = list(items)
        acknowledged = storage.save_many({k: items[k] for k in keys[:50]}).raise_for_errors()
        box: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: box.update(result=storage.save_many({k: items[k] for k in keys[50:]})))
        base = _data_files(disk)
        worker.start()
        deadline = time.monotonic() + 30
        while _data_files(disk) < base + 40 and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.01)  # kill once the batch is well under way
        _kill(server)
        worker.join(timeout=120)
        assert not worker.is_alive()
        result = box["result"]
        assert result.errors, "the kill landed after the batch had finished: nothing was interrupted"
        assert result.ok, "the kill landed before the batch started"
        assert all(isinstance(e, StorageConnectionError) for e in result.errors.values())

        restarted = CacheServer(mode="local_disk", port=port, path=disk, api_key=api_key)
        restarted.start()
        resumed = storage.save_many({k: items[k] for k in result.failed}).raise_for_errors()
        assert sorted(resumed.ok) == result.failed

        fresh = CacheServiceStorage("faults", "batch", url=restarted.url, api_key=api_key)
        back = fresh.load_many(keys)
        assert back.errors == {}
        lost = [k for k in [*acknowledged.ok, *result.ok] if back.ok[k] != items[k]]
        assert lost == []  # nothing acknowledged before the kill was lost
        assert back.ok == items  # and after the resume every item is there
    finally:
        for s in (server, restarted):
            if s is not None:
                s.stop()


# ---- API keys ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keyed_server() -> Iterator[CacheServer]:
    server = CacheServer(mode="memory", api_key="right-" + secrets.token_hex(12))
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("given_key", ["wrong-" + secrets.token_hex(12), None], ids=["wrong-key", "missing-key"])
def test_wrong_or_missing_api_key_is_a_clear_auth_error(
    keyed_server: CacheServer, given_key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERF_STORAGE_API_KEY", raising=False)
    storage = CacheServiceStorage("faults", "auth", url=keyed_server.url, api_key=given_key, timeout=5.0)
    with pytest.raises(StorageAuthError) as info:
        storage.save("doc.json", {"v": 1})
    message = str(info.value)
    assert isinstance(info.value, PermissionError)
    assert "API key" in message and keyed_server.url in message
    assert keyed_server.api_key not in message and (given_key is None or given_key not in message)
    assert keyed_server.api_key not in repr(storage) + repr(storage.client) + str(storage.to_config())
    good = CacheServiceStorage("faults", "auth", url=keyed_server.url, api_key=keyed_server.api_key)
    assert good.load("doc.json") is None  # the refused save wrote nothing


# ---- wrong port -------------------------------------------------------------------------------------------
def test_nothing_listening_on_the_port_is_a_clear_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    storage = CacheServiceStorage("faults", "port", url=url, timeout=2.0, retries=1)
    with pytest.raises(StorageConnectionError) as info:
        storage.save("doc.json", {"v": 1})
    assert url in str(info.value) and isinstance(info.value, ConnectionError)
    with pytest.raises(StorageConnectionError):
        storage.load("doc.json")


class _NotTheCacheService(http.server.BaseHTTPRequestHandler):
    """Some other web server on the port: answers 404 HTML to everything."""

    def _answer(self) -> None:
        body = b"<html><body>not here</body></html>"
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(404)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = _answer  # noqa: N815 - the names http.server dispatches to

    def log_message(self, *args: Any) -> None:
        pass


def test_another_web_server_on_the_port_is_a_clear_error() -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTheCacheService)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        storage = CacheServiceStorage("faults", "port", url=url, timeout=5.0)
        with pytest.raises(StorageError) as info:
            storage.save("doc.json", {"v": 1})
        assert url in str(info.value) and "404" in str(info.value)
        assert "does not look like the MGraph-AI Cache Service" in str(info.value)
        assert "Traceback" not in str(info.value)
        with pytest.raises(StorageError, match="does not look like"):
            storage.load("doc.json")  # a read too: its 404 page is not the service's "missing"
    finally:
        httpd.shutdown()
        httpd.server_close()
