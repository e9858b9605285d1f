"""CacheServiceClient: key encoding, the error seam, retries and failover, direct access (DESIGN.md §4).

Real service in-process and over uvicorn; httpx.MockTransport only for faults the real server cannot
produce on demand (timeouts, 5xx bursts, connection resets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from perf_storage_nb import (
    StorageAuthError,
    StorageBackendError,
    StorageConfigError,
    StorageConnectionError,
    StorageNameError,
)
from perf_storage_nb.backends.cache_service import CacheServiceStorage
from perf_storage_nb.cache_client import CacheServiceClient
from perf_storage_nb.cache_keys import decode_segment, encode_segment, join_key, key_hash, split_key, target_cache_key
from perf_storage_nb.server import free_port

_n = iter(range(10**6))


def fresh(prefix: str = "c") -> str:
    return f"{prefix}{next(_n)}"


@pytest.fixture
def client(cache_service_transport: httpx.BaseTransport) -> Iterator[CacheServiceClient]:
    c = CacheServiceClient(transport=cache_service_transport, namespace="client-tests")
    yield c
    c.close()


# ---- key mapping -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "segment", ["a", "A-b_c", "x_", "_a", "a.b", "a..b", "a.", "__x", "_", "__", "a_.b", "-", "v1.2.3"]
)
def test_segments_round_trip_and_are_server_safe(segment: str) -> None:
    name = encode_segment(segment)
    assert decode_segment(name) == segment
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in name)  # nothing the server would rewrite
    assert name.strip("_")  # never only underscores (the server refuses such a folder)


def test_plain_segments_map_one_to_one_and_dots_do_not_collide() -> None:
    assert encode_segment("results") == "results" and encode_segment("node_stats") == "node_stats"
    # The server turns 'a.b' into 'a_b': our names for the two keys must differ.
    assert encode_segment("a.b") != encode_segment("a_b")
    assert split_key("results/metrics.json") == ("results", "__metrics_djson")
    assert join_key("results", "__metrics_djson") == "results/metrics.json"
    assert join_key("", "f_dot") == "f_dot"
    assert join_key("", "__bad_x") is None and join_key("with space", "f") is None  # not ours: not listed


def test_encoded_name_over_the_server_limit_is_refused_up_front() -> None:
    with pytest.raises(StorageNameError, match="at most 128"):
        split_key("dir/" + "a." * 45 + "x")


def test_entry_hash_is_computed_client_side(client: CacheServiceClient) -> None:
    cache_key = target_cache_key("store_test", "default")
    assert key_hash(cache_key) == "f850dd9eec32fadf"  # pinned by the original implementation's tests
    cache_id = client.create_entry(cache_key)
    assert client.cache_id_for_key(cache_key) == cache_id
    assert client.cache_id_for_hash(hashlib.sha256(cache_key.encode()).hexdigest()[:16]) == cache_id
    versions = client.entry_versions(key_hash(cache_key))
    assert versions is not None and versions["latest_id"] == cache_id
    refs = client.entry_refs(cache_id)
    assert refs is not None and any("perf-entry/data" in p for p in refs["file_paths"]["data_folders"])


def test_child_data_routes(client: CacheServiceClient) -> None:
    cache_id = client.create_entry(target_cache_key(fresh("s"), "t"))
    assert client.store_data(cache_id, "json", "L1", "meta", b'{"a":1}')
    assert client.store_data(cache_id, "string", "L1", "html", "<b>hé</b>".encode())
    assert client.store_data(cache_id, "binary", "", "blob", b"\x00\xff")
    assert client.retrieve_data(cache_id, "json", "L1", "meta") == b'{"a":1}'
    assert client.retrieve_data(cache_id, "string", "L1", "html") == "<b>hé</b>".encode()
    assert client.retrieve_data(cache_id, "binary", "", "blob") == b"\x00\xff"
    assert client.retrieve_data(cache_id, "binary", "", "nope") is None
    assert client.data_exists(cache_id, "json", "L1", "meta") and not client.data_exists(
        cache_id, "string", "L1", "meta"
    )
    files = client.list_data(cache_id)
    assert files is not None and sorted((f.data_key, f.file_id, f.kind) for f in files) == [
        ("", "blob", "bytes"),
        ("L1", "html", "text"),
        ("L1", "meta", "json"),
    ]
    assert client.delete_data(cache_id, "json", "L1", "meta") and not client.delete_data(cache_id, "json", "L1", "meta")
    assert client.delete_all_data(cache_id) == 2
    assert client.delete_entry(cache_id) and not client.delete_entry(cache_id)
    assert client.list_data(cache_id) is None  # unknown entry: None, not []


def test_server_info_routes(client: CacheServiceClient) -> None:
    assert client.health()
    assert client.info()["name"] == "mgraph_ai_service_cache"
    assert client.storage_mode() == "memory" and client.can_list()
    assert "mgraph_ai_service_cache" in client.versions()


# ---- direct access -----------------------------------------------------------------------------------------
def test_cross_session_load_and_bulk_queries(client: CacheServiceClient) -> None:
    session = fresh("base")
    for t in ("item_001", "item_002"):
        s = CacheServiceStorage(session, t, client=client, namespace=client.namespace)
        s.save("results/metrics.json", {"t": t})
        s.save_string("report.md", f"# {t}")
    assert client.load(session, "item_001", "results/metrics.json") == {"t": "item_001"}
    assert client.load(session, "item_002", "report.md") == "# item_002"
    assert client.load(session, "nope", "report.md", "dflt") == "dflt"
    got = client.bulk_load(
        [
            (session, "item_001", "report.md"),
            (session, "item_002", "results/metrics.json"),
            (session, "item_003", "report.md"),
        ]
    )
    assert list(got.values()) == ["# item_001", {"t": "item_002"}, None]
    assert client.bulk_keys(session, ["item_001", "item_003"]) == {
        "item_001": ["report.md", "results/metrics.json"],
        "item_003": [],
    }
    assert client.targets(session) == ["item_001", "item_002"] and session in client.sessions()


def test_content_de_duplication_is_one_request(client: CacheServiceClient) -> None:
    page = f"<html>{fresh('page')}</html>"
    assert not client.content_seen(page)
    client.mark_processed(page, {"target": "item_7"})
    calls: list[str] = []
    client.http.event_hooks["request"].append(lambda r: calls.append(r.url.path))
    assert client.content_seen(page) and client.processed_info(page) == {"target": "item_7"}
    assert len(calls) == 2  # one request each
    assert not client.content_seen(page + " ")
    assert client.content_seen({"b": 1, "a": [1]}) is False
    client.mark_processed({"a": [1], "b": 1})
    assert client.content_seen({"b": 1, "a": [1]})  # JSON content is compared in canonical form


def test_entry_by_hash_and_raw_inspection(client: CacheServiceClient) -> None:
    session = fresh("dbg")
    s = CacheServiceStorage(session, "t", client=client, namespace=client.namespace)
    s.save("a.json", {"x": 1})
    entry = client.entry_by_hash(key_hash(s.cache_key))
    assert entry is not None and entry["data"]["cache_key"] == s.cache_key
    raw = client.inspect_target(session, "t")
    assert raw["cache_id"] == s.cache_id and raw["cache_hash"] == key_hash(s.cache_key)
    assert any(p.endswith("perf-entry/data/__a_djson.json") for p in raw["raw_files"])
    stored = client.raw_file_bytes(next(p for p in raw["raw_files"] if p.endswith("__a_djson.json")))
    assert stored is not None and b'"x": 1' in stored  # the server keeps JSON pretty-printed
    assert client.raw_file_bytes(f"{client.namespace}/nothing.json") is None
    assert client.namespace in client.namespaces() and client.cache_ids() and client.cache_hashes()
    with pytest.raises(StorageNameError):
        client.raw_files("../etc")
    with pytest.raises(StorageNameError):
        client.cache_id_for_hash("NOT-HEX")


# ---- configuration and secrets -----------------------------------------------------------------------------
def test_config_errors_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERF_STORAGE_URL", raising=False)
    with pytest.raises(StorageConfigError, match="PERF_STORAGE_URL"):
        CacheServiceClient()
    with pytest.raises(StorageConfigError, match="http"):
        CacheServiceClient("ftp://x")
    with pytest.raises(StorageNameError, match="namespace"):
        CacheServiceClient("http://127.0.0.1:1", namespace="a.b")
    with pytest.raises(StorageConfigError, match="timeout"):
        CacheServiceClient("http://127.0.0.1:1", timeout=0)
    c = CacheServiceClient(" http://a:1/ , http://b:2", api_key="s3cr3t-value")
    assert c.urls == ("http://a:1", "http://b:2")
    assert "s3cr3t" not in repr(c) and "api_key=set" in repr(c)
    assert "s3cr3t" not in repr(c.http.headers) and "s3cr3t" not in repr(c.http.auth)


def test_api_key_from_env_never_shown(cache_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERF_STORAGE_API_KEY", cache_server.api_key)
    storage = CacheServiceStorage(fresh("env"), "t", url=cache_server.url)
    try:
        storage.save("k", 1)
        assert storage.load("k") == 1
        text = repr(storage) + repr(storage.client) + str(storage.to_config()) + storage._repr_html_()
        assert cache_server.api_key not in text
    finally:
        storage.close()


# ---- the error seam against the real server ---------------------------------------------------------------
def test_wrong_or_missing_api_key_is_a_clear_auth_error(cache_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERF_STORAGE_API_KEY", raising=False)
    for key in ("wrong-key", None):
        storage = CacheServiceStorage(fresh("auth"), "t", url=cache_server.url, api_key=key)
        with pytest.raises(StorageAuthError) as err:
            storage.save("k", 1)
        message = str(err.value)
        assert "API key is missing or wrong" in message and cache_server.url in message and "x-api-key" in message
        assert isinstance(err.value, PermissionError)
        assert cache_server.api_key not in message and "wrong-key" not in message
        storage.close()


def test_server_down_is_a_connection_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    storage = CacheServiceStorage("s", "t", url=url, timeout=3, retries=1)
    with pytest.raises(StorageConnectionError) as err:
        storage.save("k", 1)
    assert url in str(err.value) and "perf-storage serve" in str(err.value)
    assert isinstance(err.value, ConnectionError) and isinstance(err.value.__cause__, httpx.ConnectError)
    storage.close()


def test_failover_to_a_live_replica(cache_server: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = CacheServiceClient(f"{dead},{cache_server.url}", api_key=cache_server.api_key, namespace="failover")
    try:
        storage = CacheServiceStorage(fresh("fo"), "t", client=client, namespace="failover")
        storage.save("k", {"v": 1})
        assert storage.load("k") == {"v": 1}
        assert client.url == cache_server.url  # stays on the replica that answered
    finally:
        client.close()


def test_server_validation_errors_are_backend_errors(client: CacheServiceClient) -> None:
    cache_id = client.create_entry(target_cache_key(fresh("v"), "t"))
    with pytest.raises(StorageBackendError, match="400") as err:
        client.store_data(cache_id, "json", "", "k", b"[1, 2]")  # the server only takes objects
    assert "stack_trace" not in str(err.value) and "Traceback" not in str(err.value)


# ---- faults the real server cannot produce on demand (MockTransport) --------------------------------------
def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> CacheServiceClient:
    return CacheServiceClient("http://mock:1", transport=httpx.MockTransport(handler), **options)


def test_reset_after_a_500_is_retried_once() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        return httpx.Response(200, json={"exists": True})

    c = mock_client(handler)
    assert c.data_exists("00000000-0000-0000-0000-000000000000", "json", "", "k")
    assert len(calls) == 2


def test_5xx_burst_is_retried_then_reported() -> None:
    calls: list[int] = []

    def burst(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) <= 2 else 200, json={"status": "ok"})

    assert mock_client(burst).health() and len(calls) == 3
    always: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        always.append(1)
        return httpx.Response(
            500, json={"detail": "An unexpected error occurred.", "error": "boom", "stack_trace": "Traceback..."}
        )

    with pytest.raises(StorageBackendError, match="500") as err:
        mock_client(down, retries=2).health()
    assert len(always) == 3 and "Traceback" not in str(err.value) and "boom" in str(err.value)


def test_streamed_uploads_are_never_replayed() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("reset", request=request)

    with pytest.raises(StorageConnectionError):
        mock_client(handler).store_data("00000000-0000-0000-0000-000000000000", "binary", "", "k", iter([b"a", b"b"]))
    assert len(calls) == 1


def test_timeout_is_a_connection_error_naming_url_and_seconds() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(StorageConnectionError, match=r"http://mock:1 did not answer .* within 2 s"):
        mock_client(handler, timeout=2).health()


def test_timeout_fails_over_to_the_next_url() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "slow":
            raise httpx.ConnectTimeout("timed out", request=request)
        return httpx.Response(200, json={"status": "ok"})

    c = CacheServiceClient("http://slow:1,http://fast:2", transport=httpx.MockTransport(handler))
    assert c.health() and seen == ["slow", "fast"] and c.url == "http://fast:2"
    assert c.health() and seen[-1] == "fast"


# ---- review fixes: URLs, namespaces, client ownership, pooled connections ---------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport", ["http://127.0.0.1:1", None], "ftp://x", "http://", 5])
def test_bad_urls_are_config_errors_naming_the_accepted_form(url: Any) -> None:
    with pytest.raises(StorageConfigError, match=r"http://host:port"):
        CacheServiceClient(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw-s3cr3t@127.0.0.1:1",
        "http://a:1,https://user:pw-s3cr3t@b:2",
        "http://user:pw-s3cr3t@host:notaport",
    ],
)
def test_credentials_in_urls_are_refused_and_never_shown(url: str) -> None:
    with pytest.raises(StorageConfigError) as err:
        CacheServiceStorage("s", "t", url=url)
    assert "pw-s3cr3t" not in str(err.value) and "user" not in str(err.value)
    if "notaport" not in url:
        assert "api_key" in str(err.value)


def test_storage_namespace_defaults_to_its_clients(cache_service_transport: httpx.BaseTransport) -> None:
    c = CacheServiceClient(transport=cache_service_transport, namespace="ns-of-client")
    s = CacheServiceStorage(fresh("ns"), "t", client=c)
    assert s.namespace == "ns-of-client" and s.to_config()["namespace"] == "ns-of-client"
    s.save("k", 1)
    assert c.load(s.session_id, "t", "k") == 1  # the client's own namespace holds it
    assert CacheServiceStorage("s", "t", url="http://127.0.0.1:1").namespace == "perf-results"
    assert CacheServiceStorage("s", "t", client=c, namespace="other").namespace == "other"
    c.close()


def test_owns_client_decides_whether_close_closes_the_client(cache_service_transport: httpx.BaseTransport) -> None:
    c = CacheServiceClient(transport=cache_service_transport)
    CacheServiceStorage("s", "t", client=c).close()
    assert not c.http.is_closed  # a client passed in is the caller's
    CacheServiceStorage("s", "t", client=c, owns_client=True).close()
    assert c.http.is_closed


def test_in_process_config_cannot_be_rebuilt() -> None:
    from perf_storage_nb import create_storage
    from perf_storage_nb.server import client_cache_service

    storage = client_cache_service(fresh("inproc"), "t")
    config = storage.to_config()
    with pytest.raises(StorageConfigError, match="in-process .*client_cache_service"):
        create_storage(config)
    storage.close()
    assert storage.client.http.is_closed


def test_abandoned_byte_iterators_return_their_connections(cache_server: Any) -> None:
    client = cache_server.client(namespace="iter", max_connections=2, timeout=2)
    storage = CacheServiceStorage(fresh("it"), "t", client=client)
    blob = bytes(range(256)) * 64
    try:
        storage.save_bytes("blob.bin", blob)
        for _ in range(6):  # three times the pool: never started, and half read, then dropped
            storage.iter_bytes("blob.bin", 1024)
            it = storage.iter_bytes("blob.bin", 1024)
            assert len(next(it)) == 1024
            del it
        assert storage.load_bytes("blob.bin") == blob  # the pool still has connections
        for _ in range(3):
            with storage.iter_bytes("blob.bin", 1024) as it2:  # type: ignore[attr-defined]
                next(it2)
            it3 = storage.iter_bytes("blob.bin", 1024)
            it3.close()  # type: ignore[attr-defined]
            assert list(it3) == []
        assert b"".join(storage.iter_bytes("blob.bin", 1000)) == blob
    finally:
        client.close()


def test_pool_exhaustion_is_its_own_error_and_never_fails_over(cache_server: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = CacheServiceClient(
        f"{cache_server.url},{dead}", api_key=cache_server.api_key, namespace="pool", max_connections=2, timeout=1
    )
    storage = CacheServiceStorage(fresh("pool"), "t", client=client)
    try:
        storage.save_bytes("b.bin", b"x" * 5000)
        held = [storage.iter_bytes("b.bin", 100) for _ in range(2)]  # both pooled connections in use
        with pytest.raises(StorageBackendError, match="no free connection in this client's pool of 2") as err:
            storage.load_bytes("b.bin")
        assert not isinstance(err.value, StorageConnectionError)  # not "the server did not answer"
        assert client.url == cache_server.url  # no fail-over to the other replica
        for it in held:
            it.close()  # type: ignore[attr-defined]
        assert storage.load_bytes("b.bin") == b"x" * 5000
    finally:
        client.close()


def test_old_import_paths_re_export_the_subpackage() -> None:
    import perf_storage_nb.backends.cache_service as package
    import perf_storage_nb.backends.cache_service.process as process
    import perf_storage_nb.cache_client as cache_client
    import perf_storage_nb.cache_keys as cache_keys
    import perf_storage_nb.server as server

    assert cache_client.CacheServiceClient is package.CacheServiceClient
    assert cache_client.TargetState is package.TargetState and cache_client.key_hash is package.key_hash
    assert cache_keys.split_key is package.names.split_key
    assert server.client_cache_service is package.client_cache_service and server.CacheServer is process.CacheServer
    assert server._Process is process._Process
    assert process.APP_FACTORY == "perf_storage_nb.backends.cache_service.inprocess:create_app"
    for module in (cache_client, cache_keys, server):  # shims: imports and __all__ only
        assert all(hasattr(module, name) for name in module.__all__)
