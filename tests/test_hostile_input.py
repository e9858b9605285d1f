"""Hostile input on every backend: bad keys, ids and values get a clear error, nothing is written, and the
storage stays usable afterwards. Runs on every backend of the ``storage`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import enum
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strict_equal import same

from perf_storage_nb import (
    BaseStorage,
    LocalStorage,
    StorageError,
    StorageNameError,
    StorageValueError,
)
from perf_storage_nb.codec import MAX_DEPTH
from perf_storage_nb.names import ID_MAX, KEY_MAX

Make = Callable[..., BaseStorage]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Oracles written from the naming rules of the contract (README), independently of names.py.
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}"
_KEY = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
_ID = re.compile(_SEGMENT)


def valid_key(key: str) -> bool:
    return bool(_KEY.fullmatch(key)) and len(key) <= KEY_MAX


def valid_id(value: str) -> bool:
    return bool(_ID.fullmatch(value)) and len(value) <= ID_MAX


_FRAGMENTS = [
    "..",
    ".",
    "",
    "a",
    "b.json",
    "%2e%2e",
    "%2E%2E%2F",
    "\\",
    "..\\..",
    "\x00",
    "~",
    "C:",
    " ",
    "\n",
    "ü",
    "😀",
    "\u202e",
    "\ud800",
    ".hidden",
    "x" * 101,
    "/",
    "?q=1",
    "#frag",
    "*",
    "<script>",
    "etc",
    "passwd",
]
hostile_names = st.one_of(
    st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=5).map("/".join),
    st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=4).map("".join),
    st.text(max_size=30),
    st.sampled_from(
        ["/etc/passwd", "../../../../etc/passwd", "a/" * 201 + "a", "a" * (KEY_MAX + 1), "file:///etc/passwd"]
    ),
)

# Every call that takes a key: each must refuse an invalid key with StorageNameError, before any I/O.
KEY_OPS: dict[str, Callable[[BaseStorage, str], Any]] = {
    "save": lambda s, k: s.save(k, {"pwned": True}),
    "save_string": lambda s, k: s.save_string(k, "<script>alert(1)</script>"),
    "save_bytes": lambda s, k: s.save_bytes(k, b"\x00pwned"),
    "save_stream": lambda s, k: s.save_stream(k, [b"pwned"]),
    "save_version": lambda s, k: s.save_version(k, 1),
    "load": lambda s, k: s.load(k),
    "load_string": lambda s, k: s.load_string(k),
    "load_bytes": lambda s, k: s.load_bytes(k),
    "load_any": lambda s, k: s.load_any(k),
    "getitem": lambda s, k: s[k],
    "iter_bytes": lambda s, k: list(s.iter_bytes(k)),
    "exists": lambda s, k: s.exists(k),
    "delete": lambda s, k: s.delete(k),
    "info": lambda s, k: s.info(k),
    "versions": lambda s, k: s.versions(k),
}


def files_under(folder: Path) -> list[str]:
    """Every path below ``folder`` (files and folders), to prove nothing was created anywhere."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def state(storage: BaseStorage) -> dict[str, Any]:
    """What a user can see: every key with its value, plus the sessions and targets."""
    return {
        "keys": {k: storage.load_any(k) for k in storage.list_keys()},
        "sessions": storage.sessions(),
        "targets": storage.targets(),
    }


def still_usable(storage: BaseStorage) -> None:
    storage.save("probe/after.json", {"ok": [1, "ü"]})
    assert storage.load("probe/after.json") == {"ok": [1, "ü"]}
    assert storage.delete("probe/after.json")


def is_clear(exc: BaseException) -> bool:
    """A clear error is ours (StorageError), has a one-sentence message, and does not dump a traceback."""
    text = str(exc)
    return isinstance(exc, StorageError) and 10 < len(text) < 20_000 and "Traceback" not in text


# ---- keys and ids ---------------------------------------------------------------------------------------
@FUZZ
@given(key=hostile_names)
def test_hostile_keys_are_refused_by_every_call(storage: BaseStorage, tmp_path: Path, key: str) -> None:
    storage.save("baseline.json", {"v": 1})
    before, disk = state(storage), files_under(tmp_path)
    if valid_key(key):  # the fragments sometimes make a valid key: then it must simply work
        storage.save_string(key, "fine")
        assert storage.load_string(key) == "fine"
        assert storage.delete(key)
    else:
        for name, op in KEY_OPS.items():
            with pytest.raises(StorageNameError) as info:
                op(storage, key)
            assert is_clear(info.value), (name, info.value)
            assert isinstance(info.value, ValueError)
        for bulk in (storage.save_many({key: 1}), storage.load_many([key]), storage.delete_many([key])):
            assert bulk.failed == [key] and isinstance(bulk.errors[key], StorageNameError)
    assert state(storage) == before
    assert files_under(tmp_path) == disk
    still_usable(storage)


@FUZZ
@given(name=hostile_names)
def test_hostile_session_and_target_ids_are_refused(make_storage: Make, tmp_path: Path, name: str) -> None:
    storage = make_storage()
    storage.save("baseline.json", {"v": 1})
    before, disk = state(storage), files_under(tmp_path)
    if valid_id(name):
        assert storage.for_target(name).target_id == name
        return
    calls: list[Callable[[], Any]] = [
        lambda: make_storage(target=name),
        lambda: storage.for_target(name),
        lambda: storage.for_session(name),
        lambda: storage.for_session("ok", name),
        lambda: storage.targets(session=name),
    ]
    if name:  # make_storage(session="") means "a fresh unique session"
        calls.append(lambda: make_storage(session=name))
    for call in calls:
        with pytest.raises(StorageNameError) as info:
            call()
        assert is_clear(info.value) and "allowed" in str(info.value)
    assert state(storage) == before
    assert files_under(tmp_path) == disk
    still_usable(storage)


@pytest.mark.parametrize(
    "key, why",
    [
        ("a" * (KEY_MAX + 1), "at most"),
        ("x" * 101, "at most"),
        ("../escape", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("/abs", "absolute"),
        ("a\\..\\b", "contains"),
        ("%2e%2e/x", "contains"),
        ("ünï", "contains"),
        (".hidden", "starts with '.'"),
    ],
)
def test_rejections_say_what_was_wrong_and_what_is_allowed(storage: BaseStorage, key: str, why: str) -> None:
    with pytest.raises(StorageNameError) as info:
        storage.save(key, 1)
    assert why in str(info.value)
    assert "allowed" in str(info.value) or "at most" in str(info.value)
    assert storage.list_keys() == []


# ---- values ---------------------------------------------------------------------------------------------
class Colour(enum.IntEnum):
    RED = 1


class Tag(str):
    pass


_BAD_LEAVES = [
    float("nan"),
    float("inf"),
    -float("inf"),
    "lone \ud800 surrogate",
    Colour.RED,
    Tag("t"),
    b"bytes",
    bytearray(b"x"),
    {1, 2},
    frozenset(),
    object(),
    1j,
    Decimal("1.5"),
    print,
    type,
]
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(["", "\x00", "\u2028\u2029", "e\u0301", "😀" * 3, "\r\n", '"\\', "<script>alert(1)</script>"]),
    st.sampled_from(_BAD_LEAVES),
    st.builds(lambda: 10**5000),  # built lazily: its repr alone would raise (int too long to print)
)
_dict_keys = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.none(),
    st.booleans(),
    st.floats(),
    st.just((1, 2)),
    st.just("\udc80"),
    st.just(Tag("k")),
)
hostile_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(_dict_keys, inner, max_size=4)
    ),
    max_leaves=20,
)


def json_ok(value: Any) -> bool:
    """Independent oracle: exact JSON types only, finite floats, str keys, valid Unicode, printable ints."""
    kind = type(value)
    if value is None or kind is bool:
        return True
    if kind is int:
        return len(str(abs(value))) <= sys.get_int_max_str_digits() if abs(value) < 10**4000 else False
    if kind is float:
        return math.isfinite(value)
    if kind is str:
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if kind in (list, tuple):
        return all(json_ok(v) for v in value)
    if kind is dict:
        return all(type(k) is str and json_ok(k) and json_ok(v) for k, v in value.items())
    return False


def as_json(value: Any) -> Any:
    """What a JSON round-trip gives back (tuples come back as lists)."""
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


@FUZZ
@given(value=hostile_values)
def test_hostile_values_are_refused_whole_or_stored_exactly(storage: BaseStorage, tmp_path: Path, value: Any) -> None:
    storage.save("doc.json", {"old": True})
    before, disk = state(storage), files_under(tmp_path)
    if json_ok(value):
        storage.save("doc.json", value)
        assert same(storage.load("doc.json"), as_json(value))
        return
    with pytest.raises(StorageValueError) as info:
        storage.save("doc.json", value)
    assert is_clear(info.value) and "root" in str(info.value)  # names the offending path inside the value
    assert state(storage) == before  # the old value survives: a rejected save writes nothing
    assert files_under(tmp_path) == disk
    still_usable(storage)


def _cycle_list() -> Any:
    x: list[Any] = [1]
    x.append(x)
    return x


def _cycle_dict() -> Any:
    d: dict[str, Any] = {"a": {"b": []}}
    d["a"]["b"].append(d)
    return d


def _nested(depth: int, dicts: bool = False) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"k": value} if dicts else [value]
    return value


@pytest.mark.parametrize(
    "value, words",
    [
        (_cycle_list(), "cycle"),
        (_cycle_dict(), "cycle"),
        (_nested(MAX_DEPTH + 1), "deeper"),
        (_nested(50_000), "deeper"),  # far past the recursion limit: still a clear error, not a RecursionError
        (_nested(50_000, dicts=True), "deeper"),
        ({"a": [1, {"b": float("nan")}]}, "root['a'][1]['b']"),
        ({"ok": 1, 7: "int key"}, "int dict key"),
        ({("t", 1): 1}, "tuple dict key"),
        ([Colour.RED], "subclass"),
        ({"s": "bad \udcff"}, "surrogate"),
        ([10**5000], "too long"),
    ],
    ids=[
        "cycle-list",
        "cycle-dict",
        "depth-501",
        "depth-50k",
        "depth-50k-dicts",
        "nan-path",
        "int-key",
        "tuple-key",
        "intenum",
        "surrogate",
        "huge-int",
    ],
)
def test_pathological_values_get_a_clear_error(storage: BaseStorage, value: Any, words: str) -> None:
    storage.save("doc.json", "old")
    with pytest.raises(StorageValueError) as info:
        storage.save("doc.json", value)
    assert words in str(info.value) and is_clear(info.value)
    assert storage.load("doc.json") == "old"
    result = storage.save_many({"good.json": 1, "bad.json": value})
    assert result.failed == ["bad.json"] and isinstance(result.errors["bad.json"], StorageValueError)
    assert storage.list_keys() == ["doc.json", "good.json"]  # the good item is saved, the bad one is not
    still_usable(storage)


def test_deep_but_allowed_value_round_trips(storage: BaseStorage) -> None:
    value = _nested(MAX_DEPTH - 1, dicts=True)
    storage.save("deep.json", value)
    assert storage.load("deep.json") == value


def test_unicode_everywhere_in_values_round_trips(storage: BaseStorage) -> None:
    text = (
        "".join(chr(c) for c in range(0x20, 0x3000) if not 0xD800 <= c <= 0xDFFF)
        + "\x00\r\n\u2028😀👩‍👩‍👧 e\u0301 \u202e"
    )
    storage.save("u.json", {text: [text, {"k": text}]})
    storage.save_string("u.html", f"<p>{text}</p>")
    assert storage.load("u.json") == {text: [text, {"k": text}]}
    assert storage.load_string("u.html") == f"<p>{text}</p>"


@pytest.mark.parametrize("mb", [8])
def test_huge_values_are_stored_exactly_or_refused_clearly(storage: BaseStorage, mb: int) -> None:
    """Large bodies: either stored byte-exact or refused with a clear error that leaves nothing behind."""
    size = mb << 20
    blob = os.urandom(size)
    text = ("ünï😀 " * (size // 12))[: size // 2]
    doc = {"rows": list(range(100_000)), "text": text}
    for key, save, load, value in [
        ("big.bin", storage.save_bytes, storage.load_bytes, blob),
        ("big.txt", storage.save_string, storage.load_string, text),
        ("big.json", storage.save, storage.load, doc),
    ]:
        try:
            save(key, value)
        except StorageValueError as exc:  # a backend with a size limit must say so and store nothing
            assert "size" in str(exc) or "large" in str(exc), exc
            assert not storage.exists(key)
        else:
            assert load(key) == value
            assert storage.delete(key)
    still_usable(storage)


def test_wrong_argument_types_are_clear(storage: BaseStorage) -> None:
    cases: list[tuple[Callable[[], Any], type[BaseException]]] = [
        (lambda: storage.save_string("k", b"bytes"), StorageValueError),
        (lambda: storage.save_string("k", None), StorageValueError),
        (lambda: storage.save_bytes("k", "text"), StorageValueError),
        (lambda: storage.save_bytes("k", 123), StorageValueError),
        (lambda: storage.save_stream("k", [b"ok", "not bytes"]), StorageValueError),
        (lambda: storage.save(None, 1), StorageNameError),  # type: ignore[arg-type]
        (lambda: storage.save(b"k", 1), StorageNameError),  # type: ignore[arg-type]
        (lambda: storage.list_keys(None), StorageNameError),  # type: ignore[arg-type]
        (lambda: storage.save_many({"k": 1}, kind="pickle"), StorageValueError),  # type: ignore[arg-type]
    ]
    for call, error in cases:
        with pytest.raises(error) as info:
            call()
        assert is_clear(info.value)
    assert storage.list_keys() == []
    still_usable(storage)


# ---- hostile content planted on disk (local backend) ----------------------------------------------------
def _local(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage("s", "t", root=tmp_path / "root")
    storage.save("ok.json", {"ok": True})
    return storage


def test_special_files_planted_under_the_root_are_not_keys(tmp_path: Path) -> None:
    storage = _local(tmp_path)
    folder = tmp_path / "root" / "s" / "t"
    os.symlink("/etc/passwd", folder / "passwd")  # a link to a real file outside
    os.symlink(folder / "nowhere", folder / "dangling")
    (folder / "dir.json").mkdir()
    assert storage.list_keys() == ["ok.json"]
    assert not storage.exists("dir.json")
    with pytest.raises(StorageNameError, match="symbolic link"):
        storage.load_string("passwd")
    still_usable(storage)


def test_a_folder_is_not_a_key(tmp_path: Path) -> None:
    storage = _local(tmp_path)
    storage.save("results/a.json", 1)
    assert storage.load("results") is None and storage.load_string("results") is None
    assert storage.info("results") is None and not storage.exists("results")


def test_fifo_planted_under_the_root_does_not_hang_a_load(tmp_path: Path) -> None:
    storage = _local(tmp_path)
    os.mkfifo(tmp_path / "root" / "s" / "t" / "pipe.json")
    # In a child process with a timeout, so a hang fails this test instead of hanging the suite.
    code = (
        "import sys; from perf_storage_nb import LocalStorage; s = LocalStorage('s', 't', root=sys.argv[1]); "
        "print(s.load('pipe.json'), s.info('pipe.json'), s.exists('pipe.json'))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "root")], capture_output=True, text=True, timeout=5
        )
    except subprocess.TimeoutExpired:
        pytest.fail("load() of a FIFO planted under the root blocked")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "None", "False"]
    assert storage.list_keys() == ["ok.json"]


def test_every_listed_key_can_be_loaded(tmp_path: Path) -> None:
    storage = _local(tmp_path)
    folder = tmp_path / "root" / "s" / "t"
    for name in ["with space.txt", "ünï.txt", "semi;colon.txt"]:
        (folder / name).write_text("hand-made")
    for key in storage.list_keys():
        storage.load_any(key)  # raises StorageNameError today for the names above


# ---- secrets: the API key never shows (cache service backend) -------------------------------------------
def test_api_key_never_appears_in_reprs_errors_or_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
    import logging

    from perf_storage_nb import create_storage
    from perf_storage_nb.backends.cache_service import CacheServiceStorage

    server = request.getfixturevalue("cache_server")
    secret = server.api_key
    caplog.set_level(logging.DEBUG)  # httpx/httpcore log every request at DEBUG: headers must not leak there
    storage = CacheServiceStorage("secrets", "t1", url=server.url, api_key=secret)
    storage.save("doc.json", {"ok": True})
    seen = [
        repr(storage),
        str(storage),
        storage.describe(),
        repr(storage.client),
        str(storage.to_config()),
        storage._repr_html_(),
        repr(storage.for_target("t2")),
    ]
    wrong = CacheServiceStorage("secrets", "t1", url=server.url, api_key=secret[::-1])
    for call in (
        lambda: wrong.save("doc.json", 1),
        lambda: wrong.load("doc.json"),
        lambda: storage.save("../x", 1),
        lambda: storage.save("doc.json", float("nan")),
    ):
        with pytest.raises(StorageError) as info:
            call()
        seen += [str(info.value), repr(info.value), str(info.value.__cause__)]
    rebuilt = create_storage({**storage.to_config(), "api_key": secret})
    assert rebuilt.load("doc.json") == {"ok": True}
    out, err = capfd.readouterr()
    seen += [caplog.text, out, err]
    assert caplog.records, "no log records captured: the log check checked nothing"
    for text in seen:
        assert secret not in text and secret[::-1] not in text
