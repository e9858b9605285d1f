"""The error mapping of the cache service client: one table from httpx exceptions to outcomes, one rule for statuses.

In the style of httpx's ``test_httpcore_all_exceptions_mapped``: every exception class httpx exports has an
explicit entry, so a class added by a new httpx version fails here instead of slipping through unmapped.
"""

from __future__ import annotations

import httpx
import pytest

from perf_storage_nb import (
    StorageAuthError,
    StorageBackendError,
    StorageConnectionError,
    StorageError,
    StorageNotSupported,
)
from perf_storage_nb.backends.cache_service import CacheServiceClient
from perf_storage_nb.backends.cache_service.http_errors import (
    DROPPED,
    EXCEPTION_MAP,
    FATAL,
    POOL,
    REFUSED,
    TIMEOUT,
    Call,
    Transient,
    mapped_errors,
    may_retry,
    outcome_of,
    status_error,
)

HTTPX_EXCEPTIONS = sorted(
    (v for v in vars(httpx).values() if isinstance(v, type) and issubclass(v, Exception)), key=lambda c: c.__name__
)
CALL = Call("GET", "/ns/x", "http://a:1", ("http://a:1", "http://b:2"), 2.0, 4, "x-api-key")


def _instance(cls: type[Exception]) -> Exception:
    """An instance of any httpx exception class (their constructors differ; the message is what matters)."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, "boom")
    return exc


def test_every_httpx_exception_class_is_mapped() -> None:
    unmapped = [cls.__name__ for cls in HTTPX_EXCEPTIONS if cls not in EXCEPTION_MAP]
    if unmapped:
        pytest.fail(f"httpx exceptions without an entry in EXCEPTION_MAP: {', '.join(unmapped)}")
    assert all(issubclass(cls, Exception) for cls in EXCEPTION_MAP)


def test_the_most_specific_class_decides() -> None:
    assert outcome_of(_instance(httpx.PoolTimeout)) is POOL  # a TimeoutException, but our pool is to blame
    assert outcome_of(_instance(httpx.ConnectTimeout)) is REFUSED  # no connection: the next replica
    assert outcome_of(_instance(httpx.ReadTimeout)) is TIMEOUT
    assert outcome_of(_instance(httpx.RemoteProtocolError)) is DROPPED
    assert outcome_of(_instance(httpx.LocalProtocolError)) is FATAL  # our side: sending again would not help

    class Future(httpx.ReadError):  # a subclass a later httpx might add: its parent decides
        pass

    assert outcome_of(_instance(Future)) is DROPPED
    assert outcome_of(ValueError("not from httpx")) is None


@pytest.mark.parametrize("cls", HTTPX_EXCEPTIONS, ids=[c.__name__ for c in HTTPX_EXCEPTIONS])
def test_no_httpx_exception_leaves_the_block_raw(cls: type[Exception]) -> None:
    exc = _instance(cls)
    with pytest.raises((Transient, StorageError)) as info, mapped_errors(CALL):
        raise exc
    assert info.value.__cause__ is exc
    if isinstance(info.value, Transient):
        assert info.value.cause is exc and info.value.outcome.transient
        error = info.value.outcome.error_for(CALL, exc)
        assert isinstance(error, StorageConnectionError)
    else:
        assert type(info.value) is StorageBackendError
        assert cls is httpx.PoolTimeout or cls.__name__ in str(info.value)


def test_other_exceptions_pass_through_unchanged() -> None:
    with pytest.raises(KeyError), mapped_errors(CALL):
        raise KeyError("ours")


def test_messages_name_the_request_never_its_headers() -> None:
    exc = _instance(httpx.ConnectError)
    assert str(REFUSED.error_for(CALL, exc)) == (
        "cannot connect to the cache service at http://a:1, http://b:2 (ConnectError: boom); is it running? "
        "start one with `perf-storage serve`"
    )
    assert (
        str(TIMEOUT.error_for(CALL, exc))
        == "the cache service at http://a:1 did not answer GET /ns/x within 2 s (timeout)"
    )
    assert "at http://b:2 kept failing for GET /ns/x" in str(DROPPED.error_for(CALL, exc, current="http://b:2"))
    assert "client's pool of 4 within 2 s for GET /ns/x" in str(POOL.error_for(CALL, exc))


def _response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://a:1/ns/x"), **kwargs)  # type: ignore[arg-type]


def test_status_errors() -> None:
    auth = status_error(CALL, _response(401, json={"message": "Invalid API key value"}), lambda: "never asked")
    assert isinstance(auth, StorageAuthError) and "'x-api-key'" in str(auth) and "Invalid API key value" in str(auth)
    crash = {"detail": "An unexpected error occurred.", "error": "boom", "stack_trace": "Traceback ..."}
    server = status_error(CALL, _response(500, json=crash), lambda: "never asked")
    assert type(server) is StorageBackendError and "boom" in str(server) and "Traceback" not in str(server)
    assert may_retry(500, server) and may_retry(503, server) and not may_retry(400, server)
    listing = {"detail": "x", "error": "", "stack_trace": "... NotImplementedError ..."}
    unsupported = status_error(CALL, _response(500, json=listing), lambda: "storage mode 'local_disk'")
    assert isinstance(unsupported, StorageNotSupported) and "storage mode 'local_disk'" in str(unsupported)
    assert not may_retry(500, unsupported)  # a mode that cannot list answers 500 every time


def test_an_invalid_url_is_a_backend_error_not_a_raw_httpx_one() -> None:
    client = CacheServiceClient("http://mock:1", transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    with pytest.raises(StorageBackendError, match="InvalidURL") as info:
        client.raw_files("a\x00b")
    assert isinstance(info.value.__cause__, httpx.InvalidURL)
    client.close()
