"""Options of the cache service client and storage are checked by the constructor (issue 11, item 6): a bad
one is a StorageConfigError naming the option and the accepted form (a StorageConfigTypeError, also a
TypeError, for a value of the wrong type), never a failure at the first request.

The oracles below are written from the README's option list, independently of options.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_storage_nb import (
    StorageConfigError,
    StorageConfigTypeError,
    StorageConnectionError,
    StorageNameError,
    create_storage,
)
from perf_storage_nb.backends.cache_service import CacheServiceClient, CacheServiceStorage

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


#: option -> (right type?, valid value?) written from the documented forms
ORACLES: dict[str, tuple[Callable[[Any], bool], Callable[[Any], bool]]] = {
    "timeout": (_number, lambda v: math.isfinite(v) and 0 < v <= 86_400),
    "retries": (_int, lambda v: v >= 0),
    "max_connections": (_int, lambda v: v >= 1),
    "namespace": (
        lambda v: isinstance(v, str),
        lambda v: bool(v) and len(v) <= 128 and v.isascii() and all(c.isalnum() or c in "_-" for c in v),
    ),
}
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.0, -0.0, 1e-9, 86_400, 86_400.5, 1e300, 5e-324, float("nan"), float("-inf")]),
    st.text(max_size=6),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
)


def _answer_storage_info(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"storage_mode": "memory", "ttl_hours": 24})


@settings(max_examples=400, deadline=None)
@given(option=st.sampled_from(sorted(ORACLES)), value=VALUES)
def test_each_option_is_checked_by_the_constructor(option: str, value: Any) -> None:
    right_type, valid = ORACLES[option]
    transport = httpx.MockTransport(_answer_storage_info)
    try:
        client = CacheServiceClient("http://mock.test", transport=transport, **{option: value})
    except StorageNameError as exc:  # a namespace str the server would rewrite: a name error, as everywhere
        assert option == "namespace" and isinstance(value, str) and not valid(value), exc
        return
    except StorageConfigError as exc:
        assert not (right_type(value) and valid(value)), f"{option}={value!r} refused: {exc}"
        assert isinstance(exc, TypeError) == (not right_type(value)), exc
        assert option in str(exc)
        return
    assert right_type(value) and valid(value), f"{option}={value!r} was accepted"
    assert client.check() == "memory"  # and the first request works
    client.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seconds=st.one_of(
        st.floats(min_value=1e-9, max_value=86_400),
        st.sampled_from([1e-300, 5e-324, 0.001, 86_400.0, 86_399.999]),
    )
)
def test_an_accepted_timeout_works_on_a_real_socket(seconds: float, cache_server: Any) -> None:
    # Beyond the documented maximum, sockets overflow (OverflowError at the first request); within it, a real
    # request either answers or times out as a StorageConnectionError, never anything else.
    client = CacheServiceClient(cache_server.url, api_key=cache_server.api_key, timeout=seconds, retries=0)
    try:
        assert client.check() == "memory"
    except StorageConnectionError as exc:
        assert "within" in str(exc) or "cannot connect" in str(exc)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("timeout", float("nan"), StorageConfigError),
        ("timeout", float("inf"), StorageConfigError),
        ("timeout", 0, StorageConfigError),
        ("timeout", -1.0, StorageConfigError),
        ("timeout", 1e12, StorageConfigError),
        ("timeout", "30", StorageConfigTypeError),
        ("timeout", True, StorageConfigTypeError),
        ("retries", -1, StorageConfigError),
        ("retries", True, StorageConfigTypeError),
        ("retries", 2.0, StorageConfigTypeError),
        ("namespace", 12, StorageConfigTypeError),
        ("namespace", b"ns", StorageConfigTypeError),
        ("url", 8801, StorageConfigTypeError),
        ("url", b"http://127.0.0.1:1", StorageConfigTypeError),
        ("url", ["http://127.0.0.1:1", 2], StorageConfigTypeError),
        ("url", "http://127.0.0.1:1/?namespace=x", StorageConfigError),
        ("client", "http://127.0.0.1:1", StorageConfigTypeError),
        ("owns_client", "yes", StorageConfigTypeError),
    ],
)
def test_the_storage_constructor_refuses_bad_options(option: str, value: Any, error: type[Exception]) -> None:
    options = {"url": "http://127.0.0.1:1", option: value}
    with pytest.raises(error) as info:
        CacheServiceStorage("s", "t", **options)
    message = str(info.value)
    assert option in message or (option == "url" and "URL" in message)
    assert "must be" in message or "expected" in message or "takes none" in message  # the accepted form


def test_max_connections_is_checked_by_the_client() -> None:
    for value, error in ((0, StorageConfigError), (-3, StorageConfigError), (2.5, StorageConfigTypeError)):
        with pytest.raises(error, match="max_connections must be an int >= 1"):
            CacheServiceClient("http://127.0.0.1:1", max_connections=value)  # type: ignore[arg-type]
    with pytest.raises(StorageConfigTypeError, match="transport"):
        CacheServiceClient("http://127.0.0.1:1", transport="wsgi")  # type: ignore[arg-type]


def test_url_query_options_are_checked_at_creation() -> None:
    # The factory turns ?timeout=nan into float("nan"): refused when the storage is built, not at a request.
    for query in ("timeout=nan", "timeout=inf", "timeout=0", "retries=-2"):
        with pytest.raises(StorageConfigError):
            create_storage(f"http://127.0.0.1:1?{query}", session_id="s", target_id="t")
