"""What the analysis functions read: sessions (checked) and targets, and the value type and fan-out they share.

:func:`plan_sessions` checks the sessions a caller names (an unknown one is an error naming the known ones);
:func:`fan_out` runs per-target work on a thread pool when the backend is remote (``concurrent_bulk``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ..base import BaseStorage
from ..errors import StorageKeyError, StorageNotSupported, StorageValueError
from ..names import check_id

__all__ = [
    "Loaded",
    "fan_out",
    "plan_sessions",
    "plan_targets",
    "session_list",
    "target_list",
    "unknown_sessions",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
WORKERS = 8  # concurrent requests on a remote backend: the cache service gains nothing beyond ~8 (reference §8)


@dataclass(frozen=True)
class Loaded:
    """One stored value: ``version`` is the version stamp (``20261124T101500123456Z``) of a ``save_version`` copy."""

    session: str
    target: str
    key: str
    value: Any
    version: str | None = None


# Classic TypeVars, not PEP 695 brackets: the repository's structure check parses with Python 3.11.
def fan_out(storage: BaseStorage, fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:  # noqa: UP047
    """``[fn(item) ...]`` in order; on a thread pool when the backend is remote (``concurrent_bulk``)."""
    if not type(storage).concurrent_bulk or len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items)), thread_name_prefix="perf-storage-analysis") as pool:
        return list(pool.map(fn, items))


def session_list(sessions: str | Iterable[str] | None) -> list[str] | None:
    """Session names a caller gave (one str or several), checked, in order, without duplicates."""
    if sessions is None:
        return None
    given = [sessions] if isinstance(sessions, str) else list(sessions)
    return list(dict.fromkeys(check_id(s, "session_id") for s in given))


def _known_sessions(storage: BaseStorage) -> list[str] | None:
    try:
        return storage.sessions()
    except StorageNotSupported:
        return None  # the backend cannot list: names are taken as given


def plan_sessions(storage: BaseStorage, sessions: str | Iterable[str] | None) -> list[str]:
    """The sessions to read, in the caller's order (default: every session, sorted); unknown ones are an error.

    On the cache service named sessions are checked by the listing the fast path makes anyway (listing every
    session of a namespace to check two names would read the whole namespace's file list).
    """
    given = session_list(sessions)
    if given is not None and not given:
        raise StorageValueError("sessions is empty: give None (every session) or names, e.g. ['run_a', 'run_b']")
    if given is not None and storage.backend_name == "cache_service":
        return given
    known = _known_sessions(storage)
    if given is None:
        if known is None:
            raise StorageNotSupported(
                f"the {storage.backend_name} backend cannot list its sessions: "
                "name them, e.g. sessions=['run_a', 'run_b']"
            )
        if not known:
            raise StorageKeyError(f"the {storage.backend_name} storage holds no sessions yet: nothing to read")
        return known
    unknown = [s for s in given if s not in known] if known is not None else []
    if unknown:
        raise unknown_sessions(storage, unknown, known)
    return given


def unknown_sessions(
    storage: BaseStorage, unknown: Sequence[str], known: Sequence[str] | None = None
) -> StorageKeyError:
    """The error for sessions that hold no data, naming the sessions that do."""
    if known is None:
        known = _known_sessions(storage) or []
    shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
    return StorageKeyError(
        f"unknown session{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
        f"sessions with data: {shown or 'none'}"
    )


def plan_targets(storage: BaseStorage, session: str, targets: Sequence[str] | None) -> list[str]:
    """The targets of ``session`` to read: the given ones, or every target holding data (sorted)."""
    return list(targets) if targets is not None else storage.targets(session)


def target_list(targets: str | Iterable[str] | None) -> list[str] | None:
    """Target names a caller gave (one str or several), checked, sorted, without duplicates."""
    if targets is None:
        return None
    given = [targets] if isinstance(targets, str) else list(targets)
    return sorted({check_id(t, "target_id") for t in given})
