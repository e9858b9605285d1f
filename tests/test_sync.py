"""perf_storage_nb.sync in Python: sync and copy between backends by content hash, on the real cache service.

The cache service runs as a uvicorn process with an API key (conftest's ``cache_server``) and in-process; request
counts come from an httpx event hook on the client the storage uses.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_storage_nb import (
    BaseStorage,
    LocalStorage,
    MemoryStorage,
    StorageConnectionError,
    StorageKeyError,
    StorageNameError,
)
from perf_storage_nb.backends.cache_service import CacheServiceStorage
from perf_storage_nb.cache_client import CacheServiceClient
from perf_storage_nb.cache_keys import key_hash
from perf_storage_nb.sync import copy, sync
from perf_storage_nb.sync import items as sync_items
from perf_storage_nb.sync.manifest import MANIFEST_FIELD

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")

_ns = itertools.count()


class Requests:
    """Every request a cache-service client sends (an httpx event hook), split into reads and writes."""

    def __init__(self, client: CacheServiceClient) -> None:
        self.seen: list[str] = []
        client.http.event_hooks["request"].append(lambda r: self.seen.append(f"{r.method} {r.url.path}"))

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def writes(requests: list[str]) -> list[str]:
    return [r for r in requests if not r.startswith("GET ")]


@pytest.fixture
def remote(cache_server: Any) -> Iterator[CacheServiceStorage]:
    """A root storage on the uvicorn cache service, in a namespace of its own (API key from the server)."""
    client = cache_server.client(namespace=f"sync-{next(_ns)}")
    storage = CacheServiceStorage("root", "root", namespace=client.namespace, client=client)
    yield storage
    client.close()


def fill(storage: BaseStorage) -> dict[tuple[str, str, str], Any]:
    """Every kind, dotted keys, empty values, nested keys, unicode, versions - in two sessions and three targets."""
    values: dict[tuple[str, str, str], Any] = {}

    def put(session: str, target: str, key: str, value: Any, kind: str) -> None:
        s = storage.for_session(session, target)
        {"json": s.save, "text": s.save_string, "bytes": s.save_bytes}[kind](key, value)
        values[(session, target, key)] = value

    put("exp1", "item_001", "metrics.json", {"p50_ms": 10.5, "z": [1, 2.0, None], "a": {"ü": True}}, "json")
    put("exp1", "item_001", "empty.json", {}, "json")
    put("exp1", "item_001", "empty-list.json", [], "json")
    put("exp1", "item_001", "scalar.json", "", "json")
    put("exp1", "item_001", "v1.2/report.final.html", "<!doctype html><title>r</title><p>é</p>\r\n", "text")
    put("exp1", "item_001", "empty.txt", "", "text")
    put("exp1", "item_001", "blob.bin", bytes(range(256)) * 3, "bytes")
    put("exp1", "item_001", "empty.bin", b"", "bytes")
    put("exp1", "item_001", "__init__.py", "x = 1\n", "text")
    put("exp1", "item_002", "a/b/c/deep.json", {"n": 1}, "json")
    put("exp2", "only", "log.txt", "line 1\nline 2\n", "text")
    s = storage.for_session("exp1", "item_002")
    for i in range(2):
        key = s.save_version("runs/metrics.json", {"run": i})
        values[("exp1", "item_002", key)] = {"run": i}
    return values


def same_info(a: BaseStorage, b: BaseStorage, key: str) -> bool:
    """Same kind, canonical size and content hash (modified times differ, of course)."""
    x, y = a.info(key), b.info(key)
    return x is not None and y is not None and (x.kind, x.size, x.hash) == (y.kind, y.size, y.hash)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under a local root (relative path -> bytes): what byte-identical means."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_local_to_cache_service_to_a_fresh_local_root_is_byte_identical(
    tmp_path: Path, remote: CacheServiceStorage
) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    values = fill(src)
    first = sync(src, remote, progress=False)
    assert first.ok and first.added == len(values) and first.targets == 3
    back = LocalStorage("x", "x", root=tmp_path / "back")
    pulled = sync(remote, back, progress=False)
    assert pulled.ok and pulled.added == len(values)
    assert tree(tmp_path / "back") == tree(tmp_path / "src")
    for session, target, key in values:  # kinds survive too (loaders are kind-checked)
        assert same_info(back.for_session(session, target), src.for_session(session, target), key)


def test_an_up_to_date_resync_writes_nothing_and_reads_two_requests_per_target(
    tmp_path: Path, remote: CacheServiceStorage
) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    values = fill(src)
    sync(src, remote, progress=False).raise_for_errors()
    requests = Requests(remote.client)
    again = sync(src, remote, progress=False)
    seen = requests.take()
    assert again.ok and (again.added, again.updated, again.deleted) == (0, 0, 0) and again.unchanged == len(values)
    assert writes(seen) == []
    assert len(seen) == 2 * again.targets  # the entry (cache_id + manifest), one listing
    assert sum("/retrieve/hash/" in r for r in seen) == 3 and sum(r.endswith("/data/list") for r in seen) == 3
    assert again.reads == {"source": 0, "destination": 0}  # no value was read to learn a hash
    # pulling back is as cheap on the source side: the manifest answers for every key
    back = LocalStorage("x", "x", root=tmp_path / "back")
    sync(remote, back, progress=False).raise_for_errors()
    seen = requests.take()
    assert writes(seen) == [] and sync(remote, back, progress=False).unchanged == len(values)


def test_the_manifest_is_verified_against_the_listing_sizes(tmp_path: Path, remote: CacheServiceStorage) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    s = src.for_session("exp", "t")
    s.save("m.json", {"v": 1})
    s.save_string("page.html", "<p>aaaa</p>")
    sync(src, remote, progress=False).raise_for_errors()
    other = remote.for_session("exp", "t")
    other.save("m.json", {"v": 1, "changed": "elsewhere"})  # another client: a new size, no manifest update
    requests = Requests(remote.client)
    again = sync(src, remote, progress=False)
    assert [c.address for c in again.changes] == ["exp/t:m.json"] and again.updated == 1
    assert again.reads == {"source": 0, "destination": 1}  # the changed size made the sync read that value
    assert remote.for_session("exp", "t").load("m.json") == {"v": 1}
    assert len(writes(requests.take())) == 2  # the value, and the manifest update
    # What sizes cannot show: a same-size rewrite by another client. --checksum reads every value.
    other.save_string("page.html", "<p>bbbb</p>")
    assert sync(src, remote, progress=False).updated == 0
    thorough = sync(src, remote, checksum=True, progress=False)
    assert thorough.updated == 1 and remote.for_session("exp", "t").load_string("page.html") == "<p>aaaa</p>"
    assert thorough.reads["destination"] == 2


def test_the_manifest_is_not_a_key_and_does_not_change_listings(tmp_path: Path, remote: CacheServiceStorage) -> None:
    src = MemoryStorage("exp", "t")
    src.save("k", 1)
    sync(src, remote, progress=False).raise_for_errors()
    target = remote.for_session("exp", "t")
    assert target.list_keys() == ["k"] and remote.sessions() == ["exp"] and remote.targets("exp") == ["t"]
    entry = remote.client.entry_by_hash(key_hash(target.cache_key))
    assert entry is not None and MANIFEST_FIELD in entry["data"] and entry["data"]["cache_key"] == target.cache_key
    assert target.delete_target() == 1  # and it goes with the target
    assert remote.client.entry_by_hash(key_hash(target.cache_key)) is None


def test_per_key_errors_are_reported_never_counted_done_and_a_rerun_completes(
    tmp_path: Path, remote: CacheServiceStorage
) -> None:
    class Flaky(LocalStorage):
        """A source whose reads of two keys fail (a fault the real disk cannot produce on demand)."""

        broken = True

        def load(self, key: str, default: Any = None) -> Any:
            if Flaky.broken and key.startswith("bad"):
                raise OSError(f"injected read failure of {key}")
            return super().load(key, default)

    src = Flaky("exp", "t", root=tmp_path / "src")
    for i in range(6):
        src.save(f"{'bad' if i < 2 else 'good'}{i}.json", {"i": i})
    result = sync(src, remote, progress=False)
    assert not result.ok and sorted(c.key for c in result.failed) == ["bad0.json", "bad1.json"]
    assert all("injected read failure" in c.error for c in result.failed) and result.added == 4
    with pytest.raises(Exception, match="2 key\\(s\\) failed"):
        result.raise_for_errors()
    assert remote.for_session("exp", "t").list_keys() == ["good2.json", "good3.json", "good4.json", "good5.json"]
    Flaky.broken = False
    again = sync(src, remote, progress=False)
    assert again.ok and sorted(c.key for c in again.changes) == ["bad0.json", "bad1.json"] and again.unchanged == 4


def test_dry_run_lists_changes_and_writes_nothing(tmp_path: Path, remote: CacheServiceStorage) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    values = fill(src)
    requests = Requests(remote.client)
    plan = sync(src, remote, dry_run=True, progress=False)
    assert plan.dry_run and plan.added == len(values) and writes(requests.take()) == []
    assert remote.sessions() == [] and "dry run" in plan.to_text()


def test_delete_removes_only_inside_the_synced_sessions(tmp_path: Path, remote: CacheServiceStorage) -> None:
    src = MemoryStorage("exp", "t1")
    src.save("keep.json", 1)
    src.for_target("t2").save("k", 2)
    sync(src, remote, progress=False).raise_for_errors()
    remote.for_session("exp", "t1").save_string("extra.txt", "not in src")
    remote.for_session("exp", "t3").save("k", 3)  # a target src lacks
    remote.for_session("colleague", "t").save("theirs", 4)  # a session src lacks: never touched
    src.for_target("t2").delete("k")
    plain = sync(src, remote, progress=False)
    assert plain.deleted == 0 and remote.for_session("exp", "t1").exists("extra.txt")
    mirrored = sync(src, remote, delete=True, progress=False)
    assert sorted(c.address for c in mirrored.changes) == ["exp/t1:extra.txt", "exp/t2:k", "exp/t3:k"]
    assert remote.targets("exp") == ["t1"] and remote.for_session("colleague", "t").load("theirs") == 4
    only = sync(src, remote, sessions=["colleague"], delete=True, progress=False)  # named explicitly: emptied
    assert only.deleted == 1 and remote.sessions() == ["exp"]


def test_large_bytes_stream_and_arrive_exactly(
    tmp_path: Path, remote: CacheServiceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_items, "STREAM_MIN", 1 << 16)  # stream anything from 64 kB: same path as 8 MB
    src = LocalStorage("exp", "t", root=tmp_path / "src")
    data = os.urandom(3 << 20)
    src.save_bytes("big.bin", data)
    streamed: list[str] = []
    original = CacheServiceStorage.save_stream

    def spy(self: CacheServiceStorage, key: str, source: Any) -> int:
        streamed.append(key)
        return original(self, key, source)

    monkeypatch.setattr(CacheServiceStorage, "save_stream", spy)
    result = sync(src, remote, progress=False)
    assert result.ok and streamed == ["big.bin"] and result.bytes_copied == len(data)
    assert remote.for_session("exp", "t").load_bytes("big.bin") == data
    assert sync(src, remote, progress=False).unchanged == 1  # the streamed hash went into the manifest
    # --checksum reads the remote value to hash it: in chunks too, never loaded whole
    monkeypatch.setattr(CacheServiceStorage, "load_bytes", lambda *a, **k: pytest.fail("loaded whole"))
    local = LocalStorage("x", "x", root=tmp_path / "src")
    checked = sync(remote, local, sessions=["exp"], checksum=True, progress=False)
    assert checked.ok and checked.unchanged == 1 and checked.reads == {"source": 1, "destination": 0}


def test_copy_key_prefix_target_and_session(tmp_path: Path, remote: CacheServiceStorage) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    fill(src)
    one = copy("exp1/item_001:metrics.json", "base/item_001:ref.json", src=src, dst=remote, progress=False)
    assert one.added == 1 and remote.for_session("base", "item_001").list_keys() == ["ref.json"]
    into = copy("exp1/item_001:metrics.json", "base/item_009:saved/", src=src, dst=remote, progress=False)
    assert [c.address for c in into.changes] == ["base/item_009:saved/metrics.json"]
    prefix = copy("exp1/item_001:v1.2/", "base/item_001", src=src, dst=remote, progress=False)
    assert [c.key for c in prefix.changes] == ["v1.2/report.final.html"]
    target = copy("exp1/item_002", "base/renamed", src=src, dst=remote, progress=False)
    assert target.added == 3 and len(remote.for_session("base", "renamed").list_keys()) == 3
    session = copy("exp1", "copy1", src=src, dst=remote, progress=False)
    assert session.added == 12 and remote.targets("copy1") == ["item_001", "item_002"]
    assert copy("exp1", "copy1", src=src, dst=remote, progress=False).unchanged == 12  # equal keys are skipped
    local = copy(f"{tmp_path / 'src'}#exp2/only:log.txt", f"{tmp_path / 'other'}#e/t", progress=False)
    assert local.added == 1 and LocalStorage("e", "t", root=tmp_path / "other").load_string("log.txt") == (
        "line 1\nline 2\n"
    )


@pytest.mark.parametrize(
    ("src_address", "dst_address", "error"),
    [
        ("exp1", "base/t", StorageNameError),  # a session into a target
        ("exp1/item_001:nothing-here", "base/t", StorageKeyError),
        ("nosuch", "base", StorageKeyError),
        ("exp1/item_001:metrics.json", "base/t:../up", StorageNameError),
        ("exp1/item_001:v1.2/", "base/t:.hidden/", StorageNameError),
        ("bad session/t", "base/t", StorageNameError),
    ],
)
def test_copy_refuses_bad_input_before_writing(
    tmp_path: Path, remote: CacheServiceStorage, src_address: str, dst_address: str, error: type[Exception]
) -> None:
    src = LocalStorage("x", "x", root=tmp_path / "src")
    fill(src)
    requests = Requests(remote.client)
    with pytest.raises(error):
        copy(src_address, dst_address, src=src, dst=remote, progress=False)
    assert writes(requests.take()) == [] and remote.sessions() == []


def test_losing_the_server_stops_the_run_with_a_connection_error(tmp_path: Path) -> None:
    from perf_storage_nb.server import free_port

    src = MemoryStorage("exp", "t")
    src.save("k", 1)
    dead = CacheServiceStorage("x", "x", url=f"http://127.0.0.1:{free_port()}", api_key="k", retries=0, timeout=2)
    with pytest.raises(StorageConnectionError):
        sync(src, dead, progress=False)
    dead.close()


def test_progress_callback_sees_every_key(tmp_path: Path) -> None:
    src = MemoryStorage("exp", "t")
    for i in range(5):
        src.save(f"k{i}", i)
    seen: list[tuple[str, int, int]] = []
    sync(src, LocalStorage("x", "x", root=tmp_path / "dst"), progress=lambda *e: seen.append(e))
    assert seen[0] == ("scan", 1, 1) and seen[-1] == ("sync", 5, 5)


_segment = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,12}", fullmatch=True).filter(lambda s: s not in (".", ".."))
_key = st.lists(_segment, min_size=1, max_size=3).map("/".join)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_value = st.one_of(
    st.tuples(st.just("json"), _json),
    st.tuples(st.just("text"), st.text(max_size=50)),
    st.tuples(st.just("bytes"), st.binary(max_size=60)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.dictionaries(_key, _value, min_size=1, max_size=6))
def test_any_keys_and_values_round_trip_through_the_cache_service(
    cache_service_transport: Any, items: dict[str, tuple[str, Any]]
) -> None:
    keys = list(items)
    if any(a != b and (b.startswith(a + "/")) for a in keys for b in keys):
        return  # a key cannot also be a folder of keys (the local backend refuses it; not what this tests)
    src = MemoryStorage("s", "t")
    for key, (kind, value) in items.items():
        {"json": src.save, "text": src.save_string, "bytes": src.save_bytes}[kind](key, value)
    client = CacheServiceClient(transport=cache_service_transport, namespace=f"hyp-{next(_ns)}")
    middle = CacheServiceStorage("x", "x", namespace=client.namespace, client=client)
    back = MemoryStorage("x", "x")
    try:
        assert sync(src, middle, progress=False).ok
        again = sync(src, middle, progress=False)  # the predicted stored sizes matched the listing: no read
        assert again.unchanged == len(items) and again.reads == {"source": 0, "destination": 0}
        assert sync(middle, back, progress=False).ok
        got = back.for_session("s", "t")
        for key in items:
            assert same_info(got, src, key)
            assert got.load_any(key) == src.load_any(key)
    finally:
        client.close()


def test_checkpoints_during_a_run_never_lose_a_recorded_hash(
    tmp_path: Path, remote: CacheServiceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.sync import manifest

    # Checkpoint after every few keys on 8 threads: overlapping checkpoints must not overwrite newer records.
    monkeypatch.setattr(manifest, "CHECKPOINT_KEYS", 3)
    monkeypatch.setattr(manifest, "CHECKPOINT_SECONDS", 0.0)
    src = MemoryStorage("exp", "t")
    for i in range(120):
        src.save(f"k{i:03d}", {"i": i})
    assert sync(src, remote, progress=False, workers=8).added == 120
    again = sync(src, remote, progress=False)
    assert again.unchanged == 120 and again.reads == {"source": 0, "destination": 0}


def test_a_final_checkpoint_that_fails_is_retried_when_quiet(
    tmp_path: Path, remote: CacheServiceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.errors import StorageBackendError
    from perf_storage_nb.sync import manifest

    # A 500 from the entry update (the server under load) cannot be produced on demand: the first two fail here.
    original = manifest.CacheServiceIndex._checkpoint
    failures = {"left": 2}

    def flaky(self: Any) -> int:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StorageBackendError("the cache service answered 500: An unexpected error occurred.")
        return original(self)

    monkeypatch.setattr(manifest.CacheServiceIndex, "_checkpoint", flaky)
    src = MemoryStorage("exp", "t")
    for i in range(10):
        src.save(f"k{i}", i)
    done = sync(src, remote, progress=False)
    assert done.ok and done.added == 10 and done.notes == () and failures["left"] == 0
    assert sync(src, remote, progress=False).reads == {"source": 0, "destination": 0}


def test_hashes_that_cannot_be_recorded_are_a_note_not_a_failure(
    tmp_path: Path, remote: CacheServiceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.errors import StorageBackendError
    from perf_storage_nb.sync import manifest

    def broken(self: Any, *, final: bool) -> int:
        raise StorageBackendError("the cache service answered 500")

    monkeypatch.setattr(manifest.CacheServiceIndex, "checkpoint", broken)
    src = MemoryStorage("exp", "t")
    for i in range(4):
        src.save(f"k{i}", i)
    done = sync(src, remote, progress=False)
    assert done.ok and done.added == 4 and len(done.notes) == 1 and "could not be recorded" in done.notes[0]
    assert "note:" in done.to_text()
    monkeypatch.undo()
    again = sync(src, remote, progress=False)  # nothing recorded: each key is read once, none is copied again
    assert again.unchanged == 4 and again.reads == {"source": 0, "destination": 4} and again.added == 0


def test_a_wrong_size_prediction_costs_one_read_then_corrects_itself(
    tmp_path: Path, remote: CacheServiceStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.sync import manifest

    src = MemoryStorage("exp", "t")
    for i in range(5):
        src.save(f"k{i}", {"i": i})
    with monkeypatch.context() as patch:  # as if the server stored JSON in another format than predicted
        patch.setattr(manifest, "stored_size", lambda kind, value, size: size + 1000)
        assert sync(src, remote, progress=False).added == 5
    second = sync(src, remote, progress=False)  # the listing contradicts the record: each key is read once
    assert second.unchanged == 5 and second.reads == {"source": 0, "destination": 5} and second.added == 0
    third = sync(src, remote, progress=False)  # ... and recorded with the listed size
    assert third.unchanged == 5 and third.reads == {"source": 0, "destination": 0}
