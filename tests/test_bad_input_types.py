"""Bad input at the library level: wrong types are TypeErrors, bad values ValueErrors, all StorageErrors;
malformed URLs and secrets inside them never reach a message."""

from __future__ import annotations

import datetime
import decimal
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perf_storage_nb import (
    MemoryStorage,
    StorageConfigError,
    StorageError,
    StorageNameError,
    StorageValueError,
    check_id,
    check_key,
    create_storage,
    target_id_from_text,
)
from perf_storage_nb.redact import redact_url

NOT_JSON = st.one_of(
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.text(max_size=3), max_size=3),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
    st.binary(max_size=5),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(),
    st.builds(object),
)


def _inside(leaf: object) -> st.SearchStrategy[object]:
    """``leaf`` alone, or nested at some depth inside JSON lists and dicts."""
    return st.recursive(
        st.just(leaf),
        lambda inner: (
            st.lists(inner, min_size=1, max_size=2)
            | st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=2)
        ),
        max_leaves=4,
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_type_json_cannot_hold_is_a_type_error_anywhere_in_the_value(data: st.DataObject) -> None:
    leaf = data.draw(NOT_JSON)
    value = data.draw(_inside(leaf))
    storage = MemoryStorage("s", "t")
    with pytest.raises(StorageValueError) as info:
        storage.save("k", value)
    assert isinstance(info.value, TypeError), info.value
    assert storage.list_keys() == []


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_an_out_of_range_number_is_a_value_error_not_a_type_error(data: st.DataObject) -> None:
    leaf = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    value = data.draw(_inside(leaf))
    with pytest.raises(StorageValueError) as info:
        MemoryStorage("s", "t").save("k", value)
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize("name", [12, None, b"key", 1.5, ["k"], ("k",)])
def test_names_that_are_not_str_are_type_errors(name: object) -> None:
    for check in (check_key, check_id):
        with pytest.raises(StorageNameError) as info:
            check(name)
        assert isinstance(info.value, TypeError)
    with pytest.raises(TypeError):
        target_id_from_text(name)  # type: ignore[arg-type]
    with pytest.raises(StorageNameError) as caught:
        MemoryStorage("s", "t").load(name)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize("config", [12, 1.5, b"memory://", ["memory://"]])
def test_a_config_of_the_wrong_type_is_a_type_error(config: object) -> None:
    with pytest.raises(StorageConfigError) as info:
        create_storage(config)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://[::1?api_key=SECRET-123456",
        "memory://[x",
        "https://[zz]:80/path?token=SECRET-123456",
        "weird://host?api_key=SECRET-123456",
        "file://otherhost/x?password=SECRET-123456",
    ],
)
def test_malformed_urls_are_config_errors_without_secrets(url: str) -> None:
    with pytest.raises(StorageConfigError) as info:
        create_storage(url, session_id="s", target_id="t")
    assert "SECRET-123456" not in str(info.value)
    assert "memory://" in str(info.value) or "file:///" in str(info.value)  # names the accepted forms


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host:1/x", "http://***@host:1/x"),
        ("http://h?api_key=abc&namespace=n", "http://h?api_key=***&namespace=n"),
        ("http://h/?x-api-key=abc;token=t", "http://h/?x-api-key=***;token=***"),
        ("http://[::1?apikey=abc", "http://[::1?apikey=***"),
        ("memory://name", "memory://name"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@settings(max_examples=200, deadline=None)
@given(url=st.text(max_size=60), secret=st.text(alphabet="ABCDEFGHJK0123456789", min_size=8, max_size=16))
def test_no_url_echoes_an_api_key_in_its_error(url: str, secret: str) -> None:
    assume(secret not in url)  # only the secret's own occurrence must disappear
    for text in (f"{url}?api_key={secret}", f"http://{url}?api_key={secret}", f"http://u:{secret}@{url}"):
        try:
            storage = create_storage(text, session_id="s", target_id="t")
        except StorageError as exc:
            assert secret not in str(exc)
        else:
            assert secret not in repr(storage) and secret not in str(storage.to_config())
            storage.close()


def test_types_and_dates_are_not_silently_converted() -> None:
    storage = MemoryStorage("s", "t")
    for value in (decimal.Decimal("1.5"), datetime.date(2026, 1, 1), {"when": datetime.datetime(2026, 1, 1)}):
        with pytest.raises(TypeError, match="not JSON-serialisable"):
            storage.save("k", value)
