"""Kinds of stored values (json / text / bytes) and their exact, validated encoding."""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import StorageValueError, StorageValueTypeError
from .kinds import KINDS, Kind

__all__ = [
    "KINDS",
    "canonical",
    "Kind",
    "MAX_DEPTH",
    "JSONTooDeepError",
    "content_hash",
    "decode_json",
    "decode_text",
    "encode_json",
    "encode_text",
    "is_number",
    "json_problem",
    "to_bytes",
]

MAX_DEPTH = 500

_ACCEPTED = "dict (str keys), list, tuple, str, int, float (finite), bool or None"
_SCALARS = (str, int, bool, type(None))


_LEAVES = frozenset(_SCALARS)
_STR_ONLY = frozenset((str,))
# Built once: json.dumps(**options) would build an identical encoder on every call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_PRETTY = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False)


def _plainly_json(item: Any, depth: int = 0) -> bool:
    """Fast, conservative check: True only when ``item`` is certainly an exact JSON value.

    Anything unusual (subclasses, NaN, deep nesting, cycles, which nest without end) answers False and
    the full walk in json_problem finds and names the problem; this only spares valid values its cost.
    """
    kind = type(item)
    if kind is dict:
        if not set(map(type, item)) <= _STR_ONLY:
            return False
        children = item.values()
    elif kind is list or kind is tuple:
        children = item
    elif kind in _LEAVES:
        return True
    elif kind is float:
        return math.isfinite(item)
    else:
        return False
    if depth >= MAX_DEPTH:
        return False
    for child in children:
        child_kind = type(child)
        if child_kind in _LEAVES:
            continue
        if child_kind is float:
            if not math.isfinite(child):
                return False
        elif not _plainly_json(child, depth + 1):
            return False
    return True


def json_problem(value: Any) -> tuple[str, str] | None:
    """Find the first reason ``value`` is not an exact JSON value: ``(path, problem)`` or None."""
    found = _json_problem(value)
    return None if found is None else (found[0], found[1])


def _json_problem(value: Any) -> tuple[str, str, bool] | None:
    """``(path, problem, wrong_type)``: wrong_type for types JSON cannot hold, False for out-of-range values."""
    try:
        if _plainly_json(value):
            return None
    except RecursionError:
        pass  # called deep in a stack: the iterative walk below has no recursion limit
    stack: list[tuple[Any, str, int]] = [(value, "root", 0)]
    active: set[int] = set()  # ids of containers on the current path, to find cycles
    exits: list[tuple[int, int]] = []  # (stack length at entry, container id) to leave `active`
    while stack:
        while exits and len(stack) <= exits[-1][0]:
            active.discard(exits.pop()[1])
        item, path, depth = stack.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is float:
            if not math.isfinite(item):
                return path, f"{item!r} is not valid JSON (NaN and Infinity are rejected)", False
            continue
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                return path, f"nested deeper than {MAX_DEPTH} levels", False
            if id(item) in active:
                return path, "is a reference cycle (the value contains itself)", False
            active.add(id(item))
            exits.append((len(stack), id(item)))
            if isinstance(item, dict):
                for k in item:
                    if type(k) is not str:
                        return path, f"has a {type(k).__name__} dict key {k!r}; JSON object keys must be str", True
                children = [(v, f"{path}[{k!r}]", depth + 1) for k, v in item.items()]
            else:
                children = [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item)]
            stack.extend(reversed(children))
            continue
        if isinstance(item, (str, int, float)):  # subclasses (e.g. enum.IntEnum) would not round-trip
            what = f"{kind.__module__}.{kind.__qualname__}"
            return path, f"is a {what}, a subclass of a JSON type; convert it first", True
        return path, f"is a {kind.__module__}.{kind.__qualname__}, not JSON-serialisable", True
    return None


def encode_json(value: Any, key: str = "", *, pretty: bool = False) -> bytes:
    """Validate ``value`` and return its UTF-8 JSON encoding; StorageValueError names the bad path."""
    problem = _json_problem(value)
    if problem:
        path, why, wrong_type = problem
        where = f" for key {key!r}" if key else ""
        error = StorageValueTypeError if wrong_type else StorageValueError
        raise error(f"cannot save{where}: {path} {why}; accepted: {_ACCEPTED}")
    try:
        if pretty:
            return (_PRETTY.encode(value) + "\n").encode("utf-8")
        return _COMPACT.encode(value).encode("utf-8")
    except ValueError as exc:  # rare, so found only here: a lone surrogate in a str, an int too long to print
        path, why = _unencodable(value)
        where = f" for key {key!r}" if key else ""
        raise StorageValueError(f"cannot save{where}: {path} {why}") from exc


def _unencodable(value: Any) -> tuple[str, str]:
    """Locate the str or int that json/UTF-8 encoding refused (value already passed json_problem)."""
    stack: list[tuple[Any, str]] = [(value, "root")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return (
                    path,
                    f"contains {item[exc.start]!r} at index {exc.start}, a lone surrogate, not valid Unicode text",
                )
        elif isinstance(item, int) and not isinstance(item, bool):
            try:
                str(item)
            except ValueError:
                return path, "is an integer too long to write as text (over sys.get_int_max_str_digits() digits)"
        elif isinstance(item, dict):
            for k, v in reversed(item.items()):
                stack.extend([(v, f"{path}[{k!r}]"), (k, f"{path} key {k!r}")])
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(item))))
    return "root", "cannot be encoded as UTF-8 JSON"


def is_number(value: object) -> bool:
    """True for an int or float that is not a bool (NaN and infinities included: callers decide about those)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class JSONTooDeepError(ValueError):
    """Stored JSON nests deeper than this Python can parse (its recursion limit), e.g. a planted file."""


def decode_json(blob: bytes | str) -> Any:
    """Parse stored JSON (a fresh, independent object every call); ValueError when it cannot be read."""
    try:
        return json.loads(blob)
    except RecursionError:
        raise JSONTooDeepError("nested too deeply to read (deeper than Python's recursion limit)") from None


def encode_text(text: Any, key: str = "") -> bytes:
    """Encode text for storage, byte-exact; rejects non-str and unencodable (lone surrogate) text."""
    if not isinstance(text, str):
        raise StorageValueTypeError(
            f"save_string({key!r}, ...) needs a str, not {type(text).__name__}; use save() for JSON or save_bytes() "
            "for bytes"
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StorageValueError(
            f"cannot save_string {key!r}: character {text[exc.start]!r} at index {exc.start} is a lone surrogate, "
            "not valid Unicode text"
        ) from exc


def decode_text(blob: bytes) -> str:
    """Decode stored text."""
    return blob.decode("utf-8")


def to_bytes(data: Any, key: str = "") -> bytes:
    """Accept bytes-like data for save_bytes."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise StorageValueTypeError(
        f"save_bytes({key!r}, ...) needs bytes, bytearray or memoryview, not {type(data).__name__}; use "
        "save_string() for text"
    )


def canonical(kind: Kind, payload: bytes) -> tuple[int, str]:
    """``(size, sha256)`` of a stored value's canonical form, the same on every backend.

    Text and bytes are their own canonical form; JSON is compact with sorted keys, so a pretty-printed file on
    the local backend and a compact body on the cache service have the same size and hash. Raises ValueError
    (JSONTooDeepError included) for a payload that is not readable JSON.
    """
    if kind == "json":
        value = decode_json(payload)
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        except RecursionError:
            raise JSONTooDeepError("nested too deeply to read") from None
        payload = text.encode("utf-8", "surrogatepass")
    import hashlib  # here, not at the top: it loads OpenSSL (~3 ms), which a CLI listing never needs

    return len(payload), hashlib.sha256(payload).hexdigest()


def content_hash(kind: Kind, payload: bytes) -> str:
    """Backend-independent content hash: sha256 of the canonical form (JSON: sorted, compact)."""
    return canonical(kind, payload)[1]
