"""Reading what other clients stored, and what other clients see of ours (issue 11, item 7).

* Reading never runs save-side validation: a document deeper than we would save, planted by another client,
  is sized and loaded like on every backend; one that cannot be read says so in the same words as the other
  backends ("is nested too deeply to read", "is not valid JSON", "is not valid UTF-8 text").
* Empty values: stored as empty files (the JSON literal ``""``, the only empty form the server accepts), so
  the official client reads empty bytes as ``b""``. What it sees for each empty kind is pinned here, so the
  README cannot drift from it. Data written with the old empty-bytes sentinel still reads as empty.
* Keys of plain segments read the same through the official ``mgraph-ai-service-cache-client``, in all kinds.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from perf_storage_nb import LocalStorage, StorageBackendError, codec
from perf_storage_nb.backends.cache_service import EMPTY_BYTES, CacheServiceClient, CacheServiceStorage
from perf_storage_nb.cache_keys import encode_segment, split_key
from perf_storage_nb.server import build_app

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")

_n = iter(range(10**6))
TOO_DEEP = "is nested too deeply to read"


def nested(depth: int) -> bytes:
    return (b'{"a":' * depth) + b"1" + (b"}" * depth)


def plant(storage: CacheServiceStorage, key: str, body: bytes, data_type: str = "json") -> int:
    """Store a raw body under ``key`` with the raw child-data route (as another client would); the status."""
    storage.save("warm.json", 0)  # the entry exists
    data_key, file_id = split_key(key)
    route = "/".join(p for p in (data_key, file_id) if p)
    types = {"json": "application/json", "string": "text/plain", "binary": "application/octet-stream"}
    url = f"{storage.client.url}/{storage.namespace}/cache/{storage.cache_id}/data/store/{data_type}/{route}"
    return storage.client.http.post(url, content=body, headers={"content-type": types[data_type]}).status_code


@pytest.fixture(params=["inprocess", "http"])
def storage(request: pytest.FixtureRequest) -> Iterator[CacheServiceStorage]:
    if request.param == "inprocess":
        client = CacheServiceClient(transport=request.getfixturevalue("cache_service_transport"), namespace="interop")
    else:
        client = request.getfixturevalue("cache_server").client(namespace="interop")
    s = CacheServiceStorage(f"i{next(_n)}", "t", client=client, owns_client=True)
    yield s
    s.close()


# ---- reading never validates as a save would ----------------------------------------------------------------
def test_a_600_deep_document_from_another_client_is_sized_and_loaded(storage: CacheServiceStorage) -> None:
    body = nested(600)
    assert plant(storage, "deep/doc", body) == 200
    info = storage.info("deep/doc")
    assert info is not None and info.kind == "json"
    assert (info.size, info.hash) == codec.canonical("json", body)  # the canonical size, as on every backend
    value = json.loads(body)
    assert storage.load("deep/doc") == value and storage.load_any("deep/doc") == value
    assert storage.client.load(storage.session_id, storage.target_id, "deep/doc") == value
    assert storage.exists("deep/doc") and "deep/doc" in storage.list_keys()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 1200))
def test_any_depth_the_server_takes_is_read_or_named_too_deep(depth: int, storage: CacheServiceStorage) -> None:
    key = f"d{depth}"
    if plant(storage, key, nested(depth)) != 200:
        return  # the server refused it (deeper than it can parse): no other client can store it either
    for read in (storage.info, storage.load, storage.load_any):
        try:
            read(key)
        except StorageBackendError as exc:
            assert TOO_DEEP in str(exc), exc
        # "cannot save", a RecursionError or a StorageValueError fail this test


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[tuple[CacheServiceStorage, Path]]:
    """The real service in local_disk mode (in-process): another client may plant any file on its disk."""
    import a2wsgi

    app = build_app(mode="local_disk", path=tmp_path / "cache")
    client = CacheServiceClient(transport=httpx.WSGITransport(app=a2wsgi.ASGIMiddleware(app)), retries=1)  # type: ignore[arg-type]
    storage = CacheServiceStorage("planted", "t", client=client, owns_client=True)
    storage.save("warm", 0)
    folder = next((tmp_path / "cache").rglob("warm.json")).parent
    yield storage, folder
    storage.close()


PLANTED = {  # file name -> (bytes, our key, how the other backends word it)
    "deep.json": ("[" * 100_000 + "]" * 100_000, "deep", TOO_DEEP),
    "bad.json": ("{not json", "bad", "is not valid JSON (edited or corrupted?)"),
    "empty.json": ("", "empty", "is not valid JSON (edited or corrupted?)"),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_unreadable_planted_json_gets_the_wording_of_the_other_backends(
    disk: tuple[CacheServiceStorage, Path], tmp_path: Path, name: str
) -> None:
    storage, folder = disk
    text, key, wording = PLANTED[name]
    (folder / name).write_text(text)
    local = LocalStorage("planted", "t", root=tmp_path / "local")
    local.save(name, 0)
    (tmp_path / "local" / "planted" / "t" / name).write_text(text)  # in place: its json kind marker stays
    for read in (storage.load, storage.info, storage.load_any):
        with pytest.raises(StorageBackendError) as ours:
            read(key)
        with pytest.raises(StorageBackendError) as theirs:
            getattr(local, read.__name__)(name)
        assert wording in str(ours.value)
        assert str(ours.value).split(storage.describe())[1] == str(theirs.value).split(local.describe())[1]
    with pytest.raises(StorageBackendError, match=wording.split(" (")[0]):
        storage.client.load("planted", "t", key)
    storage.save(key, {"fixed": True})  # the storage stays usable: the key can be overwritten
    assert storage.load(key) == {"fixed": True}


def test_planted_text_that_is_not_utf8_is_named(disk: tuple[CacheServiceStorage, Path]) -> None:
    storage, folder = disk
    (folder / "page.txt").write_bytes(b"\xff\xfe not utf-8")
    storage.save_string("seen", "x")  # the client now knows string files exist here
    with pytest.raises(StorageBackendError, match="is not valid UTF-8 text"):
        storage.load_string("page")
    with pytest.raises(StorageBackendError, match="is not valid UTF-8 text"):
        storage.client.load("planted", "t", "page")


# ---- empty values, and the old sentinel ---------------------------------------------------------------------
def test_empty_values_are_stored_as_empty_files(storage: CacheServiceStorage) -> None:
    storage.save_bytes("e/bytes", b"")
    storage.save_string("e/text", "")
    assert storage.save_stream("e/stream", iter([b"", b""])) == 0
    files = {f.file_id: f.size for f in storage.client.list_data(storage.cache_id, "e") or []}  # type: ignore[arg-type]
    assert files == {"bytes": 0, "text": 0, "stream": 0}
    assert storage.load_bytes("e/bytes") == b"" and storage.load_string("e/text") == ""
    assert b"".join(storage.iter_bytes("e/stream")) == b"" and storage.load_bytes("e/stream") == b""
    assert [storage.info(k).size for k in ("e/bytes", "e/text", "e/stream")] == [0, 0, 0]  # type: ignore[union-attr]


def test_data_written_with_the_old_sentinel_still_reads_as_empty(storage: CacheServiceStorage) -> None:
    assert plant(storage, "old/empty", EMPTY_BYTES, "binary") == 200
    storage.save_bytes("hint", b"x")  # a fresh client reads json first: tell it this key is bytes
    fresh = CacheServiceStorage(storage.session_id, storage.target_id, client=storage.client)
    assert fresh.load_bytes("old/empty") == b"" and fresh.load_any("old/empty") == b""
    assert b"".join(fresh.iter_bytes("old/empty", 5)) == b""
    assert fresh.info("old/empty").size == 0  # type: ignore[union-attr]
    assert plant(storage, "old/escaped", EMPTY_BYTES + EMPTY_BYTES + b"tail", "binary") == 200
    assert fresh.load_bytes("old/escaped") == EMPTY_BYTES + b"tail"


# ---- the official client --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def official(cache_server: Any) -> Iterator[Any]:
    """The official ``mgraph-ai-service-cache-client`` 0.33.0 (the bench extra) on the uvicorn server."""
    pytest.importorskip(
        "mgraph_ai_service_cache_client", reason="needs mgraph-ai-service-cache-client (pip install -e '.[bench]')"
    )
    from mgraph_ai_service_cache_client.client.cache_client.Cache__Service__Client import Cache__Service__Client
    from mgraph_ai_service_cache_client.client.cache_service.register_cache_service import (
        register_cache_service__remote,
    )
    from osbot_fast_api.services.registry.Fast_API__Service__Registry import fast_api__service__registry

    fast_api__service__registry.configs__save()
    try:
        register_cache_service__remote(
            base_url=cache_server.url, api_key_name=cache_server.api_key_header, api_key_value=cache_server.api_key
        )
        yield Cache__Service__Client()
    finally:
        fast_api__service__registry.configs__restore()


@pytest.fixture
def ours(cache_server: Any) -> Iterator[CacheServiceStorage]:
    s = CacheServiceStorage(f"o{next(_n)}", "t", url=cache_server.url, api_key=cache_server.api_key, namespace="ofc")
    yield s
    s.close()


def _official_read(official: Any, storage: CacheServiceStorage, key: str, kind: str) -> Any:
    """What the official client reads for ``key`` of ``kind``, by the name it has on the server."""
    data_key, file_id = split_key(key)
    retrieve = official.data().retrieve()
    args = (storage.cache_id, storage.namespace)
    if data_key:
        return getattr(retrieve, f"data__{kind}__with__id_and_key")(*args, data_key, file_id)
    return getattr(retrieve, f"data__{kind}__with__id")(*args, file_id)


def test_what_the_official_client_sees_of_empty_values(official: Any, ours: CacheServiceStorage) -> None:
    # Pinned here and documented in the README ("Cache service" > "Other clients").
    from mgraph_ai_service_cache_client.schemas.cache.enums.Enum__Cache__Data_Type import Enum__Cache__Data_Type

    ours.save_bytes("dir/empty", b"")
    ours.save_bytes("empty", b"")
    ours.save_string("dir/blank", "")
    ours.save_string("blank", "")
    assert _official_read(official, ours, "dir/empty", "binary") == b""  # empty bytes in a folder: b""
    assert _official_read(official, ours, "empty", "binary") is None  # top level: its *__with__id* says None
    assert _official_read(official, ours, "dir/blank", "string") is None  # empty text: None (the server 404s)
    assert _official_read(official, ours, "blank", "string") is None
    exists = official.data().exists().data__exists__with__id_and_key
    for key, data_type in (("dir/blank", Enum__Cache__Data_Type.STRING), ("dir/empty", Enum__Cache__Data_Type.BINARY)):
        data_key, file_id = split_key(key)
        assert exists(ours.cache_id, ours.namespace, data_type, data_key, file_id).exists is True
    listed = official.data().list().data__list(ours.cache_id, ours.namespace)
    sizes = {(str(f.data_key), str(f.data_file_id)): int(f.file_size) for f in listed.files}
    assert sizes == {("dir", "empty"): 0, ("", "empty"): 0, ("dir", "blank"): 0, ("", "blank"): 0}
    assert (ours.load_bytes("empty"), ours.load_string("blank")) == (b"", "")  # we read them back empty


_PLAIN = string.ascii_letters + string.digits + "_-"
plain_segment = st.text(_PLAIN, min_size=1, max_size=12).filter(lambda s: not s.startswith("__") and s.strip("_"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    segments=st.lists(plain_segment, min_size=1, max_size=3),
    obj=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    text=st.text(min_size=1, max_size=40),
    data=st.binary(min_size=1, max_size=40),
)
def test_plain_keys_read_the_same_through_the_official_client(
    official: Any, ours: CacheServiceStorage, segments: list[str], obj: dict[str, Any], text: str, data: bytes
) -> None:
    key = "/".join(segments)
    assert all(encode_segment(s) == s for s in segments)  # plain segments are the server's names, 1:1
    assume(not data.startswith(EMPTY_BYTES))
    for kind, value, save in (
        ("json", obj, ours.save),
        ("string", text, ours.save_string),
        ("binary", data, ours.save_bytes),
    ):
        save(key, value)  # type: ignore[operator]
        assert _official_read(official, ours, key, kind) == value, f"{kind} of {key!r}"
