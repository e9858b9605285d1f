"""The storage contract: every backend in tests/conftest.py MAKERS runs this same suite.

Besides the four shipped backends it runs on the five-method example backend of tests/example_backend.py,
which shows that the base class supplies everything else.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime

import pytest
from conftest import BACKENDS

from perf_storage_nb import (
    BaseStorage,
    KeyInfo,
    StorageError,
    StorageKeyError,
    StorageKindError,
    StorageNameError,
    StorageNotSupported,
    StorageValueError,
)

Make = Callable[..., BaseStorage]


@pytest.fixture(params=[*BACKENDS, "example"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """The shipped backends plus the minimal example backend (overrides conftest's fixture for this module)."""
    return str(request.param)


JSON_VALUES = [
    {"a": 1, "b": [1, 2.5, None, True], "nested": {"é": "ünï ☕"}},
    {},
    [],
    [1, "two", {"three": 3}],
    "just a string",
    "",
    0,
    -12345678901234567890,
    3.141592653589793,
    True,
    None,
    {"__psnb_value__": 1},
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=range(len(JSON_VALUES)))
def test_json_round_trip(storage: BaseStorage, value: object) -> None:
    storage.save("results/metrics.json", value)
    assert storage.load("results/metrics.json") == value
    assert type(storage.load("results/metrics.json")) is type(value)


def test_load_returns_independent_copy(storage: BaseStorage) -> None:
    doc = {"list": [1, 2], "inner": {"x": 1}}
    storage.save("doc", doc)
    doc["list"].append(3)  # mutating what we saved must not change what is stored
    first = storage.load("doc")
    assert first == {"list": [1, 2], "inner": {"x": 1}}
    first["inner"]["x"] = 99  # nor mutating what we loaded
    assert storage.load("doc") == {"list": [1, 2], "inner": {"x": 1}}


def test_missing_key_gives_default(storage: BaseStorage) -> None:
    assert storage.load("nope") is None
    assert storage.load("nope", default={"d": 1}) == {"d": 1}
    assert storage.load_string("nope") is None
    assert storage.load_string("nope", "x") == "x"
    assert storage.load_bytes("nope") is None
    assert storage.info("nope") is None
    assert not storage.exists("nope")
    with pytest.raises(KeyError):
        storage["nope"]


TEXTS = [
    "<!doctype html>\n<html><body><h1>Héllo ☕</h1>\r\n<p>tab\there</p></body></html>\n",
    "",
    "\n\n  trailing spaces   \n",
    "nul \x00 byte and emoji 😀 and rtl ‏עברית",
    "line1\rline2\r\nline3\n",
]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_text_round_trip_byte_exact(storage: BaseStorage, text: str) -> None:
    storage.save_string("output/rendered.html", text)
    assert storage.load_string("output/rendered.html") == text


def test_bytes_round_trip(storage: BaseStorage) -> None:
    data = bytes(range(256)) * 10 + b"\x89PNG\r\n\x1a\n"
    storage.save_bytes("screenshots/before.png", data)
    assert storage.load_bytes("screenshots/before.png") == data
    storage.save_bytes("empty.bin", b"")
    assert storage.load_bytes("empty.bin") == b""
    assert storage.exists("empty.bin")


def test_empty_values_exist(storage: BaseStorage) -> None:
    # The original reported a stored {} or '' as missing.
    storage.save("empty_dict", {})
    storage.save_string("empty_text", "")
    assert storage.exists("empty_dict") and storage.exists("empty_text")
    assert storage.load("empty_dict") == {}
    assert storage.load_string("empty_text") == ""


def test_last_write_wins_across_kinds(storage: BaseStorage) -> None:
    storage.save("k", {"v": 1})
    storage.save_string("k", "now text")
    assert storage.load_string("k") == "now text"
    with pytest.raises(StorageKindError) as err:
        storage.load("k")
    assert "text" in str(err.value) and "load_string" in str(err.value)
    assert isinstance(err.value, TypeError)
    storage.save_bytes("k", b"\x00\x01")
    assert storage.load_bytes("k") == b"\x00\x01"
    with pytest.raises(TypeError, match="load_bytes"):
        storage.load_string("k")
    storage.save("k", [1])
    assert storage.load("k") == [1]
    with pytest.raises(TypeError, match=re.escape("load('k')")):
        storage.load_bytes("k")
    assert storage.list_keys() == ["k"]
    assert storage.info("k").kind == "json"  # type: ignore[union-attr]


def test_load_any_and_getitem(storage: BaseStorage) -> None:
    storage.save("j", {"a": 1})
    storage.save_string("t", "text")
    storage.save_bytes("b", b"\x01")
    assert storage.load_any("j") == {"a": 1}
    assert storage.load_any("t") == "text"
    assert storage.load_any("b") == b"\x01"
    assert storage["t"] == "text"
    assert storage.load_any("missing", 7) == 7
    assert "j" in storage and "missing" not in storage


def test_exists_delete(storage: BaseStorage) -> None:
    storage.save("a/b/c.json", {"x": 1})
    assert storage.exists("a/b/c.json")
    assert not storage.exists("a/b")  # a folder is not a key
    assert storage.delete("a/b/c.json") is True
    assert storage.delete("a/b/c.json") is False
    assert not storage.exists("a/b/c.json")
    assert storage.list_keys() == []


def test_list_keys_sorted_with_prefix(storage: BaseStorage) -> None:
    keys = ["results/metrics.json", "results/node_stats.json", "reports/summary.md", "source/original.html", "z", "a"]
    for k in keys:
        storage.save_string(k, k)
    assert storage.list_keys() == sorted(keys)
    assert storage.list_keys("results/") == ["results/metrics.json", "results/node_stats.json"]
    assert storage.list_keys("re") == ["reports/summary.md", "results/metrics.json", "results/node_stats.json"]
    assert storage.list_keys("results/m") == ["results/metrics.json"]
    assert storage.list_keys("nothing/") == []


def test_targets_are_isolated_no_prefix_leak(make_storage: Make) -> None:
    # The original memory backend leaked keys of target 't2' into 't' (prefix match without '/').
    t = make_storage(target="t")
    t2 = t.for_target("t2")
    t.save("k", {"in": "t"})
    t2.save("k", {"in": "t2"})
    t2.save("only_t2", 1)
    assert t.list_keys() == ["k"]
    assert t2.list_keys() == ["k", "only_t2"]
    assert t.load("k") == {"in": "t"}
    assert t.load("only_t2") is None
    t2.delete("k")
    assert t.load("k") == {"in": "t"}


def test_sessions_and_targets_navigation(make_storage: Make) -> None:
    base = make_storage(target="item_001")
    base.save("k", 1)
    base.for_target("item_002").save("k", 2)
    other = base.for_session(base.session_id + "_baseline", "item_001")
    other.save("k", 0)
    assert base.targets() == ["item_001", "item_002"]
    assert base.targets(other.session_id) == ["item_001"]
    sessions = base.sessions()
    assert base.session_id in sessions and other.session_id in sessions
    assert sessions == sorted(sessions)
    assert other.load("k") == 0 and base.load("k") == 1
    assert base.for_session(other.session_id).target_id == "item_001"


def test_siblings_keep_fixed_ids(storage: BaseStorage) -> None:
    sib = storage.for_target("other")
    assert (storage.session_id, storage.target_id) != (sib.session_id, sib.target_id)
    assert sib.session_id == storage.session_id
    with pytest.raises(AttributeError):
        storage.session_id = "changed"  # type: ignore[misc]


def test_info(storage: BaseStorage) -> None:
    storage.save("m.json", {"b": 2, "a": 1})
    storage.save_string("t.txt", "héllo")
    storage.save_bytes("b.bin", b"abc")
    j, t, b = storage.info("m.json"), storage.info("t.txt"), storage.info("b.bin")
    assert isinstance(j, KeyInfo) and j.kind == "json" and j.size > 0
    assert t is not None and t.kind == "text" and t.size == len("héllo".encode())
    assert b is not None and b.kind == "bytes" and b.size == 3
    assert b.hash == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256(b"abc")
    assert re.fullmatch(r"[0-9a-f]{64}", j.hash)
    # The JSON hash is of the canonical form: key order does not change it.
    storage.save("m2.json", {"a": 1, "b": 2})
    assert storage.info("m2.json").hash == j.hash  # type: ignore[union-attr]
    if j.modified is not None:
        assert isinstance(j.modified, datetime) and j.modified.tzinfo is not None
    assert "m.json" in repr(j)


@pytest.mark.parametrize(
    "value, path",
    [
        ({"a": float("nan")}, "root['a']"),
        ({"a": [1, float("inf")]}, "root['a'][1]"),
        ({"ok": 1, "bad": {1: "int key"}}, "root['bad']"),
        ({"s": {1, 2}}, "root['s']"),
        ({"o": object()}, "root['o']"),
        ([b"bytes"], "root[0]"),
    ],
)
def test_rejected_json_names_path_and_writes_nothing(storage: BaseStorage, value: object, path: str) -> None:
    storage.save("k", {"old": True})
    with pytest.raises(StorageValueError) as err:
        storage.save("k", value)
    assert path in str(err.value)
    assert isinstance(err.value, ValueError)
    assert storage.load("k") == {"old": True}  # nothing written, old value intact
    with pytest.raises(StorageValueError):
        storage.save("new", value)
    assert not storage.exists("new")
    storage.save("after", {"still": "usable"})
    assert storage.load("after") == {"still": "usable"}


def test_cycle_rejected(storage: BaseStorage) -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    with pytest.raises(StorageValueError, match="cycle"):
        storage.save("k", loop)
    assert not storage.exists("k")


def test_wrong_types_for_string_and_bytes(storage: BaseStorage) -> None:
    with pytest.raises(StorageValueError, match="needs a str"):
        storage.save_string("k", b"bytes")  # type: ignore[arg-type]
    with pytest.raises(StorageValueError, match="needs bytes"):
        storage.save_bytes("k", "text")  # type: ignore[arg-type]
    with pytest.raises(StorageValueError, match="surrogate"):
        storage.save_string("k", "bad \ud800 text")
    assert storage.list_keys() == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs/path",
        "a//b",
        "a/./b",
        "../escape",
        "a/../../b",
        "..",
        ".hidden",
        "a/.tmp",
        "a b",
        "ünï",
        "a\\b",
        "x" * 500,
        "a/",
        "%2e%2e/x",
        "tab\tkey",
    ],
)
def test_invalid_keys_rejected_before_anything(storage: BaseStorage, key: str) -> None:
    for call in (
        lambda: storage.save(key, 1),
        lambda: storage.save_string(key, "x"),
        lambda: storage.load(key),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
        lambda: storage.info(key),
    ):
        with pytest.raises(StorageNameError) as err:
            call()
        assert "allowed" in str(err.value) or "at most" in str(err.value) or "relative" in str(err.value)
    assert storage.list_keys() == []


def test_bulk_operations(storage: BaseStorage) -> None:
    docs = {f"batch/doc_{i:03d}.json": {"i": i} for i in range(25)}
    res = storage.save_many(docs)
    assert res and not res.errors and set(res.ok) == set(docs)
    loaded = storage.load_many([*docs, "batch/missing.json"])
    assert loaded.ok["batch/missing.json"] is None
    assert all(loaded.ok[k] == v for k, v in docs.items())
    deleted = storage.delete_many(["batch/doc_000.json", "batch/missing.json"])
    assert deleted.ok == {"batch/doc_000.json": True, "batch/missing.json": False}
    assert len(storage.list_keys("batch/")) == 24


def test_bulk_partial_failure_is_reported(storage: BaseStorage) -> None:
    res = storage.save_many(
        [("good_1", {"a": 1}), ("bad key", {"a": 2}), ("bad_value", {"n": float("nan")}), ("good_2", [])]
    )
    assert set(res.ok) == {"good_1", "good_2"}
    assert set(res.failed) == {"bad key", "bad_value"}
    assert isinstance(res.errors["bad key"], StorageNameError)
    assert isinstance(res.errors["bad_value"], StorageValueError)
    assert storage.list_keys() == ["good_1", "good_2"]
    with pytest.raises(StorageError, match="2 of 4 keys failed"):
        res.raise_for_errors()
    texts = storage.save_many({"t1": "one", "t2": "two"}, kind="text")
    assert not texts.errors and storage.load_string("t2") == "two"


def test_streaming_bytes(storage: BaseStorage) -> None:
    chunk = bytes(range(256)) * 4096  # 1 MiB
    n = storage.save_stream("archive.bin", (chunk for _ in range(3)))
    assert n == 3 * len(chunk)
    got = b"".join(storage.iter_bytes("archive.bin", chunk_size=1 << 16))
    assert got == chunk * 3
    assert storage.save_stream("from_file.bin", io.BytesIO(b"file-like")) == 9
    assert storage.load_bytes("from_file.bin") == b"file-like"
    with pytest.raises(StorageKeyError):
        list(storage.iter_bytes("missing.bin"))


def test_versions_newest_first_no_collision(storage: BaseStorage) -> None:
    keys = [storage.save_version("results/metrics.json", {"run": i}) for i in range(5)]
    assert len(set(keys)) == 5
    for k in keys:
        assert re.fullmatch(r"results/metrics__\d{8}T\d{12}Z\.json", k)
    storage.save("results/metrics.json", {"unversioned": True})
    storage.save("results/metrics_other.json", {})
    assert storage.versions("results/metrics.json") == keys[::-1]
    assert storage.latest_version("results/metrics.json") == keys[-1]
    assert storage.load(keys[-1]) == {"run": 4}
    assert storage.versions("nothing/here.json") == []


def test_delete_target(storage: BaseStorage) -> None:
    for i in range(5):
        storage.save(f"k{i}", i)
    keep = storage.for_target("keep")
    keep.save("k", 1)
    assert storage.delete_target() == 5
    assert storage.list_keys() == []
    assert storage.target_id not in storage.targets()
    assert keep.load("k") == 1


def test_repr_is_short_and_deterministic(storage: BaseStorage) -> None:
    r = repr(storage)
    assert r == repr(storage) and storage.session_id in r and storage.target_id in r and len(r) < 200
    assert "<" in storage._repr_html_()


def test_load_any_reads_once(storage: BaseStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.save_string("page.html", "<p>x</p>")
    storage.save_bytes("blob.bin", b"\x00")
    calls: list[str] = []
    real = storage._read

    def counting(key: str, hint: str) -> object:
        calls.append(key)
        return real(key, hint)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "_read", counting)
    assert storage.load_any("page.html") == "<p>x</p>"
    assert storage.load_any("blob.bin") == b"\x00"
    assert storage.load_many(["page.html"]).ok == {"page.html": "<p>x</p>"}
    assert calls == ["page.html", "blob.bin", "page.html"]  # one read each, not a JSON attempt + a retry


def test_save_many_with_a_repeated_key_keeps_the_last_value(storage: BaseStorage) -> None:
    res = storage.save_many([("k", 1), ("other", 0), ("k", 2)])
    assert not res.errors and list(res.ok) == ["k", "other"]
    assert storage.load("k") == 2


def test_bad_kind_and_text_streams_are_value_errors(storage: BaseStorage) -> None:
    with pytest.raises(StorageValueError, match="kind must be one of"):
        storage.save_version("report.md", "x", kind="yaml")  # type: ignore[arg-type]
    with pytest.raises(StorageValueError, match="kind must be one of"):
        storage.save_many({"k": 1}, kind="pickle")  # type: ignore[arg-type]
    with pytest.raises(StorageValueError, match="needs bytes"):
        storage.save_stream("k.bin", io.StringIO("text, not bytes"))
    assert storage.list_keys() == []


def test_invalid_keys_are_simply_not_in_the_storage(storage: BaseStorage) -> None:
    storage.save("k", 1)
    assert "../k" not in storage and "" not in storage and 3 not in storage  # type: ignore[operator]
    assert "k" in storage


def test_kind_error_pickles() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(StorageKindError("k", "text", "json")))
    assert isinstance(err, StorageKindError) and err.stored == "text" and "load_string('k')" in str(err)


def test_a_backend_needs_only_five_methods() -> None:
    from example_backend import DictStorage

    required = set(BaseStorage.__abstractmethods__)
    assert required == {"to_config", "_write", "_read", "_remove", "_iter_keys"}
    written = {name for name in vars(DictStorage) if name.startswith("_") and callable(vars(DictStorage)[name])}
    assert written - {"__init__"} == required - {"to_config"} | {"_list_sessions", "_list_targets"}


def test_a_backend_without_navigation_says_so() -> None:
    from example_backend import NoNavigationStorage

    storage = NoNavigationStorage("s", "t", name="no-navigation")
    storage.save("k.json", {"a": 1})
    with pytest.raises(StorageNotSupported, match="cannot list sessions"):
        storage.sessions()
    with pytest.raises(StorageNotSupported, match="cannot list the targets"):
        storage.targets()
    sibling = storage.for_target("t2")  # the default sibling is rebuilt from to_config() and shares the data
    sibling.save("k.json", {"b": 2})
    assert storage.load("k.json") == {"a": 1}
    assert storage.for_target("t2").load("k.json") == {"b": 2}
    assert storage.info("k.json") == KeyInfo("k.json", "json", 7, storage.info("k.json").hash)  # type: ignore[union-attr]


@pytest.mark.parametrize("value", JSON_VALUES, ids=range(len(JSON_VALUES)))
def test_info_size_is_the_canonical_size_everywhere(storage: BaseStorage, value: object) -> None:
    # One meaning on every backend: the compact JSON encoding (the local backend stores it pretty-printed).
    storage.save("v.json", value)
    info = storage.info("v.json")
    assert info is not None
    assert info.size == len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    storage.save_string("t.txt", "héllo\n")
    storage.save_bytes("b.bin", b"\x00\x01")
    assert (storage.info("t.txt").size, storage.info("b.bin").size) == (7, 2)  # type: ignore[union-attr]


WRONG_TYPES = [
    ("save", {1, 2}),
    ("save", {"a": object()}),
    ("save", {1: "int key"}),
    ("save", b"bytes"),
    ("save_string", {"a": 1}),
    ("save_string", b"bytes"),
    ("save_string", 12),
    ("save_bytes", "text"),
    ("save_bytes", 12),
]


@pytest.mark.parametrize(("method", "value"), WRONG_TYPES, ids=[f"{m}-{type(v).__name__}" for m, v in WRONG_TYPES])
def test_a_value_of_the_wrong_type_is_a_type_error(storage: BaseStorage, method: str, value: object) -> None:
    with pytest.raises(StorageValueError) as info:
        getattr(storage, method)("k", value)
    assert isinstance(info.value, TypeError)
    assert storage.list_keys() == []


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [float("nan"), {"a": float("inf")}, _nested(600)], ids=["nan", "inf", "deep"])
def test_an_out_of_range_value_is_a_value_error_not_a_type_error(storage: BaseStorage, value: object) -> None:
    with pytest.raises(StorageValueError) as info:
        storage.save("k", value)
    assert not isinstance(info.value, TypeError)
