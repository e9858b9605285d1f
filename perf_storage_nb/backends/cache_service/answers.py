"""What the cache service's answers look like; anything else means the URL is not the MGraph-AI Cache Service.

Every JSON answer is parsed here (:func:`parse_json`) and checked against a :class:`Shape` (its type and the
fields the client reads), and every "missing" answer must be one the service gives (an empty body or a JSON
error). A web page, plain text or JSON of another shape - a wrong port, a proxy's login page, another
service - is one clear :class:`~perf_storage_nb.errors.StorageBackendError` naming the URL, never a raw
``JSONDecodeError``/``KeyError`` and never the body wholesale (an excerpt of at most 60 characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ...errors import StorageBackendError
from .http_errors import Call

__all__ = [
    "ARRAY",
    "OBJECT",
    "SERVICE",
    "Shape",
    "excerpt",
    "is_bool",
    "is_guid",
    "is_int",
    "is_list",
    "is_str",
    "looks_like_a_service_error",
    "not_the_service",
    "parse_json",
]

SERVICE = "the MGraph-AI Cache Service"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EXCERPT = 60
Check = Callable[[object], bool]


def is_str(value: object) -> bool:
    """A str."""
    return isinstance(value, str)


def is_guid(value: object) -> bool:
    """A cache_id: the service mints GUIDs (and refuses anything else in its routes)."""
    return isinstance(value, str) and bool(_GUID.fullmatch(value))


def is_bool(value: object) -> bool:
    """A JSON boolean."""
    return isinstance(value, bool)


def is_int(value: object) -> bool:
    """A JSON integer."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_list(value: object) -> bool:
    """A JSON array."""
    return isinstance(value, list)


@dataclass(frozen=True)
class Shape:
    """What a JSON answer must be: an object with these fields (name -> check), or an array."""

    fields: Mapping[str, Check] = field(default_factory=dict)
    array: bool = False
    what: str = ""

    def problem(self, data: Any) -> str | None:
        """None when ``data`` has this shape, else what was expected and what came instead."""
        if self.array:
            return None if isinstance(data, list) else f"expected an array, got {_describe(data)}"
        if not isinstance(data, dict):
            return f"expected an object, got {_describe(data)}"
        bad = [name for name, check in self.fields.items() if not check(data.get(name))]
        if not bad:
            return None
        wanted = self.what or ", ".join(map(repr, self.fields))
        return f"expected an object with {wanted}, got {_describe(data)}"


#: any JSON object
OBJECT = Shape()
#: any JSON array
ARRAY = Shape(array=True)


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(repr(str(k)[:30]) for k in list(data)[:5])
        more = ", ..." if len(data) > 5 else ""
        return f"an object with keys {keys}{more}" if data else "an empty object"
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(data), "null")


def excerpt(body: bytes) -> str:
    """The start of a body on one line, quoted and capped, with its size: ``'<html><head>...' (1,234 bytes)``."""
    text = " ".join(body[: _EXCERPT * 4].decode("utf-8", "replace").split())
    shown = text[:_EXCERPT] + ("..." if len(text) > _EXCERPT or len(body) > _EXCERPT * 4 else "")
    return f"{shown!r} ({len(body):,} bytes)"


def not_the_service(call: Call, response: httpx.Response, what: str) -> StorageBackendError:
    """The error for an answer the cache service would not give: names the URL, the request and the answer."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    return StorageBackendError(
        f"{call.base} does not look like {SERVICE}: it answered {call.method} {call.path} with "
        f"{response.status_code} ({content_type}) {what}; check the URL (the service's base URL, e.g. "
        "http://127.0.0.1:8801 - start one with `perf-storage serve`)"
    )


def parse_json(call: Call, response: httpx.Response, shape: Shape = OBJECT) -> Any:
    """The JSON of an answer, checked against ``shape``; anything else is :func:`not_the_service`."""
    body = response.content
    try:
        data = json.loads(body)
    except RecursionError:
        raise StorageBackendError(
            f"the answer of {call.base} to {call.method} {call.path} is nested too deeply to read ({len(body):,} bytes)"
        ) from None
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not text
        raise not_the_service(call, response, f"that is not JSON: {excerpt(body)}") from None
    problem = shape.problem(data)
    if problem is not None:
        raise not_the_service(call, response, f"JSON of another shape ({problem})")
    return data


def looks_like_a_service_error(response: httpx.Response) -> bool:
    """True for an error answer the service gives: an empty body (string/binary 404s) or JSON."""
    body = response.content
    if not body.strip():
        return True
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True
