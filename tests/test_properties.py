"""Property-based tests (hypothesis): valid keys and values round-trip exactly on every backend."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strict_equal import same

from perf_storage_nb import BaseStorage, StorageNameError, StorageValueError
from perf_storage_nb.names import KEY_MAX, check_id, check_key

PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_first = st.sampled_from("abcxyzABCXYZ0189_-")
_rest = st.text(alphabet="abcxyzABCXYZ0189._-", max_size=15)
segment = st.builds(lambda a, b: a + b, _first, _rest)
valid_keys = st.lists(segment, min_size=1, max_size=4).map("/".join)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=25,
)

# An oracle written independently of names.py: the documented key grammar.
_KEY_GRAMMAR = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99})*")


@PROFILE
@given(key=valid_keys, value=json_values)
def test_any_json_value_round_trips_exactly(storage: BaseStorage, key: str, value: Any) -> None:
    storage.save(key, value)
    assert same(storage.load(key), value)
    assert storage.exists(key)
    assert key in storage.list_keys()
    assert storage.delete(key)


@PROFILE
@given(key=valid_keys, text=st.text())
def test_any_text_round_trips_exactly(storage: BaseStorage, key: str, text: str) -> None:
    storage.save_string(key, text)
    assert storage.load_string(key) == text
    storage.delete(key)


@PROFILE
@given(key=valid_keys, data=st.binary(max_size=2048))
def test_any_bytes_round_trip_exactly(storage: BaseStorage, key: str, data: bytes) -> None:
    storage.save_bytes(key, data)
    assert storage.load_bytes(key) == data
    storage.delete(key)


@PROFILE
@given(key=st.text(max_size=60) | st.text(alphabet="./_-a%\\ ", max_size=12))
def test_invalid_keys_are_always_rejected(storage: BaseStorage, key: str) -> None:
    valid = bool(_KEY_GRAMMAR.fullmatch(key)) and len(key) <= KEY_MAX
    if valid:
        assert check_key(key) == key
        return
    with pytest.raises(StorageNameError):
        storage.save(key, 1)
    with pytest.raises(StorageNameError):
        storage.load_string(key)
    assert storage.list_keys() == []


@settings(max_examples=200, deadline=None)
@given(key=st.text(max_size=450))
def test_key_validation_matches_the_documented_grammar(key: str) -> None:
    expected = bool(_KEY_GRAMMAR.fullmatch(key)) and len(key) <= KEY_MAX
    try:
        check_key(key)
        accepted = True
    except StorageNameError:
        accepted = False
    assert accepted == expected


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=120))
def test_id_validation(value: str) -> None:
    expected = bool(re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", value)) and len(value) <= 100
    try:
        check_id(value, "session_id")
        accepted = True
    except StorageNameError:
        accepted = False
    assert accepted == expected


@PROFILE
@given(
    value=st.recursive(
        st.floats(allow_nan=True, allow_infinity=True) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.integers() | st.text(max_size=3), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_values_with_nan_or_non_str_keys_are_rejected_or_exact(storage: BaseStorage, value: Any) -> None:
    try:
        storage.save("k", value)
    except StorageValueError as exc:
        assert "root" in str(exc)
        assert not storage.exists("k")
        return
    assert same(storage.load("k"), value)
    storage.delete("k")
