"""collect(): a tidy DataFrame of stored values across sessions and targets, exact, on every backend."""

from __future__ import annotations

import itertools
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

pd = pytest.importorskip("pandas", reason="the analysis extra is not installed (pip install -e '.[analysis]')")

from perf_storage_nb import BaseStorage, MemoryStorage, StorageKeyError, StorageValueError  # noqa: E402
from perf_storage_nb.analysis import collect, collect_rows  # noqa: E402
from perf_storage_nb.analysis.fields import extract, numeric_leaves, parse_field  # noqa: E402
from perf_storage_nb.errors import StorageValueTypeError  # noqa: E402

KEY = "results/timings.json"
BIG = 2**53 + 1  # not representable as a float: a float cast would turn it into 2**53


def _sessions(make_storage: Callable[..., BaseStorage]) -> tuple[BaseStorage, str, str]:
    """A storage and two session names unique to this test (the cache service is shared by the run)."""
    storage = make_storage()
    return storage, f"{storage.session_id}a", f"{storage.session_id}b"


def _save(storage: BaseStorage, session: str, target: str, value: Any, key: str = KEY) -> None:
    storage.for_session(session, target).save(key, value)


def test_exact_round_trip_of_every_value_including_big_ints(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, b = _sessions(make_storage)
    docs = {
        (a, "t1"): {"latency_ms": [12.1, 11.8, 12.4], "count": BIG, "neg": -(2**70), "timings": {"parse_ms": 0.1}},
        (a, "t2"): {"latency_ms": [1, 2.5], "count": 7, "timings": {"parse_ms": 3}},
        (b, "t1"): {"latency_ms": [13.0], "count": BIG + 2, "timings": {"parse_ms": 1e-300}},
    }
    for (s, t), doc in docs.items():
        _save(storage, s, t, doc)
    frame = collect(storage, KEY, sessions=[a, b])
    assert list(frame.columns) == ["session", "target", "field", "value", "sample"]
    got = {
        (r.session, r.target, r.field, None if pd.isna(r.sample) else int(r.sample)): r.value
        for r in frame.itertuples()
    }
    expected = {
        (a, "t1", "latency_ms", 0): 12.1,
        (a, "t1", "latency_ms", 1): 11.8,
        (a, "t1", "latency_ms", 2): 12.4,
        (a, "t1", "count", None): BIG,
        (a, "t1", "neg", None): -(2**70),
        (a, "t1", "timings.parse_ms", None): 0.1,
        (a, "t2", "latency_ms", 0): 1,
        (a, "t2", "latency_ms", 1): 2.5,
        (a, "t2", "count", None): 7,
        (a, "t2", "timings.parse_ms", None): 3,
        (b, "t1", "latency_ms", 0): 13.0,
        (b, "t1", "count", None): BIG + 2,
        (b, "t1", "timings.parse_ms", None): 1e-300,
    }
    assert got == expected
    # exact types, not only equal values: no float cast of an int, no int cast of a float
    for row in frame.itertuples():
        assert type(row.value) is type(
            expected[(row.session, row.target, row.field, None if pd.isna(row.sample) else int(row.sample))]
        )
    assert frame["value"].dtype == object  # ints past int64 and floats mixed: kept as they are


def test_int_column_stays_int64_and_big_ints_stay_exact(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, _b = _sessions(make_storage)
    for i in range(3):
        _save(storage, a, f"t{i}", {"n": 2**62 + i, "huge": 2**64 + i})
    n = collect(storage, KEY, fields="n", sessions=a)
    assert n["value"].dtype == "int64" and list(n["value"]) == [2**62, 2**62 + 1, 2**62 + 2]
    huge = collect(storage, KEY, fields=["huge"], sessions=[a])
    assert list(huge["value"]) == [2**64, 2**64 + 1, 2**64 + 2] and huge["value"].dtype == object
    assert "sample" not in n.columns  # no field held samples


def test_missing_keys_and_fields_give_no_row(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, b = _sessions(make_storage)
    _save(storage, a, "t1", {"x": 1, "y": 2})
    _save(storage, a, "t2", {"x": 3})  # no y
    storage.for_session(a, "t3").save("other.json", {"x": 9})  # no KEY at all
    _save(storage, b, "t1", {"y": 5})
    frame = collect(storage, KEY, fields=["x", "y"], sessions=[a, b])
    rows = sorted(zip(frame["session"], frame["target"], frame["field"], frame["value"], strict=True))
    assert rows == [(a, "t1", "x", 1), (a, "t1", "y", 2), (a, "t2", "x", 3), (b, "t1", "y", 5)]
    assert not frame.isna().any().any()  # never an invented NaN or 0


def test_field_paths_list_items_and_subtrees(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, _b = _sessions(make_storage)
    _save(storage, a, "t1", {"samples": [5, 6, 7], "runs": [{"ms": 1.5}, {"ms": 2.5}], "t": {"a": 1, "b": [2, 3]}})
    frame = collect(storage, KEY, fields=["samples.0", "runs.1.ms", "t"], sessions=a)
    got = [
        (f, v, None if pd.isna(s) else int(s))
        for f, v, s in zip(frame["field"], frame["value"], frame["sample"], strict=True)
    ]
    assert got == [("samples.0", 5, None), ("runs.1.ms", 2.5, None), ("t.a", 1, None), ("t.b", 2, 0), ("t.b", 3, 1)]


def test_versions_are_read_oldest_first_with_their_timestamps(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, _b = _sessions(make_storage)
    target = storage.for_session(a, "t1")
    keys = [target.save_version(KEY, {"v": i}) for i in range(4)]
    storage.for_session(a, "t2").save_version(KEY, {"v": 10})
    target.save(KEY, {"v": 99})  # the unversioned key is not a version
    frame = collect(storage, KEY, sessions=a, versions=True)
    assert list(frame.columns) == ["session", "target", "field", "value", "version"]
    t1 = frame[frame["target"] == "t1"]
    assert list(t1["value"]) == [0, 1, 2, 3]
    assert t1["version"].is_monotonic_increasing and t1["version"].is_unique
    assert str(t1["version"].dt.tz) == "UTC"
    stamp = keys[2].rsplit("__", 1)[1].split(".", 1)[0]
    assert t1["version"].iloc[2] == pd.Timestamp(datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC))
    assert list(frame[frame["target"] == "t2"]["value"]) == [10]


def test_sessions_in_the_given_order_and_targets_filter(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, b = _sessions(make_storage)
    for s in (a, b):
        for t in ("t1", "t2", "t3"):
            _save(storage, s, t, {"x": 1})
    frame = collect(storage, KEY, sessions=[b, a], targets=["t3", "t1"])
    assert list(frame["session"]) == [b, b, a, a]
    assert list(frame["target"]) == ["t1", "t3", "t1", "t3"]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda s, a: collect(s, KEY, sessions=[a, "nosuch_session"]),
            StorageKeyError,
            ["nosuch_session", "sessions with data"],
        ),
        (
            lambda s, a: collect(s, KEY, sessions=a, fields=["nope.x"]),
            StorageKeyError,
            ["'nope.x'", "dotted path", "latency_ms"],
        ),
        (lambda s, a: collect(s, "no/such.json", sessions=a), StorageKeyError, ["no value", "no/such.json"]),
        (lambda s, a: collect(s, KEY, sessions=a, fields=["a..b"]), StorageValueError, ["a..b", "dotted path"]),
        (lambda s, a: collect(s, KEY, sessions=a, fields=[]), StorageValueError, ["fields is empty"]),
        (lambda s, a: collect(s, "labels.json", sessions=a), StorageValueTypeError, ["no numeric field", "fields=["]),
        (lambda s, a: collect(s, KEY, sessions=a, versions=True), StorageKeyError, ["no version"]),
        (lambda s, a: collect(s, KEY, sessions=[]), StorageValueError, ["sessions is empty"]),
    ],
    ids=[
        "unknown-session",
        "field-nowhere",
        "key-nowhere",
        "bad-path",
        "no-fields",
        "non-numeric",
        "no-versions",
        "empty",
    ],
)
def test_bad_input_is_a_clear_error_never_an_empty_table(
    make_storage: Callable[..., BaseStorage], call: Any, error: type[Exception], words: list[str]
) -> None:
    storage, a, _b = _sessions(make_storage)
    _save(storage, a, "t1", {"latency_ms": [1.0, 2.0]})
    _save(storage, a, "t1", {"name": "x", "ok": True}, key="labels.json")
    with pytest.raises(error) as info:
        call(storage, a)
    for word in words:
        assert word in str(info.value)


def test_every_session_when_none_are_named(tmp_path: Any) -> None:
    storage = MemoryStorage("a", "t1")
    for s in ("b", "a", "c"):
        storage.for_session(s, "t1").save(KEY, {"x": 1})
    assert list(collect(storage, KEY)["session"]) == ["a", "b", "c"]
    with pytest.raises(StorageKeyError, match="holds no sessions"):
        collect(MemoryStorage("a", "t"), KEY)


def test_cache_service_collect_every_session_of_a_namespace(cache_service_transport: Any) -> None:
    from perf_storage_nb.backends.cache_service import CacheServiceStorage
    from perf_storage_nb.cache_client import CacheServiceClient

    client = CacheServiceClient(transport=cache_service_transport, namespace=f"analysis-{uuid.uuid4().hex[:8]}")
    storage = CacheServiceStorage("a", "t1", client=client, owns_client=True)
    for s in ("b", "a"):
        storage.for_session(s, "t1").save(KEY, {"x": 1})
    storage.for_session("a", "t2").save_string(KEY, "not json")  # a text value under the key: not a JSON row
    assert list(collect(storage, KEY)["session"]) == ["a", "b"]
    storage.close()


@pytest.mark.parametrize("backend_name", ["cache_service", "cache_service_http"])
def test_cache_service_requests_per_value_at_the_floor(
    make_storage: Callable[..., BaseStorage], backend_name: str, request: pytest.FixtureRequest
) -> None:
    """One listing per session, then one request per collected value, however cold the targets are."""
    storage, a, b = _sessions(make_storage)
    n = 30
    for s in (a, b):
        storage.for_session(s, "warm").save("other.json", {})
        for i in range(n):
            storage.for_session(s, f"t{i:02d}").save(KEY, {"ms": [i, i + 1]})
    storage.for_session(a, "t_without_key").save("other.json", {"ms": 1})
    fresh = type(storage)(a, "x", client=_fresh_client(request, backend_name), owns_client=True)  # all targets cold
    fresh.client.can_list()  # the storage mode is asked once per client (then remembered)
    sent = itertools.count()
    fresh.client.http.event_hooks["request"].append(lambda _r: next(sent))
    start = next(sent)
    frame = collect(fresh, KEY, sessions=[a, b])
    requests = next(sent) - start - 1
    assert len(frame) == 2 * n * 2  # 2 samples per value
    assert requests == 2 + 2 * n, requests  # 2 session listings + 1 request per value; no lookup, no probe
    fresh.close()


def _fresh_client(request: pytest.FixtureRequest, backend_name: str) -> Any:
    from perf_storage_nb.cache_client import CacheServiceClient

    if backend_name == "cache_service":
        return CacheServiceClient(transport=request.getfixturevalue("cache_service_transport"))
    server = request.getfixturevalue("cache_server")
    return CacheServiceClient(server.url, api_key=server.api_key)


def test_rows_without_pandas_are_plain_python(make_storage: Callable[..., BaseStorage]) -> None:
    storage, a, _b = _sessions(make_storage)
    _save(storage, a, "t1", {"x": BIG})
    found = collect_rows(storage, KEY, sessions=a)
    assert [(r.target, r.field, r.value) for r in found.rows] == [("t1", "x", BIG)] and found.loaded == 1


def test_field_helpers() -> None:
    assert parse_field(".") == () and parse_field("a.0.b") == ("a", "0", "b")
    assert [(leaf.field, leaf.value, leaf.sample) for leaf in numeric_leaves(5)] == [(".", 5, None)]
    doc = {"a": [1, "x", {"b": 2}], "c": True, "d": None, "e": []}
    assert [(leaf.field, leaf.value) for leaf in numeric_leaves(doc)] == [
        ("a.0", 1),
        ("a.2.b", 2),
    ]  # bools are not numbers
    found: set[str] = set()
    assert [leaf.value for leaf in extract(doc, ["a.1", "c", "zz", "a.9", "a.²"], found)] == ["x", True]
    assert found == {"a.1", "c"}


def test_import_stays_light() -> None:
    """Neither perf_storage_nb nor perf_storage_nb.analysis imports pandas, scipy or matplotlib."""
    code = (
        "import sys, perf_storage_nb, perf_storage_nb.analysis\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
