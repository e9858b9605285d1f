"""``compare``: a candidate session against a baseline, per target x field, with noise-aware verdicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..base import BaseStorage
from ..codec import is_number
from ..errors import StorageValueError, StorageValueTypeError
from ..names import check_id
from .collect import Row, collect_rows
from .comparison import Comparison, ComparisonRow
from .stats import Tolerance, check_alpha, judge

__all__ = ["compare", "higher_fields", "numeric_only"]


def higher_fields(higher_is_better: str | Iterable[str]) -> tuple[str, ...]:
    """The fields where higher is better (one str or several); a field also covers the fields beneath it."""
    given = [higher_is_better] if isinstance(higher_is_better, str) else list(higher_is_better)
    for name in given:
        if not isinstance(name, str) or not name:
            raise StorageValueTypeError(
                f"higher_is_better takes field paths (str), e.g. ['throughput', 'accuracy'], not {name!r}"
            )
    return tuple(dict.fromkeys(given))


def _is_higher(field: str, higher: Sequence[str]) -> bool:
    return any(field == h or field.startswith(h + ".") for h in higher)


def numeric_only(rows: Sequence[Row], what: str) -> None:
    """StorageValueTypeError naming the fields whose values are not numbers (``what``: the operation)."""
    bad: dict[str, Any] = {}
    for r in rows:
        if not is_number(r.value):
            bad.setdefault(r.field, r.value)
    if bad:
        shown = "; ".join(f"{f!r} holds {type(v).__name__} {v!r:.40}" for f, v in list(bad.items())[:5])
        raise StorageValueTypeError(
            f"{what} needs numbers: {shown}; name numeric fields (numbers or lists of numbers, e.g. "
            "'latency_ms' holding [12.1, 11.8]) with fields=[...]"
        )


def compare(
    storage: BaseStorage,
    baseline: str,
    candidate: str,
    key: str,
    *,
    fields: str | Sequence[str] | None = None,
    tol: float | str = "0%",
    abs_tol: float | str = 0,
    higher_is_better: str | Iterable[str] = (),
    alpha: float = 0.05,
    targets: str | Iterable[str] | None = None,
) -> Comparison:
    """Compare ``key`` of session ``candidate`` with session ``baseline``: one verdict per target x field.

    Each side's value is the median of its samples (a list of numbers at a field = repeated samples). Verdicts:
    ``better``, ``worse``, ``same``, ``noise``, ``added``, ``removed``. With >= 3 samples per side a two-sided
    Mann-Whitney U test at ``alpha`` decides whether a change is real (not significant: ``noise``, whatever its
    size; significant but within ``tol`` / ``abs_tol``: ``same``); with fewer, the tolerances alone (``tol`` as
    ``"5%"`` or ``0.05``, ``abs_tol`` in the field's unit). Lower is better unless the field is in
    ``higher_is_better``. ``fields`` as in :func:`~.collect.collect` (None: every numeric leaf).
    """
    base, cand = check_id(baseline, "baseline session"), check_id(candidate, "candidate session")
    if base == cand:
        raise StorageValueError(f"baseline and candidate are both {base!r}: compare two different sessions")
    tolerance = Tolerance.of(tol, abs_tol)
    level = check_alpha(alpha)
    higher = higher_fields(higher_is_better)
    found = collect_rows(storage, key, fields=fields, sessions=[base, cand], targets=targets)
    numeric_only(found.rows, "compare")
    samples: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}
    for r in found.rows:
        sides = samples.setdefault((r.target, r.field), ([], []))
        sides[0 if r.session == base else 1].append(r.value)
    rows = [
        ComparisonRow.of(
            target,
            name,
            judge(b, c, tolerance=tolerance, alpha=level, higher_is_better=_is_higher(name, higher)),
            len(b),
            len(c),
        )
        for (target, name), (b, c) in samples.items()
    ]
    return Comparison(key, base, cand, rows, tolerance, level, higher)
