"""``matrix``: per target x key status of two sessions (added / removed / changed / same), decided by hashes first.

Every key present on both sides is compared by its content hash (``info()``: the canonical hash every backend
computes alike); only the keys whose hashes differ are loaded, to say how much changed (a deep diff count).
Unchanged values are never loaded. With ``stages`` (key prefixes in pipeline order, e.g. ``("source/",
"graphs/", "output/")``) each target also gets its first divergent stage: the earliest prefix whose keys changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..base import BaseStorage
from ..diff import diff_values
from ..errors import StorageValueError, StorageValueTypeError
from ..names import check_id, check_prefix
from ..records import KeyInfo
from .matrix_result import Matrix, MatrixCell
from .plan import fan_out, target_list, unknown_sessions

__all__ = ["matrix", "stage_list"]

_ABSENT: Any = object()


def stage_list(stages: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Stage prefixes in pipeline order (one str or several), checked; None for none."""
    if stages is None:
        return None
    given = [stages] if isinstance(stages, str) else list(stages)
    if not given:
        raise StorageValueError("stages is empty: give None or key prefixes in order, e.g. ('source/', 'output/')")
    for stage in given:
        if not isinstance(stage, str) or not stage:
            raise StorageValueTypeError(f"stages are key prefixes (str), e.g. ('source/', 'output/'), not {stage!r}")
    return tuple(check_prefix(s) for s in dict.fromkeys(given))


def matrix(
    storage: BaseStorage,
    baseline: str,
    candidate: str,
    *,
    prefix: str = "",
    stages: str | Iterable[str] | None = None,
    targets: str | Iterable[str] | None = None,
    details: bool = True,
) -> Matrix:
    """Status of every key (under ``prefix``) of every target in ``candidate`` against ``baseline``.

    ``added`` / ``removed``: the key is on one side only; ``changed`` / ``same``: by content hash. With
    ``details`` the changed values (only those) are loaded and deep-diffed for a change count. ``stages``:
    key prefixes in pipeline order; each target's first divergent stage is the earliest with a non-same key.
    """
    base, cand = check_id(baseline, "baseline session"), check_id(candidate, "candidate session")
    if base == cand:
        raise StorageValueError(f"baseline and candidate are both {base!r}: compare two different sessions")
    prefix = check_prefix(prefix)
    order = stage_list(stages)
    given = target_list(targets)
    listed = {s: storage.targets(s) for s in (base, cand)}
    empty = [s for s in (base, cand) if not listed[s]]
    if empty:
        raise unknown_sessions(storage, empty)
    names = given if given is not None else sorted(set(listed[base]) | set(listed[cand]))
    pairs = [(s, t) for t in names for s in (base, cand)]
    keys = dict(zip(pairs, fan_out(storage, lambda p: _keys(storage, p, prefix), pairs), strict=True))
    both = [(t, k) for t in names for k in sorted(set(keys[(base, t)]) & set(keys[(cand, t)]))]
    asks = [(s, t, k) for t, k in both for s in (base, cand)]
    infos = dict(zip(asks, fan_out(storage, lambda a: _info(storage, *a), asks), strict=True))
    cells: list[MatrixCell] = []
    for t in names:
        b_keys, c_keys = set(keys[(base, t)]), set(keys[(cand, t)])
        for k in sorted(b_keys | c_keys):
            if k not in c_keys:
                cells.append(MatrixCell(t, k, "removed"))
            elif k not in b_keys:
                cells.append(MatrixCell(t, k, "added"))
            else:
                bi, ci = infos[(base, t, k)], infos[(cand, t, k)]
                if bi is None or ci is None:  # deleted between the listing and info(): present on one side
                    cells.append(MatrixCell(t, k, "removed" if ci is None else "added"))
                else:
                    same = bi.kind == ci.kind and bi.hash == ci.hash
                    cells.append(MatrixCell(t, k, "same" if same else "changed", bi.hash, ci.hash))
    loads = 0
    if details:
        changed = [c for c in cells if c.status == "changed"]
        summaries = fan_out(storage, lambda c: _summary(storage, base, cand, c), changed)
        loads = 2 * len(changed)
        by_cell = {(c.target, c.key): s for c, s in zip(changed, summaries, strict=True)}
        cells = [c.with_summary(by_cell[(c.target, c.key)]) if c.status == "changed" else c for c in cells]
    return Matrix(base, cand, prefix, order, names, cells, loads)


def _keys(storage: BaseStorage, pair: tuple[str, str], prefix: str) -> list[str]:
    session, target = pair
    return storage.for_session(session, target).list_keys(prefix)


def _info(storage: BaseStorage, session: str, target: str, key: str) -> KeyInfo | None:
    return storage.for_session(session, target).info(key)


def _summary(storage: BaseStorage, base: str, cand: str, cell: MatrixCell) -> str:
    """How much one changed value changed: ``3 changes`` (deep diff) or ``bytes differ``; two loads."""
    before = storage.for_session(base, cell.target).load_any(cell.key, _ABSENT)
    after = storage.for_session(cand, cell.target).load_any(cell.key, _ABSENT)
    if before is _ABSENT or after is _ABSENT:
        return "deleted meanwhile"
    if isinstance(before, bytes) or isinstance(after, bytes):
        return "bytes differ"
    if type(before) is not type(after) and not (isinstance(before, (dict, list)) and isinstance(after, (dict, list))):
        return f"{type(before).__name__} -> {type(after).__name__}"
    result = diff_values(before, after, labels=(base, cand))
    if isinstance(before, str) and isinstance(after, str):
        lines = [line for c in result.changes for line in c.text_diff if line[:3] not in ("+++", "---")]
        n = max(sum(1 for line in lines if line[:1] == "-"), sum(1 for line in lines if line[:1] == "+"))
        return f"{n} line{'' if n == 1 else 's'} changed" if n else "text changed"
    n = len(result.changes)
    return f"{n} change{'' if n == 1 else 's'}"
