"""How values travel as child-file bodies: what the server refuses is wrapped, and unwrapped again on the way back.

* JSON objects are stored natively; any other JSON value (and a dict whose only key is the marker) is
  wrapped as ``{"__psnb_value__": value}`` because the server only accepts objects.
* The empty string is sent as the JSON literal ``""`` and empty bytes as a fixed sentinel, because the
  server rejects empty bodies; bytes that happen to start with the sentinel get it prefixed once more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any, Self

import httpx

from ...errors import StorageBackendError
from ...kinds import Kind

__all__ = [
    "EMPTY_BYTES",
    "VALUE_MARKER",
    "ResponseChunks",
    "UploadCounter",
    "decode_body",
    "decode_json",
    "encode_body",
]

VALUE_MARKER = "__psnb_value__"
_WRAP_HEAD = b'{"' + VALUE_MARKER.encode() + b'":'
#: what empty bytes are stored as (the server answers 400 to an empty body)
EMPTY_BYTES = b"\x00perf_storage_nb:empty-bytes:7f3a9c1e\x00"


def encode_body(kind: Kind, payload: bytes) -> tuple[bytes, str]:
    """The body and content type that store ``payload`` (our encoded value of ``kind``) on the server."""
    if kind == "json":
        if payload[:1] == b"{" and not (payload.startswith(_WRAP_HEAD) and _marker_only(payload)):
            return payload, "application/json"
        return _WRAP_HEAD + payload + b"}", "application/json"
    if kind == "text":
        if not payload:
            return b'""', "application/json"  # the server rejects an empty body; a JSON "" literal is accepted
        return payload, "text/plain; charset=utf-8"
    if not payload or payload.startswith(EMPTY_BYTES):
        return EMPTY_BYTES + payload, "application/octet-stream"
    return payload, "application/octet-stream"


def decode_body(kind: Kind, body: bytes) -> bytes:
    """Our payload of ``kind`` from a stored body (the empty-bytes sentinel removed)."""
    if kind == "bytes" and body.startswith(EMPTY_BYTES):
        return body[len(EMPTY_BYTES) :]
    return body


def decode_json(payload: bytes) -> Any:
    """The JSON value of a stored json payload, unwrapped from the marker object."""
    value = json.loads(payload)
    if type(value) is dict and len(value) == 1 and VALUE_MARKER in value:
        return value[VALUE_MARKER]
    return value


def _marker_only(payload: bytes) -> bool:
    value = json.loads(payload)
    return isinstance(value, dict) and list(value) == [VALUE_MARKER]


class UploadCounter:
    """Iterates chunks for a streamed upload, counting bytes and applying the empty/sentinel rule."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        it = iter(self._chunks)
        head = b""
        for chunk in it:
            head += chunk
            if len(head) >= len(EMPTY_BYTES):
                break
        self.count = len(head)
        if not head or head.startswith(EMPTY_BYTES):
            yield EMPTY_BYTES
        if head:
            yield head
        for chunk in it:
            self.count += len(chunk)
            if chunk:
                yield chunk


class ResponseChunks(Iterator[bytes]):
    """The chunks of one streamed binary value; closing it frees the pooled connection.

    Closed when exhausted, on ``close()``, on leaving a ``with`` block, and when garbage-collected: an
    abandoned iterator must not keep one of the client's pooled connections checked out.
    """

    def __init__(self, response: httpx.Response, chunk_size: int) -> None:
        self._response: httpx.Response | None = response
        self._chunks = response.iter_bytes(chunk_size)
        self._started = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        if self._response is None:
            raise StopIteration
        try:
            if not self._started:
                self._started = True
                head = self._head()
                if head:
                    return head
            while True:
                chunk = next(self._chunks)
                if chunk:
                    return chunk
        except StopIteration:
            self.close()
            raise
        except httpx.HTTPError as exc:
            self.close()
            raise StorageBackendError(f"streaming from the cache service failed: {type(exc).__name__}: {exc}") from exc

    def _head(self) -> bytes:
        """The first bytes, with the empty-bytes sentinel removed (it is never split across chunks here)."""
        head = b""
        for chunk in self._chunks:
            head += chunk
            if len(head) >= len(EMPTY_BYTES):
                break
        return head.removeprefix(EMPTY_BYTES)

    def close(self) -> None:
        """Release the connection (idempotent)."""
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with suppress(Exception):  # nothing can be reported from a finalizer
            self.close()
