"""Snapshots of targets (kind, hash, size, values) and their diffs: saved vs saved, saved vs now, live vs live."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..base import BaseStorage
from ..errors import StorageKindError
from ..kinds import KINDS, LOAD_METHOD
from .engine import matches, parse_tolerance, value_changes
from .result import ABSENT, Change, DiffResult, sort_changes

__all__ = ["Snapshot", "diff_now", "diff_scopes", "diff_snapshots", "load_kind", "scope_label", "snapshot"]

#: nested plain dict {session: {target: {key: {"kind", "hash", "size"[, "value"]}}}}
Snapshot = dict[str, dict[str, dict[str, dict[str, Any]]]]


def load_kind(storage: BaseStorage, key: str, kind: str, default: Any = None) -> Any:
    """Load ``key`` with the loader of ``kind`` (one read); any kind if it changed since ``kind`` was seen."""
    if kind not in KINDS:
        return storage.load_any(key, default)
    loader = getattr(storage, LOAD_METHOD[kind])
    try:
        return loader(key, default)
    except StorageKindError:  # rewritten with another kind between info() and this read
        return storage.load_any(key, default)


def _targets(storages: BaseStorage | Iterable[BaseStorage]) -> list[BaseStorage]:
    return [storages] if isinstance(storages, BaseStorage) else list(storages)


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
    skip = tuple(exclude_prefixes)
    snap: Snapshot = {}
    for storage in _targets(storages):
        entries: dict[str, dict[str, Any]] = {}
        for key in storage.list_keys():
            if skip and key.startswith(skip):
                continue
            info = storage.info(key)
            if info is None:  # deleted between list and stat
                continue
            entry: dict[str, Any] = {"kind": info.kind, "hash": info.hash, "size": info.size}
            if values and info.kind != "bytes" and info.size <= max_value_bytes:
                value = load_kind(storage, key, info.kind, ABSENT)
                if value is ABSENT:
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
        if glob and matches(glob, group):
            continue
        if ident not in keyed_a:
            full_b, eb = keyed_b[ident]
            shown = _shown_entry(eb, full_b, _fetch, 1)
            rows.append(Change(group, "root", "added", None, shown, f"{eb['kind']}, {eb['size']} B"))
            continue
        full_a, ea = keyed_a[ident]
        if ident not in keyed_b:
            shown = _shown_entry(ea, full_a, _fetch, 0)
            rows.append(Change(group, "root", "removed", shown, None, f"{ea['kind']}, {ea['size']} B"))
            continue
        full_b, eb = keyed_b[ident]
        if ea["hash"] == eb["hash"] and ea["kind"] == eb["kind"]:
            unchanged += 1
            continue
        va, vb = _entry_value(ea, full_a, _fetch, 0), _entry_value(eb, full_b, _fetch, 1)
        kind_note = f"kind {ea['kind']} -> {eb['kind']}" if ea["kind"] != eb["kind"] else ""
        if va is ABSENT or vb is ABSENT or (ea["kind"] == eb["kind"] == "bytes"):
            # A value that was not recorded (too large, or bytes) is shown by hash on both sides.
            before, after = f"<hash {ea['hash'][:12]}>", f"<hash {eb['hash'][:12]}>"
            rows.append(
                Change(group, "root", "changed", before, after, kind_note or f"{ea['size']} B -> {eb['size']} B")
            )
        elif kind_note:
            rows.append(Change(group, "root", "changed", va, vb, kind_note))
        else:
            found, tol = value_changes(
                va, vb, group=group, labels=labels, rel_tol=rel, abs_tol=absol, exclude_paths=tuple(exclude_paths)
            )
            rows += found
            tolerated += tol
            if not found and not tol:
                unchanged += 1  # only excluded paths changed
    return DiffResult(sort_changes(rows), (str(labels[0]), str(labels[1])), tolerated, unchanged)


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
        return ABSENT
    if "value" in entry:
        return entry["value"]
    if entry["kind"] == "bytes":
        return f"<{entry['size']} bytes>"
    if fetch is not None and full is not None and fetch[side] is not None:
        return fetch[side](full)
    return ABSENT


def _shown_entry(
    entry: Mapping[str, Any], full: tuple[str, str, str] | None, fetch: tuple[Any, Any] | None, side: int
) -> Any:
    value = _entry_value(entry, full, fetch, side)
    return f"<hash {entry['hash'][:12]}>" if value is ABSENT else value


def diff_scopes(
    a: BaseStorage | Iterable[BaseStorage], b: BaseStorage | Iterable[BaseStorage], **opts: Any
) -> DiffResult:
    """Diff two live sets of targets hash-first: values are loaded only for keys whose hashes differ."""
    side_a, side_b = _targets(a), _targets(b)
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
    side = _targets(storages)
    return diff_snapshots(before, snapshot(side, values=False), _fetch=(None, _fetcher(side)), **opts)


def _describe(storage: BaseStorage) -> str:
    return storage.describe()


def _fetcher(storages: Sequence[BaseStorage]) -> Any:
    by_scope = {(s.session_id, s.target_id): s for s in storages}
    return lambda full: by_scope[(full[0], full[1])].load_any(full[2], ABSENT)


def scope_label(storages: Sequence[BaseStorage], where: Callable[[BaseStorage], str] | None = None) -> str:
    """Label of a diff side: ``where(storage)`` (default ``describe()``) of one target, else a count per session."""
    if len(storages) == 1:
        return (where or _describe)(storages[0])
    sessions = sorted({s.session_id for s in storages})
    return f"{len(storages)} targets of {', '.join(sessions)}" if sessions else "(no targets)"
