"""Field paths into stored JSON: dotted paths (``timings.parse_ms``, list items as ``samples.0``) and numeric leaves.

A list of numbers at a field is a set of repeated samples of that field (one row per sample); any other list
is walked item by item (``runs.0.ms``). Values are returned as stored: no float cast, so an int beyond 2**53
stays that int.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from ..codec import is_number
from ..errors import StorageValueError, StorageValueTypeError

__all__ = ["ROOT", "FIELD_FORM", "Leaf", "extract", "is_samples", "numeric_leaves", "parse_field", "parse_fields"]

#: the field name of a value stored at the root (``storage.save(key, 12.5)``)
ROOT = "."
#: the accepted form, quoted by every error about a field path
FIELD_FORM = "a dotted path into the stored JSON, e.g. 'timings.parse_ms', list items as 'samples.0'"


class Leaf(NamedTuple):
    """One value found at a field: ``sample`` is its index when the field holds a list of numbers (samples)."""

    field: str
    value: Any
    sample: int | None = None


def parse_field(path: object) -> tuple[str, ...]:
    """``"timings.parse_ms"`` -> ``("timings", "parse_ms")``; ``"."`` is the root; StorageValueError otherwise."""
    if not isinstance(path, str):
        raise StorageValueTypeError(f"a field path must be a str ({FIELD_FORM}), not {type(path).__name__}")
    return _parse(path)


@lru_cache(maxsize=1024)  # called once per value and field: the same few paths over and over
def _parse(path: str) -> tuple[str, ...]:
    if path == ROOT:
        return ()
    parts = tuple(path.split("."))
    if not path or any(not p for p in parts):
        raise StorageValueError(f"invalid field path {path!r}: expected {FIELD_FORM} (no empty parts)")
    return parts


def parse_fields(fields: str | Sequence[str] | None) -> list[str] | None:
    """The field paths a caller gave (one str or several), checked and without duplicates; None = every leaf."""
    if fields is None:
        return None
    given = [fields] if isinstance(fields, str) else list(fields)
    if not given:
        raise StorageValueError(f"fields is empty: give None (every numeric leaf) or {FIELD_FORM}")
    for path in given:
        parse_field(path)
    return list(dict.fromkeys(given))


def is_samples(value: object) -> bool:
    """True for a non-empty list of numbers (repeated samples of one field)."""
    return isinstance(value, list) and bool(value) and all(is_number(v) for v in value)


def _join(prefix: str, part: object) -> str:
    return f"{prefix}.{part}" if prefix else str(part)


def numeric_leaves(value: Any, prefix: str = "") -> Iterator[Leaf]:
    """Every numeric leaf under ``value`` in document order; a list of numbers gives one leaf per sample."""
    if is_number(value):
        yield Leaf(prefix or ROOT, value)
    elif is_samples(value):
        for i, item in enumerate(value):
            yield Leaf(prefix or ROOT, item, i)
    elif isinstance(value, Mapping):
        for k, item in value.items():
            yield from numeric_leaves(item, _join(prefix, k))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from numeric_leaves(item, _join(prefix, i))


def _resolve(value: Any, parts: tuple[str, ...]) -> tuple[bool, Any]:
    for part in parts:
        if isinstance(value, Mapping):
            if part not in value:
                return False, None
            value = value[part]
        elif isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def extract(value: Any, fields: Sequence[str] | None, found: set[str] | None = None) -> Iterator[Leaf]:
    """The leaves of ``value`` at ``fields`` (None: every numeric leaf); a missing field gives nothing.

    A field holding a number or a scalar of another type gives one leaf, a list of numbers one leaf per sample,
    an object or another list the numeric leaves beneath it. ``found`` collects the fields that were present.
    """
    if fields is None:
        yield from numeric_leaves(value)
        return
    for path in fields:
        present, sub = _resolve(value, parse_field(path))
        if not present:
            continue
        if found is not None:
            found.add(path)
        if isinstance(sub, (Mapping, list)) and not is_samples(sub):
            yield from numeric_leaves(sub, "" if path == ROOT else path)
        elif is_samples(sub):
            for i, item in enumerate(sub):
                yield Leaf(path, item, i)
        else:
            yield Leaf(path, sub)
