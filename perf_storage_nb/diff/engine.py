"""The value engine: deepdiff rows for JSON-like data, unified diffs for text, tolerances and exclude patterns.

deepdiff is imported inside the function that needs it, so importing the package stays light. Values nested
deeper than deepdiff can follow are split by :mod:`.deep` into pieces it can; any two values the storage can
hold (``codec.MAX_DEPTH`` levels) diff, and deeper ones raise a :class:`StorageValueError` naming that limit.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Sequence
from typing import Any

from ..codec import MAX_DEPTH, is_number
from ..display import clip
from ..errors import StorageValueError
from .deep import SHALLOW, Piece, depths, pieces
from .result import Change, DiffResult, sort_changes
from .show import show_value

__all__ = ["diff_values", "matches", "parse_tolerance", "value_changes"]

_TEXT_DIFF_MAX = 400  # unified-diff lines kept per changed string


def parse_tolerance(value: float | str | None) -> float | None:
    """``"5%"`` -> 0.05, ``0.05`` -> 0.05, None -> None; StorageValueError for anything else."""
    if value is None:
        return None
    try:
        if isinstance(value, str):
            text = value.strip()
            tol = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        else:
            tol = float(value)
    except ValueError:
        raise StorageValueError(f"tolerance {value!r} is not a number; use e.g. 5% or 0.05") from None
    if not math.isfinite(tol) or tol < 0:
        raise StorageValueError(f"tolerance {value!r} must be a finite number >= 0")
    return tol


def _text_diff(before: str, after: str, labels: tuple[str, str]) -> tuple[str, ...]:
    lines = list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), fromfile=labels[0], tofile=labels[1], lineterm="", n=3
        )
    )
    if len(lines) > _TEXT_DIFF_MAX:
        lines = lines[:_TEXT_DIFF_MAX] + [f"… {len(lines) - _TEXT_DIFF_MAX} more diff lines"]
    return tuple(lines)


def _path_sort_key(parts: Sequence[Any]) -> tuple[Any, ...]:
    # Mixed int/str path elements: order by (type, value) so ints and strs never compare directly.
    return tuple((0, p, "") if is_number(p) else (1, 0, repr(p) if not isinstance(p, str) else p) for p in parts)


def _within(before: Any, after: Any, rel_tol: float | None, abs_tol: float | None) -> bool:
    if not (is_number(before) and is_number(after)) or (rel_tol is None and abs_tol is None):
        return False
    if math.isnan(before) or math.isnan(after):
        return False
    limit = max((rel_tol or 0.0) * max(abs(before), abs(after)), abs_tol or 0.0)
    return bool(abs(after - before) <= limit)


def _number_note(before: Any, after: Any) -> str:
    if is_number(before) and is_number(after) and before and math.isfinite(before) and math.isfinite(after):
        return f"{(after - before) / abs(before) * 100:+.1f}%"
    return ""


def matches(patterns: Sequence[str], text: str) -> bool:
    """True when ``text`` matches one of the glob ``patterns`` (``*`` and ``?`` wild, ``[`` literal)."""
    # '[' is literal in our patterns (paths are full of ['key']); only * and ? are wildcards.
    globs = [pat.replace("[", "[[]") for pat in patterns]
    return any(fnmatch.fnmatchcase(text, g) or fnmatch.fnmatchcase(text, g + "[[]*") for g in globs)


def _size_note(before: str, after: str) -> str:
    return f"{len(before.splitlines())} -> {len(after.splitlines())} lines"


def value_changes(
    before: Any,
    after: Any,
    *,
    group: str,
    labels: tuple[str, str],
    rel_tol: float | None,
    abs_tol: float | None,
    exclude_paths: Sequence[str],
    shallow: int = SHALLOW,
) -> tuple[list[Change], int]:
    """Rows for two values (deepdiff tree view), plus how many numeric changes were within tolerance.

    ``shallow``: subtrees up to this many levels go to deepdiff whole (deeper ones are split, see :mod:`.deep`).
    """
    if isinstance(before, str) and isinstance(after, str):
        if before == after:
            return [], 0
        return [
            Change(
                group, "root", "changed", before, after, _size_note(before, after), _text_diff(before, after, labels)
            )
        ], 0
    memo = depths(before, after)
    _check_depth(before, after, memo)
    deep_excludes = [p for p in exclude_paths if p.startswith("root")]
    glob_excludes = [p for p in exclude_paths if not p.startswith("root")]
    rows: list[Change] = []
    tolerated = 0
    for report, item, path, parts in _deepdiff_items(before, after, memo, deep_excludes, shallow):
        if report.startswith("set_item"):
            # deepdiff writes set members as "root['s']:" with a None list element; name the member instead.
            member = item.t2 if report.endswith("_added") else item.t1
            path = f"{path.rstrip(':')}{{{show_value(member)}}}"
            parts = [*parts[:-1], show_value(member)]
        if glob_excludes and (matches(glob_excludes, path) or matches(glob_excludes, f"{group} {path}".strip())):
            continue
        t1, t2 = item.t1, item.t2
        if report.endswith("_added"):
            rows.append(Change(group, path, "added", None, t2, sort_key=_path_sort_key(parts)))
        elif report.endswith("_removed"):
            rows.append(Change(group, path, "removed", t1, None, sort_key=_path_sort_key(parts)))
        elif report in ("values_changed", "type_changes"):
            if _within(t1, t2, rel_tol, abs_tol):
                tolerated += 1
                continue
            note = _number_note(t1, t2)
            if report == "type_changes":
                note = f"{type(t1).__name__} -> {type(t2).__name__}"
            text_diff: tuple[str, ...] = ()
            if isinstance(t1, str) and isinstance(t2, str) and ("\n" in t1 or "\n" in t2):
                text_diff = _text_diff(t1, t2, labels)
            rows.append(Change(group, path, "changed", t1, t2, note, text_diff, sort_key=_path_sort_key(parts)))
        else:  # repetition_change and friends (ignore_order is off, so rare): keep them visible
            rows.append(Change(group, path, "changed", t1, t2, report, sort_key=_path_sort_key(parts)))
    return rows, tolerated


def _check_depth(before: Any, after: Any, memo: dict[int, int]) -> None:
    """StorageValueError when a side nests deeper than the storage holds (``codec.MAX_DEPTH``)."""
    for side, value in (("before", before), ("after", after)):
        depth = memo.get(id(value), 0)
        if depth > MAX_DEPTH:
            raise StorageValueError(
                f"cannot diff: the {side} value is nested {depth:,} levels deep; diffs take values up to "
                f"{MAX_DEPTH} levels, the most the storage holds (codec.MAX_DEPTH)"
            )


def _sub_excludes(excludes: Sequence[str], path: str) -> list[str] | None:
    """deepdiff excludes for a piece at ``path`` (its root renamed), or None when ``path`` itself is excluded."""
    out = []
    for pattern in excludes:
        if path == pattern or path.startswith((pattern + "[", pattern + ".")):
            return None
        if pattern.startswith((path + "[", path + ".")):
            out.append("root" + pattern[len(path) :])
    return out


def _deepdiff_items(
    before: Any, after: Any, memo: dict[int, int], excludes: Sequence[str], shallow: int
) -> list[tuple[str, Any, str, list[Any]]]:
    """``(report, deepdiff item, full path, path parts)`` of every difference, piece by piece."""
    from deepdiff import DeepDiff  # lazy: deepdiff is only needed when a diff is computed

    found: list[tuple[str, Any, str, list[Any]]] = []
    for piece in pieces(before, after, memo, shallow):
        sub = list(excludes) if piece.path == "root" else _sub_excludes(excludes, piece.path)
        if sub is None:
            continue
        try:
            tree = DeepDiff(
                piece.before,
                piece.after,
                view="tree",
                verbose_level=2,
                threshold_to_diff_deeper=0,  # the 0.33 default collapses mostly-changed dicts into one opaque row
                ignore_nan_inequality=True,
                exclude_paths=sub or None,
            )
        except RecursionError as exc:  # objects deepdiff follows (attributes, subclasses) nested beyond its reach
            raise StorageValueError(_too_deep(piece)) from exc
        for report, items in tree.items():
            for item in items:
                relative = item.path() or item.path(force="yes")  # None: a step deepdiff cannot write
                path = piece.path + relative[len("root") :]
                found.append((report, item, path, [*piece.parts, *item.path(output_format="list")]))
    return found


def _too_deep(piece: Piece) -> str:
    return (
        f"cannot diff: the values at {clip(piece.path, 80)} nest objects deeper than deepdiff can follow; diffs "
        f"take dicts, lists and tuples up to {MAX_DEPTH} levels (codec.MAX_DEPTH) and other objects up to "
        f"about {SHALLOW} levels"
    )


def diff_values(
    before: Any,
    after: Any,
    *,
    rel_tol: float | str | None = None,
    abs_tol: float | None = None,
    exclude_paths: Sequence[str] = (),
    labels: tuple[str, str] = ("before", "after"),
) -> DiffResult:
    """Diff two values: deepdiff rows for JSON-like data, a unified diff for two strings.

    ``rel_tol`` ("5%" or 0.05) and ``abs_tol`` hide numeric changes within tolerance (counted as
    ``tolerated``). ``exclude_paths``: deepdiff paths (``root['a']``) or glob patterns on the path.
    """
    rows, tolerated = value_changes(
        before,
        after,
        group="",
        labels=labels,
        rel_tol=parse_tolerance(rel_tol),
        abs_tol=parse_tolerance(abs_tol),
        exclude_paths=tuple(exclude_paths),
    )
    return DiffResult(sort_changes(rows), (str(labels[0]), str(labels[1])), tolerated)
