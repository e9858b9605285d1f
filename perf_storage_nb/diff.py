"""Before/after diffs of stored values, keys and whole targets (deepdiff underneath, our own rendering).

Usable without IPython; deepdiff is imported inside the functions that need it. Output is deterministic:
rows are sorted by path, sets are shown sorted, and the HTML carries no per-call ids (so the same inputs
give byte-identical text and HTML under any ``PYTHONHASHSEED``).

Example::

    from perf_storage_nb.diff import diff_values, diff_keys, snapshot, diff_snapshots
    diff_values({"p50_ms": 10.0}, {"p50_ms": 10.3}, rel_tol="5%")   # within tolerance: no change
    before = snapshot(storage); ...; diff_snapshots(before, snapshot(storage))
"""

from __future__ import annotations

import difflib
import fnmatch
import html
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import StorageKeyError, StorageKindError, StorageValueError

if TYPE_CHECKING:
    from .base import BaseStorage

__all__ = [
    "Change",
    "DiffResult",
    "Snapshot",
    "diff_keys",
    "diff_now",
    "diff_scopes",
    "diff_snapshots",
    "diff_values",
    "load_kind",
    "parse_tolerance",
    "scope_label",
    "snapshot",
]

ChangeKind = Literal["added", "removed", "changed"]
#: nested plain dict {session: {target: {key: {"kind", "hash", "size"[, "value"]}}}}
Snapshot = dict[str, dict[str, dict[str, dict[str, Any]]]]

_SHOW_MAX = 200  # characters of a value shown in one table cell / text line
_TEXT_DIFF_MAX = 400  # unified-diff lines kept per changed string
_KIND_ORDER = {"removed": 0, "added": 1, "changed": 2}
_BADGE = {"added": "#1a7f37", "removed": "#cf222e", "changed": "#9a6700", "tolerated": "#6e7781"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}


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


def _show(value: Any) -> str:
    """Deterministic one-line rendering of a value (sets sorted, JSON-like, capped)."""
    text = json.dumps(_stable(value), ensure_ascii=False, sort_keys=False, default=repr)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 1] + "…"


def _stable(value: Any) -> Any:
    # Set iteration order depends on the hash seed; sort by repr so output never does.
    if isinstance(value, (set, frozenset)):
        return sorted((_stable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True)
class Change:
    """One row of a diff: where, what kind, the value before and after, and an optional text diff."""

    group: str  # "session/target/key" for snapshot diffs, "" for value diffs
    path: str  # deepdiff-style path inside the value, e.g. root['a'][0]
    kind: ChangeKind
    before: Any = None
    after: Any = None
    note: str = ""  # e.g. "+12.5%" or "kind text -> json"
    text_diff: tuple[str, ...] = ()
    sort_key: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def where(self) -> str:
        """group and path joined for display."""
        if self.group and self.path in ("", "root"):
            return self.group
        return f"{self.group} {self.path}".strip()


@dataclass(frozen=True)
class DiffResult:
    """Rows of a diff with added/removed/changed counts, a text twin and our own HTML table."""

    changes: tuple[Change, ...]
    labels: tuple[str, str] = ("before", "after")
    tolerated: int = 0  # numeric changes hidden because they were within tolerance
    unchanged: int = 0  # keys compared and found equal (snapshot diffs)

    @property
    def added(self) -> int:
        """Number of added rows."""
        return sum(1 for c in self.changes if c.kind == "added")

    @property
    def removed(self) -> int:
        """Number of removed rows."""
        return sum(1 for c in self.changes if c.kind == "removed")

    @property
    def changed(self) -> int:
        """Number of changed rows."""
        return sum(1 for c in self.changes if c.kind == "changed")

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __repr__(self) -> str:
        tol = f", tolerated={self.tolerated}" if self.tolerated else ""
        return f"DiffResult(added={self.added}, removed={self.removed}, changed={self.changed}{tol})"

    def summary(self) -> str:
        """One line: labels and counts."""
        extra = f", {self.tolerated} within tolerance" if self.tolerated else ""
        extra += f", {self.unchanged} unchanged" if self.unchanged else ""
        counts = f"{self.added} added, {self.removed} removed, {self.changed} changed"
        return f"{self.labels[0]} -> {self.labels[1]}: {counts}{extra}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the counts and rows."""
        return {
            "labels": list(self.labels),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "tolerated": self.tolerated,
            "unchanged": self.unchanged,
            "changes": [
                {
                    "group": c.group,
                    "path": c.path,
                    "kind": c.kind,
                    "before": _stable(c.before),
                    "after": _stable(c.after),
                    "note": c.note,
                    "text_diff": list(c.text_diff),
                }
                for c in self.changes
            ],
        }

    def to_text(self) -> str:
        """Plain-text twin of the HTML table (for terminals and nbval)."""
        lines = [self.summary()]
        if not self.changes:
            lines.append("  no differences")
        for c in self.changes:
            note = f"  ({c.note})" if c.note else ""
            if c.text_diff:
                lines.append(f"  {_MARK[c.kind]} {c.where}:{note}")
                lines += [f"      {line}" for line in c.text_diff]
            elif c.kind == "added":
                lines.append(f"  + {c.where}: {_show(c.after)}{note}")
            elif c.kind == "removed":
                lines.append(f"  - {c.where}: {_show(c.before)}{note}")
            else:
                lines.append(f"  ~ {c.where}: {_show(c.before)} -> {_show(c.after)}{note}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_text())

    def _repr_html_(self) -> str:
        esc = html.escape
        badges = "".join(
            f"<span style='background:{_BADGE[name]};color:#fff;border-radius:8px;padding:0 "
            "7px;margin-right:4px;font-size:11px'>"
            f"{count} {name}</span>"
            for name, count in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
                ("tolerated", self.tolerated),
            )
            if count or name != "tolerated"
        )
        same = f"<span style='color:#777'>{self.unchanged} unchanged</span>" if self.unchanged else ""
        head = (
            f"<div style='margin-bottom:4px'><code>{esc(self.labels[0])}</code> → <code>{esc(self.labels[1])}</code> "
            f"{badges}{same}</div>"
        )
        if not self.changes:
            return f"<div class='psnb-diff'>{head}<div style='color:#777'>no differences</div></div>"
        rows: list[str] = []
        group = None
        for c in self.changes:
            if c.group and c.group != group:
                group = c.group
                rows.append(
                    "<tr><th colspan='5' "
                    f"style='text-align:left;background:rgba(127,127,127,.12)'><code>{esc(c.group)}</code></th></tr>"
                )
            color = _BADGE[c.kind]
            path = esc(c.path if c.group else c.where)
            if c.text_diff:
                diff_lines = "".join(_diff_line_html(line) for line in c.text_diff)
                value_cells = f"<td colspan='2'><pre style='margin:0;white-space:pre-wrap'>{diff_lines}</pre></td>"
            else:
                before = "" if c.kind == "added" else esc(_show(c.before))
                after = "" if c.kind == "removed" else esc(_show(c.after))
                value_cells = f"<td><code>{before}</code></td><td><code>{after}</code></td>"
            rows.append(
                f"<tr><td style='text-align:left'><code>{path}</code></td><td "
                f"style='color:{color};font-weight:bold'>{c.kind}</td>"
                f"{value_cells}<td>{esc(c.note)}</td></tr>"
            )
        table = (
            "<table style='font-family:var(--jp-code-font-family,monospace);font-size:12px'><thead><tr>"
            "<th "
            f"style='text-align:left'>path</th><th>change</th><th>{esc(self.labels[0])}</th><th>{esc(self.labels[1])}</th><th>note</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        return f"<div class='psnb-diff'>{head}{table}</div>"


def _diff_line_html(line: str) -> str:
    esc = html.escape(line)
    if line.startswith("+") and not line.startswith("+++"):
        return f"<span style='background:rgba(26,127,55,.15)'>{esc}</span>\n"
    if line.startswith("-") and not line.startswith("---"):
        return f"<span style='background:rgba(207,34,46,.15)'>{esc}</span>\n"
    if line.startswith("@@"):
        return f"<span style='color:#8250df'>{esc}</span>\n"
    return esc + "\n"


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
    return tuple((0, p, "") if _is_number(p) else (1, 0, repr(p) if not isinstance(p, str) else p) for p in parts)


def _within(before: Any, after: Any, rel_tol: float | None, abs_tol: float | None) -> bool:
    if not (_is_number(before) and _is_number(after)) or (rel_tol is None and abs_tol is None):
        return False
    if math.isnan(before) or math.isnan(after):
        return False
    limit = max((rel_tol or 0.0) * max(abs(before), abs(after)), abs_tol or 0.0)
    return abs(after - before) <= limit


def _number_note(before: Any, after: Any) -> str:
    if _is_number(before) and _is_number(after) and before and math.isfinite(before) and math.isfinite(after):
        return f"{(after - before) / abs(before) * 100:+.1f}%"
    return ""


def _matches(patterns: Sequence[str], text: str) -> bool:
    # '[' is literal in our patterns (paths are full of ['key']); only * and ? are wildcards.
    globs = [pat.replace("[", "[[]") for pat in patterns]
    return any(fnmatch.fnmatchcase(text, g) or fnmatch.fnmatchcase(text, g + "[[]*") for g in globs)


def _value_changes(
    before: Any,
    after: Any,
    *,
    group: str,
    labels: tuple[str, str],
    rel_tol: float | None,
    abs_tol: float | None,
    exclude_paths: Sequence[str],
) -> tuple[list[Change], int]:
    """Rows for two values (deepdiff tree view), plus how many numeric changes were within tolerance."""
    if isinstance(before, str) and isinstance(after, str):
        if before == after:
            return [], 0
        return [
            Change(
                group, "root", "changed", before, after, _size_note(before, after), _text_diff(before, after, labels)
            )
        ], 0
    from deepdiff import DeepDiff  # lazy: deepdiff is only needed when a diff is computed

    deep_excludes = [p for p in exclude_paths if p.startswith("root")]
    glob_excludes = [p for p in exclude_paths if not p.startswith("root")]
    tree = DeepDiff(
        before,
        after,
        view="tree",
        verbose_level=2,
        threshold_to_diff_deeper=0,  # the 0.33 default collapses mostly-changed dicts into one opaque row
        ignore_nan_inequality=True,
        exclude_paths=deep_excludes or None,
    )
    rows: list[Change] = []
    tolerated = 0
    for report, items in tree.items():
        for item in items:
            parts = item.path(output_format="list")
            path = item.path()
            if report.startswith("set_item"):
                # deepdiff writes set members as "root['s']:" with a None list element; name the member instead.
                member = item.t2 if report.endswith("_added") else item.t1
                path = f"{path.rstrip(':')}{{{_show(member)}}}"
                parts = [*parts[:-1], _show(member)]
            if glob_excludes and (_matches(glob_excludes, path) or _matches(glob_excludes, f"{group} {path}".strip())):
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


def _size_note(before: str, after: str) -> str:
    return f"{len(before.splitlines())} -> {len(after.splitlines())} lines"


def _sorted(rows: Iterable[Change]) -> tuple[Change, ...]:
    # The value tie-breakers make rows with equal paths (set members) independent of deepdiff's iteration order.
    return tuple(
        sorted(rows, key=lambda c: (c.group, c.sort_key, _KIND_ORDER[c.kind], c.path, _show(c.before), _show(c.after)))
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
    rows, tolerated = _value_changes(
        before,
        after,
        group="",
        labels=labels,
        rel_tol=parse_tolerance(rel_tol),
        abs_tol=parse_tolerance(abs_tol),
        exclude_paths=tuple(exclude_paths),
    )
    return DiffResult(_sorted(rows), (str(labels[0]), str(labels[1])), tolerated)


_ABSENT: Any = object()


def diff_keys(
    storage_a: BaseStorage, key_a: str, storage_b: BaseStorage | None = None, key_b: str | None = None, **opts: Any
) -> DiffResult:
    """Diff two stored keys: two keys of one storage, or one key in another session/target (baseline vs current)."""
    storage_b = storage_a if storage_b is None else storage_b
    key_b = key_a if key_b is None else key_b
    before = storage_a.load_any(key_a, _ABSENT)
    after = storage_b.load_any(key_b, _ABSENT)
    # Callers that must not show absolute paths (deterministic notebooks) pass their own labels.
    labels = opts.pop("labels", None) or (f"{storage_a.describe()}:{key_a}", f"{storage_b.describe()}:{key_b}")
    if before is _ABSENT and after is _ABSENT:
        raise StorageKeyError(f"neither {labels[0]} nor {labels[1]} exists; nothing to diff")
    if before is _ABSENT:
        return DiffResult((Change("", "root", "added", None, _preview_value(after)),), labels)
    if after is _ABSENT:
        return DiffResult((Change("", "root", "removed", _preview_value(before), None),), labels)
    if isinstance(before, bytes) or isinstance(after, bytes):
        return _bytes_diff("", before, after, labels)
    return diff_values(before, after, labels=labels, **opts)


def _preview_value(value: Any) -> Any:
    return f"<{len(value)} bytes>" if isinstance(value, bytes) else value


def _bytes_diff(group: str, before: Any, after: Any, labels: tuple[str, str]) -> DiffResult:
    if before == after:
        return DiffResult((), labels)
    return DiffResult(
        (Change(group, "root", "changed", _preview_value(before), _preview_value(after), "bytes differ"),), labels
    )


# ---- snapshots --------------------------------------------------------------------------------------
def load_kind(storage: BaseStorage, key: str, kind: str, default: Any = None) -> Any:
    """Load ``key`` with the loader of ``kind`` (one read); any kind if it changed since ``kind`` was seen."""
    loader = {"json": storage.load, "text": storage.load_string, "bytes": storage.load_bytes}.get(kind)
    if loader is None:
        return storage.load_any(key, default)
    try:
        return loader(key, default)
    except StorageKindError:  # rewritten with another kind between info() and this read
        return storage.load_any(key, default)


def snapshot(
    storages: BaseStorage | Iterable[BaseStorage],
    *,
    values: bool = True,
    max_value_bytes: int = 1_000_000,
    exclude_prefixes: Sequence[str] = (),
) -> Snapshot:
    """Record kind, hash and size of every key of the given targets, plus values (``values=True``, up to a size).

    The result is a plain nested dict ``{session: {target: {key: {"kind", "hash", "size"[, "value"]}}}}``;
    bytes values are recorded by hash only; keys starting with one of ``exclude_prefixes`` are left out
    (never read). Compare two with :func:`diff_snapshots`.
    """
    from .base import BaseStorage

    targets = [storages] if isinstance(storages, BaseStorage) else list(storages)
    skip = tuple(exclude_prefixes)
    snap: Snapshot = {}
    for storage in targets:
        entries: dict[str, dict[str, Any]] = {}
        for key in storage.list_keys():
            if skip and key.startswith(skip):
                continue
            info = storage.info(key)
            if info is None:  # deleted between list and stat
                continue
            entry: dict[str, Any] = {"kind": info.kind, "hash": info.hash, "size": info.size}
            if values and info.kind != "bytes" and info.size <= max_value_bytes:
                value = load_kind(storage, key, info.kind, _ABSENT)
                if value is _ABSENT:
                    continue
                entry["value"] = value
            entries[key] = entry
        snap.setdefault(storage.session_id, {})[storage.target_id] = entries
    return snap


def _flatten(
    snap: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    return {(s, t, k): e for s, targets in snap.items() for t, keys in targets.items() for k, e in keys.items()}


def diff_snapshots(
    a: Snapshot,
    b: Snapshot,
    *,
    rel_tol: float | str | None = None,
    abs_tol: float | None = None,
    exclude_paths: Sequence[str] = (),
    labels: tuple[str, str] = ("before", "after"),
    _fetch: tuple[Any, Any] | None = None,
) -> DiffResult:
    """Diff two snapshots key by key: hashes first, values (deepdiff / unified diff) only for changed keys.

    When each side holds exactly one target and they differ (two targets of one session, or baseline vs
    current), keys are matched by key alone; when each side holds one session and they differ, by
    target/key. ``exclude_paths`` also takes glob patterns on ``session/target/key``.
    """
    rel, absol = parse_tolerance(rel_tol), parse_tolerance(abs_tol)
    flat_a, flat_b = _flatten(a), _flatten(b)
    drop = _match_level(a, b)
    keyed_a = {k[drop:]: (k, e) for k, e in flat_a.items()}
    keyed_b = {k[drop:]: (k, e) for k, e in flat_b.items()}
    glob = [p for p in exclude_paths if not p.startswith("root")]
    rows: list[Change] = []
    tolerated = unchanged = 0
    for ident in sorted(set(keyed_a) | set(keyed_b)):
        group = "/".join(ident)
        if glob and _matches(glob, group):
            continue
        full_a, ea = keyed_a.get(ident, (None, None))
        full_b, eb = keyed_b.get(ident, (None, None))
        if ea is None:
            rows.append(
                Change(
                    group, "root", "added", None, _shown_entry(eb, full_b, _fetch, 1), f"{eb['kind']}, {eb['size']} B"
                )
            )
            continue
        if eb is None:
            rows.append(
                Change(
                    group, "root", "removed", _shown_entry(ea, full_a, _fetch, 0), None, f"{ea['kind']}, {ea['size']} B"
                )
            )
            continue
        if ea["hash"] == eb["hash"] and ea["kind"] == eb["kind"]:
            unchanged += 1
            continue
        va, vb = _entry_value(ea, full_a, _fetch, 0), _entry_value(eb, full_b, _fetch, 1)
        kind_note = f"kind {ea['kind']} -> {eb['kind']}" if ea["kind"] != eb["kind"] else ""
        if va is _ABSENT or vb is _ABSENT or (ea["kind"] == eb["kind"] == "bytes"):
            # A value that was not recorded (too large, or bytes) is shown by hash on both sides.
            rows.append(
                Change(
                    group,
                    "root",
                    "changed",
                    f"<hash {ea['hash'][:12]}>",
                    f"<hash {eb['hash'][:12]}>",
                    kind_note or f"{ea['size']} B -> {eb['size']} B",
                )
            )
        elif kind_note:
            rows.append(Change(group, "root", "changed", va, vb, kind_note))
        else:
            found, tol = _value_changes(
                va, vb, group=group, labels=labels, rel_tol=rel, abs_tol=absol, exclude_paths=tuple(exclude_paths)
            )
            rows += found
            tolerated += tol
            if not found and not tol:
                unchanged += 1  # only excluded paths changed
    return DiffResult(_sorted(rows), (str(labels[0]), str(labels[1])), tolerated, unchanged)


def _targets_of(snap: Snapshot) -> set[tuple[str, str]]:
    return {(s, t) for s, targets in snap.items() for t in targets}


def _match_level(a: Snapshot, b: Snapshot) -> int:
    """How many leading parts (session, target) to ignore when pairing keys of the two sides."""
    targets_a, targets_b = _targets_of(a), _targets_of(b)
    if len(targets_a) == 1 and len(targets_b) == 1 and targets_a != targets_b:
        return 2  # one target each: compare them key by key, whatever their sessions and names
    if len(a) == 1 and len(b) == 1 and set(a) != set(b):
        return 1  # one session each (baseline vs current): pair targets by name
    return 0


def _entry_value(
    entry: Mapping[str, Any] | None, full: tuple[str, str, str] | None, fetch: tuple[Any, Any] | None, side: int
) -> Any:
    if entry is None:
        return _ABSENT
    if "value" in entry:
        return entry["value"]
    if entry["kind"] == "bytes":
        return f"<{entry['size']} bytes>"
    if fetch is not None and full is not None and fetch[side] is not None:
        return fetch[side](full)
    return _ABSENT


def _shown_entry(
    entry: Mapping[str, Any], full: tuple[str, str, str] | None, fetch: tuple[Any, Any] | None, side: int
) -> Any:
    value = _entry_value(entry, full, fetch, side)
    return f"<hash {entry['hash'][:12]}>" if value is _ABSENT else value


def diff_scopes(
    a: BaseStorage | Iterable[BaseStorage], b: BaseStorage | Iterable[BaseStorage], **opts: Any
) -> DiffResult:
    """Diff two live sets of targets hash-first: values are loaded only for keys whose hashes differ."""
    from .base import BaseStorage

    side_a = [a] if isinstance(a, BaseStorage) else list(a)
    side_b = [b] if isinstance(b, BaseStorage) else list(b)
    if not opts.get("labels"):
        opts["labels"] = (scope_label(side_a), scope_label(side_b))
    return diff_snapshots(
        snapshot(side_a, values=False),
        snapshot(side_b, values=False),
        _fetch=(_fetcher(side_a), _fetcher(side_b)),
        **opts,
    )


def diff_now(before: Snapshot, storages: BaseStorage | Iterable[BaseStorage], **opts: Any) -> DiffResult:
    """Diff a snapshot taken earlier with the given targets now: hashes first, values loaded only for changed keys."""
    from .base import BaseStorage

    side = [storages] if isinstance(storages, BaseStorage) else list(storages)
    return diff_snapshots(before, snapshot(side, values=False), _fetch=(None, _fetcher(side)), **opts)


def _describe(storage: BaseStorage) -> str:
    return storage.describe()


def _fetcher(storages: Sequence[BaseStorage]) -> Any:
    by_scope = {(s.session_id, s.target_id): s for s in storages}
    return lambda full: by_scope[(full[0], full[1])].load_any(full[2], _ABSENT)


def scope_label(storages: Sequence[BaseStorage], where: Callable[[BaseStorage], str] | None = None) -> str:
    """Label of a diff side: ``where(storage)`` (default ``describe()``) of one target, else a count per session."""
    if len(storages) == 1:
        return (where or _describe)(storages[0])
    sessions = sorted({s.session_id for s in storages})
    return f"{len(storages)} targets of {', '.join(sessions)}" if sessions else "(no targets)"
