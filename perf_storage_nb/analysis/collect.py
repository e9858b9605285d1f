"""``collect``: stored JSON results of many sessions and targets as one tidy pandas DataFrame.

Columns ``session``, ``target``, ``field``, ``value`` (plus ``sample`` when a field holds repeated samples,
plus ``version`` with ``versions=True``). Values are exact: a column of ints stays int (object dtype past
int64), a column mixing ints and floats is object dtype rather than a float cast. A missing key or field
gives no row; a field found nowhere, an unknown session or a key stored nowhere is an error, never an empty
table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ..base import BaseStorage
from ..codec import is_number
from ..errors import StorageKeyError, StorageValueTypeError
from ..names import check_key
from .fields import FIELD_FORM, extract, numeric_leaves, parse_fields
from .loading import load_values
from .plan import Loaded, plan_sessions, target_list

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Collected", "Row", "collect", "collect_rows", "frame_of"]

_INT64 = (-(2**63), 2**63 - 1)


class Row(NamedTuple):
    """One tidy row: one value of one field (one sample of it) of one target in one session (one version)."""

    session: str
    target: str
    field: str
    value: Any
    sample: int | None = None
    version: str | None = None


@dataclass(frozen=True)
class Collected:
    """What :func:`collect_rows` read: the rows, the sessions in order, and the values loaded."""

    key: str
    sessions: list[str]
    rows: list[Row]
    loaded: int  # values loaded (one per target and version that held the key)


def _scope(key: str, sessions: Sequence[str], targets: Sequence[str] | None) -> str:
    where = f"session{'s' if len(sessions) > 1 else ''} {', '.join(sessions)}"
    if targets is not None:
        shown = ", ".join(targets[:10]) + (", ..." if len(targets) > 10 else "")
        where += f" (targets {shown})"
    return f"key {key!r} in {where}"


def _available(loaded: Sequence[Loaded]) -> str:
    names: dict[str, None] = {}
    for item in loaded[:50]:
        for leaf in numeric_leaves(item.value):
            names.setdefault(leaf.field)
    shown = list(names)[:12]
    return ", ".join(shown) + (", ..." if len(names) > 12 else "") if shown else "none"


def collect_rows(
    storage: BaseStorage,
    key: str,
    *,
    fields: str | Sequence[str] | None = None,
    sessions: str | Iterable[str] | None = None,
    targets: str | Iterable[str] | None = None,
    versions: bool = False,
) -> Collected:
    """The rows :func:`collect` puts in its frame, as plain Python (no pandas): values exactly as stored."""
    check_key(key)
    wanted = parse_fields(fields)
    names = target_list(targets)
    order = plan_sessions(storage, sessions)
    loaded = load_values(storage, key, order, names, versions=versions)
    scope = _scope(key, order, names)
    if not loaded:
        what = "no version (save_version) of" if versions else "no value under"
        raise StorageKeyError(f"{what} {scope}: check the key and the sessions (storage.list_keys() lists keys)")
    found: set[str] = set()
    rows = [
        Row(item.session, item.target, leaf.field, leaf.value, leaf.sample, item.version)
        for item in loaded
        for leaf in extract(item.value, wanted, found)
    ]
    if wanted is not None:
        missing = [f for f in wanted if f not in found]
        if missing:
            raise StorageKeyError(
                f"field{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} found in no value of "
                f"{scope}; expected {FIELD_FORM}; numeric fields there: {_available(loaded)}"
            )
    elif not rows:
        raise StorageValueTypeError(
            f"no numeric field in any value of {scope}: collect needs numbers or lists of numbers "
            f"(e.g. {{'latency_ms': [12.1, 11.8]}}), or name fields=[...] to read other values"
        )
    return Collected(key, order, rows, len(loaded))


def collect(
    storage: BaseStorage,
    key: str,
    *,
    fields: str | Sequence[str] | None = None,
    sessions: str | Iterable[str] | None = None,
    targets: str | Iterable[str] | None = None,
    versions: bool = False,
) -> pd.DataFrame:
    """The values under ``key`` of many sessions and targets as a tidy DataFrame (one row per value or sample).

    ``fields``: dotted paths into the stored JSON (``"timings.parse_ms"``, list items as ``"samples.0"``);
    None reads every numeric leaf. ``sessions`` / ``targets``: None reads all (of each session).
    ``versions=True`` reads every ``save_version`` copy of ``key`` (column ``version``: its UTC timestamp),
    oldest first. A field holding a list of numbers gives one row per sample (column ``sample``).
    Loads are bulk calls (concurrent on the cache service: one request per value).
    """
    found = collect_rows(storage, key, fields=fields, sessions=sessions, targets=targets, versions=versions)
    return frame_of(found.rows, versions=versions)


def _value_column(values: list[Any]) -> pd.Series[Any]:
    import pandas as pd

    if values and all(isinstance(v, float) for v in values):
        return pd.Series(values, dtype="float64")
    if values and all(is_number(v) and isinstance(v, int) and _INT64[0] <= v <= _INT64[1] for v in values):
        return pd.Series(values, dtype="int64")
    # Mixed ints and floats, ints past int64, or other JSON values: keep each value exactly as stored.
    return pd.Series(values, dtype="object")


def frame_of(rows: Sequence[Row], *, versions: bool = False) -> pd.DataFrame:
    """Rows as the tidy DataFrame of :func:`collect` (``sample`` only when some field held samples)."""
    import pandas as pd

    data: dict[str, Any] = {
        "session": pd.Series([r.session for r in rows], dtype="object"),
        "target": pd.Series([r.target for r in rows], dtype="object"),
        "field": pd.Series([r.field for r in rows], dtype="object"),
        "value": _value_column([r.value for r in rows]),
    }
    if any(r.sample is not None for r in rows):
        data["sample"] = pd.Series([r.sample for r in rows], dtype="Int64")
    if versions:
        stamps = [r.version for r in rows]
        data["version"] = pd.to_datetime(pd.Series(stamps, dtype="object"), format="%Y%m%dT%H%M%S%fZ", utc=True)
    return pd.DataFrame(data)
