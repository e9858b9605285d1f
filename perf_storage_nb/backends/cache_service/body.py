"""How values travel as child-file bodies: what the server refuses is wrapped, and unwrapped again on the way back.

* JSON objects are stored natively; any other JSON value (and a dict whose only key is the marker) is
  wrapped as ``{"__psnb_value__": value}`` because the server only accepts objects.
* The server answers 400 to an empty body, but takes the JSON literal ``""`` (``application/json``) on the
  string and binary routes and stores an *empty file*: empty text and empty bytes are sent that way, so other
  clients find a 0-byte file. (Its update routes refuse it: empty values always take the store route.)
* Before 0.3, empty bytes were stored as the 38-byte :data:`EMPTY_BYTES` sentinel; a body starting with it
  still reads as what follows it, so bytes that happen to start with the sentinel get it prefixed once more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from typing import Any, Self

import httpx

from ... import codec
from ...errors import StorageError
from ...kinds import Kind

__all__ = [
    "EMPTY_BYTES",
    "VALUE_MARKER",
    "ResponseChunks",
    "UploadCounter",
    "EMPTY_BODY",
    "decode_body",
    "decode_json",
    "encode_body",
    "json_payload",
]

VALUE_MARKER = "__psnb_value__"
_WRAP_HEAD = b'{"' + VALUE_MARKER.encode() + b'":'
#: what empty bytes were stored as before 0.3 (still read as empty; a payload starting with it is escaped)
EMPTY_BYTES = b"\x00perf_storage_nb:empty-bytes:7f3a9c1e\x00"
#: how an empty text or bytes value is sent: the JSON literal "" (the server refuses an empty body, and
#: stores this as an empty file)
EMPTY_BODY = (b'""', "application/json")
_WRAPPED = re.compile(rb'\s*\{\s*"' + re.escape(VALUE_MARKER.encode()) + rb'"\s*:')


def encode_body(kind: Kind, payload: bytes) -> tuple[bytes, str]:
    """The body and content type that store ``payload`` (our encoded value of ``kind``) on the server."""
    if kind == "json":
        if payload[:1] == b"{" and not (payload.startswith(_WRAP_HEAD) and _marker_only(payload)):
            return payload, "application/json"
        return _WRAP_HEAD + payload + b"}", "application/json"
    if not payload:
        return EMPTY_BODY  # stored as an empty file (the server answers 400 to an empty body)
    if kind == "text":
        return payload, "text/plain; charset=utf-8"
    if payload.startswith(EMPTY_BYTES):
        return EMPTY_BYTES + payload, "application/octet-stream"  # escaped: reading strips one sentinel
    return payload, "application/octet-stream"


def decode_body(kind: Kind, body: bytes) -> bytes:
    """Our payload of ``kind`` from a stored body (the pre-0.3 empty-bytes sentinel removed)."""
    if kind == "bytes" and body.startswith(EMPTY_BYTES):
        return body[len(EMPTY_BYTES) :]
    return body


def decode_json(payload: bytes) -> Any:
    """The JSON value of a stored json payload, unwrapped from the marker object.

    ValueError (``codec.JSONTooDeepError`` included, never a RecursionError) when it cannot be read.
    """
    value = codec.decode_json(payload)
    if type(value) is dict and len(value) == 1 and VALUE_MARKER in value:
        return value[VALUE_MARKER]
    return value


def json_payload(payload: bytes) -> bytes:
    """The JSON encoding of the value a stored json payload holds (the marker unwrapped); ValueError if unreadable.

    For :meth:`BaseStorage._key_info`, which sizes and hashes the canonical form of that value. Only a
    wrapped payload is parsed here (the server sends JSON back compact, so the marker is its first key).
    """
    if not _WRAPPED.match(payload):
        return payload
    value = codec.decode_json(payload)
    if not (type(value) is dict and len(value) == 1 and VALUE_MARKER in value):
        return payload
    try:
        return json.dumps(value[VALUE_MARKER], ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
    except RecursionError:
        raise codec.JSONTooDeepError("nested too deeply to read") from None


def _marker_only(payload: bytes) -> bool:
    value = json.loads(payload)
    return isinstance(value, dict) and list(value) == [VALUE_MARKER]


class UploadCounter:
    """The chunks of a streamed upload, counted; the head is read first, to send an empty value as one."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._head = b""
        for chunk in self._chunks:
            self._head += chunk
            if len(self._head) >= len(EMPTY_BYTES):
                break
        self.count = len(self._head)

    @property
    def empty(self) -> bool:
        """True when the source gave no bytes at all (send :data:`EMPTY_BODY` instead of a stream)."""
        return not self._head

    def __iter__(self) -> Iterator[bytes]:
        if self._head.startswith(EMPTY_BYTES):
            yield EMPTY_BYTES  # escaped: reading strips one sentinel
        if self._head:
            yield self._head
        for chunk in self._chunks:
            self.count += len(chunk)
            if chunk:
                yield chunk


class ResponseChunks(Iterator[bytes]):
    """The chunks of one streamed binary value; closing it frees the pooled connection.

    Closed when exhausted, on ``close()``, on leaving a ``with`` block, and when garbage-collected: an
    abandoned iterator must not keep one of the client's pooled connections checked out.
    """

    def __init__(self, response: httpx.Response, chunk_size: int, fail: Callable[[Exception], StorageError]) -> None:
        self._response: httpx.Response | None = response
        self._fail = fail  # the client's translation of a mid-stream httpx error (scrubbed of the API key)
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
            raise self._fail(exc) from exc

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
