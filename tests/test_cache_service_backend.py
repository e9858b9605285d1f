"""CacheServiceStorage beyond the shared contract: request counts, no read side effects, interop with other
consumers of the service, deletion that leaves nothing behind, storage modes without listing, config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from perf_storage_nb import (
    StorageBackendError,
    StorageKeyError,
    StorageKindError,
    StorageNameError,
    StorageNotSupported,
    create_storage,
)
from perf_storage_nb.backends.cache_service import EMPTY_BYTES, CacheServiceStorage
from perf_storage_nb.cache_client import CacheServiceClient
from perf_storage_nb.cache_keys import key_hash

_n = iter(range(10**6))


def fresh() -> str:
    return f"b{next(_n)}"


class Counter:
    """Counts the HTTP requests a client sends (an httpx event hook)."""

    def __init__(self, client: CacheServiceClient) -> None:
        self.paths: list[str] = []
        client.http.event_hooks["request"].append(
            lambda request: self.paths.append(f"{request.method} {request.url.path}")
        )

    def take(self) -> list[str]:
        paths, self.paths = self.paths, []
        return paths


@pytest.fixture(params=["inprocess", "http"])
def storage(request: pytest.FixtureRequest) -> Iterator[CacheServiceStorage]:
    if request.param == "inprocess":
        client = CacheServiceClient(
            transport=request.getfixturevalue("cache_service_transport"), namespace="backend-tests"
        )
    else:
        server = request.getfixturevalue("cache_server")
        client = server.client(namespace="backend-tests")
    s = CacheServiceStorage(fresh(), "t1", namespace="backend-tests", client=client)
    yield s
    client.close()


def test_one_request_per_save_load_exists_in_steady_state(storage: CacheServiceStorage) -> None:
    count = Counter(storage.client)
    storage.save("warm/up.json", {"i": 0})  # resolves (and creates) the entry once
    assert len(count.take()) == 3  # hash lookup + create + the store; a fresh entry needs no listing
    for i in range(5):
        storage.save(f"docs/doc_{i}.json", {"i": i})
        storage.save_string(f"pages/p{i}.html", "<p>x</p>")
    assert len(count.take()) == 10
    for i in range(5):
        assert storage.load(f"docs/doc_{i}.json") == {"i": i}
        assert storage.exists(f"pages/p{i}.html")
        assert storage.load_string(f"pages/p{i}.html") == "<p>x</p>"
    assert len(count.take()) == 15
    storage.save("docs/doc_0.json", {"again": True})  # overwrite, same kind: the verified 'update' route
    assert len(count.take()) == 1
    assert storage.delete("docs/doc_1.json")
    assert len(count.take()) == 3  # every kind at once (concurrently): nothing survives in another kind
    # The original looked the entry up before every call: at least 2 requests per operation.


def test_second_storage_on_an_existing_target_lists_once_and_resaves_in_one_request(
    storage: CacheServiceStorage,
) -> None:
    storage.save("a", 1)
    other = CacheServiceStorage(
        storage.session_id, storage.target_id, namespace=storage.namespace, client=second_client(storage)
    )
    count = Counter(other.client)
    other.save("b", 2)
    paths = count.take()  # hash lookup, storage mode (once per client), one listing, the store, 2 other kinds
    assert [p.split()[0] for p in paths] == ["GET", "GET", "GET", "POST", "DELETE", "DELETE"]
    assert paths[1] == "GET /server/storage/info"
    for i in range(3):  # new keys in an entry someone else created: store + drop the two other kinds
        other.save(f"c{i}", i)
    assert len(count.take()) == 9
    other.save("a", 5)  # listed as json: the 'update' route proves no other kind is there
    assert [p.split("/data/")[1].split("/")[0] for p in count.take()] == ["update"]
    other.save_string("a", "now text")  # a kind change: store, then drop json and binary at once
    assert len(count.take()) == 3
    assert storage.load_string("a") == "now text"
    with pytest.raises(StorageKindError, match="load_string"):
        storage.load("a")


def second_client(storage: CacheServiceStorage) -> CacheServiceClient:
    """Another client (own kind map, as another create_storage or process has) on the same server."""
    return CacheServiceClient(
        storage.client.urls[0],
        transport=storage.client.http._transport,
        api_key=_key_of(storage),
        namespace=storage.namespace,
    )


def files_of(storage: CacheServiceStorage, key: str) -> list[str]:
    """What the server holds for ``key`` (every data type), read with a raw listing."""
    cache_id = storage.client.cache_id_for_key(storage.cache_key, namespace=storage.namespace)
    files = storage.client.list_data(cache_id, namespace=storage.namespace) if cache_id else []
    return sorted(f.data_type for f in files or [] if f.key == key)


def test_two_clients_changing_kinds_keep_one_value_per_key(storage: CacheServiceStorage) -> None:
    a = storage  # created the entry: its kind map is complete for its own keys
    b = CacheServiceStorage(a.session_id, a.target_id, namespace=a.namespace, client=second_client(a))
    a.save("k", {"v": 1})
    b.save_string("k", "from b")  # b's store drops the json a wrote
    assert files_of(a, "k") == ["string"]
    a.save("k", {"v": 2})  # a's map still says json: the update route answers 404, so a stores and cleans up
    assert files_of(a, "k") == ["json"]
    assert b.load("k") == {"v": 2} and a.load_any("k") == {"v": 2}
    with pytest.raises(StorageKindError):
        b.load_string("k")
    b.save_bytes("k", b"\x01")  # b now believes 'k' is json (it read it): store bytes, drop json and text
    a.save_string("k", "from a")  # a believes json: store text, drop json and bytes
    assert files_of(a, "k") == ["string"] and b.load_string("k") == "from a"
    assert b.delete("k")  # b believes bytes: delete removes every kind anyway
    assert files_of(a, "k") == [] and not a.exists("k") and a.load_any("k") is None
    b.client.close()


def test_delete_removes_every_kind_left_behind(storage: CacheServiceStorage) -> None:
    storage.save("k", {"v": 1})
    # another consumer of the service (not keeping our rule) writes the same name as text
    storage.client.store_data(storage.cache_id, "string", "", "k", b"raw")  # type: ignore[arg-type]
    assert files_of(storage, "k") == ["json", "string"]
    assert storage.delete("k") and files_of(storage, "k") == []


def test_a_write_during_a_listing_stays_in_the_kind_map(storage: CacheServiceStorage) -> None:
    storage.save("seed", 1)  # the entry exists and this client created it
    client, state = storage.client, storage._state
    listed = client.list_data

    def slow_list(*args: Any, **kwargs: Any) -> Any:
        files = listed(*args, **kwargs)  # the listing is taken before 'late' exists ...
        storage.save("late", {"x": 1})  # ... and 'late' is written before the listing is applied
        return files

    client.list_data = slow_list  # type: ignore[method-assign]
    try:
        assert storage.list_keys() == ["seed"]
    finally:
        del client.list_data
    assert state.kinds.get("late") == "json"  # not dropped by the listing that missed it
    storage.save_string("late", "text now")  # so the kind change still drops the json file
    assert files_of(storage, "late") == ["string"]


def _key_of(storage: CacheServiceStorage) -> str | None:
    auth = storage.client.http.auth
    return getattr(auth, "_key", None)


def test_reads_never_create_entries(storage: CacheServiceStorage) -> None:
    count = Counter(storage.client)
    assert storage.load("k") is None and not storage.exists("k") and storage.info("k") is None
    assert storage.delete("k") is False and storage.list_keys() == [] and storage.cache_id is None
    assert all(p.startswith("GET") and "/retrieve/hash/" in p for p in count.take())
    assert storage.client.cache_id_for_key(storage.cache_key) is None
    assert storage.target_id not in storage.targets()


def test_plain_keys_are_readable_by_other_consumers(storage: CacheServiceStorage) -> None:
    storage.save("results/node_stats", {"n": 3})
    storage.save_string("report-final", "<h1>ok</h1>")
    storage.save("results/metrics.json", {"m": 1})
    client = storage.client
    cache_id = client.cache_id_for_hash(key_hash(f"sessions/{storage.session_id}/targets/{storage.target_id}"))
    assert cache_id == storage.cache_id
    assert client.retrieve_data(cache_id, "json", "results", "node_stats") == b'{"n":3}'
    assert client.retrieve_data(cache_id, "string", "", "report-final") == b"<h1>ok</h1>"
    # a '.' would be rewritten by the server, so that segment is encoded (and decoded again by us)
    assert client.retrieve_data(cache_id, "json", "results", "__metrics_djson") == b'{"m":1}'
    assert client.retrieve_data(cache_id, "json", "results", "metrics_json") is None
    # what another consumer stored under a plain name is visible to us
    client.store_data(cache_id, "json", "results", "from_elsewhere", b'{"x":1}')
    assert storage.load("results/from_elsewhere") == {"x": 1}
    assert "results/from_elsewhere" in storage.list_keys("results/")


def test_dotted_and_underscored_keys_never_collide(storage: CacheServiceStorage) -> None:
    keys = ["a.b", "a_b", "a..b", "__a", "_", "v1.2/x.y", "v1_2/x_y", "_/_"]
    for k in keys:
        storage.save_string(k, k)
    assert storage.list_keys() == sorted(keys)
    assert all(storage.load_string(k) == k for k in keys)


def test_json_scalars_are_wrapped_and_marker_dicts_survive(storage: CacheServiceStorage) -> None:
    for value in ([1, 2], 5, "s", None, {"__psnb_value__": 1}, {"__psnb_value__": 1, "other": 2}):
        storage.save("v", value)
        assert storage.load("v") == value


def test_resaving_edge_values_in_the_same_kind(storage: CacheServiceStorage) -> None:
    # a re-save of a known kind takes the 'update' route, which refuses '' and fails on {}: never sent there
    for save, load, value in (
        (storage.save, storage.load, {}),
        (storage.save_string, storage.load_string, ""),
        (storage.save_bytes, storage.load_bytes, b""),
    ):
        for _ in range(2):
            save("edge", value)  # type: ignore[operator]
            assert load("edge") == value  # type: ignore[operator]


def test_bytes_that_look_like_the_empty_sentinel_round_trip(storage: CacheServiceStorage) -> None:
    for data in (b"", EMPTY_BYTES, EMPTY_BYTES + b"tail", EMPTY_BYTES[:-1]):
        storage.save_bytes("x.bin", data)
        assert storage.load_bytes("x.bin") == data
        assert b"".join(storage.iter_bytes("x.bin", 7)) == data
        assert storage.info("x.bin").size == len(data)  # type: ignore[union-attr]


def test_large_bytes_stream_in_chunks(storage: CacheServiceStorage) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB

    def chunks() -> Iterator[bytes]:
        for i in range(8):
            yield block[i:] + block[:i]

    assert storage.save_stream("big/archive.bin", chunks()) == 8 * len(block)
    got = storage.iter_bytes("big/archive.bin", chunk_size=1 << 16)
    first = next(got)
    assert len(first) <= 1 << 16  # chunked, not the whole value at once
    assert first + b"".join(got) == b"".join(chunks())
    storage.save("big/doc", {"a": 1})
    with pytest.raises(StorageKindError, match="load"):
        list(storage.iter_bytes("big/doc"))


def test_iter_bytes_of_a_missing_or_other_kind_key_sends_no_request_twice(storage: CacheServiceStorage) -> None:
    storage.save("doc", {"a": 1})
    storage.client.storage_mode()  # asked once per client: not part of what is counted here
    count = Counter(storage.client)
    with pytest.raises(StorageKeyError):
        storage.iter_bytes("nope.bin")
    missing = count.take()
    with pytest.raises(StorageKindError, match="load"):
        storage.iter_bytes("doc")
    other_kind = count.take()
    for paths in (missing, other_kind):  # the streamed GET, then one look at the other kinds (a listing)
        assert len(paths) == len(set(paths)) == 2 and paths[1].endswith("/data/list")


def test_delete_target_leaves_nothing_behind(storage: CacheServiceStorage) -> None:
    storage.save("a/b.json", {"x": 1})
    storage.save_string("c", "text")
    storage.save_bytes("d.bin", b"\x01")
    raw_root = f"{storage.namespace}/data/key-based/{storage.cache_key}"
    assert len(storage.client.raw_files(raw_root)) == 3 + 3  # entry .json/.config/.metadata + 3 children
    cache_id = storage.cache_id
    assert storage.delete_target() == 3
    assert storage.client.raw_files(raw_root) == []
    assert storage.client.cache_id_for_key(storage.cache_key) is None
    assert storage.client.entry_refs(cache_id) is None  # type: ignore[arg-type]
    storage.save("again", 1)  # the target can be used again: a new entry
    assert storage.list_keys() == ["again"] and storage.cache_id != cache_id


def test_stale_entry_is_recovered_after_another_storage_deleted_the_target(storage: CacheServiceStorage) -> None:
    storage.save("k", 1)
    other = CacheServiceStorage(
        storage.session_id,
        storage.target_id,
        namespace=storage.namespace,
        client=CacheServiceClient(
            storage.client.urls[0], transport=storage.client.http._transport, api_key=_key_of(storage)
        ),
    )
    assert other.delete_target() == 1
    assert storage.load("k") is None and not storage.exists("k")  # the memoised id is gone: noticed, not an error
    storage.save("k2", 2)
    assert other.load("k2") == 2 and other.list_keys() == ["k2"]


def test_invalid_names_are_rejected_before_any_request(storage: CacheServiceStorage) -> None:
    count = Counter(storage.client)
    with pytest.raises(StorageNameError, match="at most 128"):
        storage.save("x." * 49 + "xy", 1)  # 100 characters: a valid key, but 152 once encoded
    with pytest.raises(StorageNameError):
        storage.for_session("a b")
    with pytest.raises(StorageNameError, match="namespace"):
        CacheServiceStorage("s", "t", namespace="with.dot", client=storage.client)
    assert count.take() == []


def test_bulk_save_is_concurrent_and_per_key(storage: CacheServiceStorage) -> None:
    res = storage.save_many({f"bulk/d{i:03d}": {"i": i} for i in range(60)})
    assert not res.errors and len(res.ok) == 60
    assert storage.list_keys("bulk/") == [f"bulk/d{i:03d}" for i in range(60)]
    loaded = storage.load_many([f"bulk/d{i:03d}" for i in range(60)])
    assert loaded.ok["bulk/d059"] == {"i": 59}


def test_siblings_share_one_client(storage: CacheServiceStorage) -> None:
    sib = storage.for_target("t2")
    other = storage.for_session(fresh(), "t1")
    assert sib.client is storage.client and other.client is storage.client
    sib.save("k", 1)
    assert storage.load("k") is None and sib.load("k") == 1


# ---- config and factory -------------------------------------------------------------------------------------
def test_to_config_has_no_secret_and_rebuilds(cache_server: Any) -> None:
    s = CacheServiceStorage(fresh(), "t", url=cache_server.url, api_key=cache_server.api_key, namespace="cfg")
    s.save("k", {"v": 1})
    config = s.to_config()
    assert "api_key" not in config and cache_server.api_key not in repr(config)
    rebuilt = create_storage({**config, "api_key": cache_server.api_key})
    assert isinstance(rebuilt, CacheServiceStorage) and rebuilt.load("k") == {"v": 1}
    from_url = create_storage(
        f"{cache_server.url}?namespace=cfg", session_id=s.session_id, target_id="t", api_key=cache_server.api_key
    )
    assert from_url.load("k") == {"v": 1}
    for storage in (s, rebuilt, from_url):
        storage.close()


def test_factory_seed_dict_with_env_vars(cache_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERF_STORAGE_URL", cache_server.url)
    monkeypatch.setenv("PERF_STORAGE_API_KEY", cache_server.api_key)
    monkeypatch.setenv("PERF_STORAGE_NAMESPACE", "seed-ns")
    from perf_storage_factory import Perf__Storage__Factory

    storage = Perf__Storage__Factory.create(
        {"backend": "cache_service", "session_id": fresh(), "target_id": "item_001"}
    )
    storage.save("k", 1)
    assert storage.load("k") == 1 and storage.namespace == "seed-ns"
    storage.close()


# ---- storage modes without listing ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_disk_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CacheServiceClient]:
    pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
    from perf_storage_nb.server import build_app, in_process_client

    client = in_process_client(build_app(mode="local_disk", path=tmp_path_factory.mktemp("disk")))
    yield client
    client.close()


def test_local_disk_mode_works_or_says_not_supported(local_disk_client: CacheServiceClient) -> None:
    s = CacheServiceStorage(fresh(), "t", client=local_disk_client)
    s.save("a.json", {"x": 1})
    s.save_string("a.json", "now text")  # no listing: the other kinds are deleted by name
    assert s.load_string("a.json") == "now text" and s.exists("a.json")
    with pytest.raises(StorageKindError):
        s.load("a.json")
    s.save_string("e", "")
    assert s.load_string("e") == ""
    assert s.delete("a.json") and not s.exists("a.json")
    for call in (s.list_keys, s.sessions, s.targets, s.delete_target):
        with pytest.raises(StorageNotSupported, match="not supported by this server's storage mode .*local_disk"):
            call()
    assert s.load_string("e") == ""  # nothing was deleted by the refused delete_target


def test_mock_entry_vanishing_during_a_stream_is_not_success() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/retrieve/hash/" in request.url.path:
            return httpx.Response(200, json={"cache_id": "00000000-0000-0000-0000-000000000001"})
        if request.method == "GET" and request.url.path.endswith("/list"):
            return httpx.Response(200, json={"files": []})
        if request.url.path == "/server/storage/info":
            return httpx.Response(200, json={"storage_mode": "memory"})
        request.read()
        return httpx.Response(404, json={"detail": {"message": "Cache entry not found"}})

    s = CacheServiceStorage(
        "s", "t", client=CacheServiceClient("http://mock:1", transport=httpx.MockTransport(handler))
    )
    with pytest.raises(StorageBackendError, match="nothing stored"):
        s.save_stream("x.bin", iter([b"abc"]))
