"""Loading one key (or its versions) of many sessions and targets with bulk calls, never one round trip per value.

On the cache service the fast path of :mod:`.cache_loading` (one listing per session, then one request per
value, concurrent); on any other backend (and cache service modes that cannot list) ``load_many`` per target,
on a thread pool when the backend is remote (``concurrent_bulk``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import BaseStorage
from ..names import check_key
from ..versions import parse_version_key
from .plan import Loaded, fan_out, plan_targets

__all__ = ["load_values"]

_MISSING: Any = object()


def load_values(
    storage: BaseStorage,
    key: str,
    sessions: Sequence[str],
    targets: Sequence[str] | None,
    *,
    versions: bool = False,
) -> list[Loaded]:
    """The value of ``key`` (or, with ``versions``, of each of its versions, oldest first) per session and target.

    Ordered by session (as given), target (sorted), version. Missing values are absent, never None.
    """
    check_key(key)
    if storage.backend_name == "cache_service":
        from ..backends.cache_service import CacheServiceStorage
        from .cache_loading import load_from_listing  # the cache service's fast path

        if isinstance(storage, CacheServiceStorage):
            fast = load_from_listing(storage, key, sessions, targets, versions=versions)
            if fast is not None:
                return fast
    plan = [(s, t) for s in sessions for t in plan_targets(storage, s, targets)]
    per_target = fan_out(storage, lambda st: _load_target(storage, st[0], st[1], key, versions), plan)
    return [loaded for values in per_target for loaded in values]


def _load_target(storage: BaseStorage, session: str, target: str, key: str, versions: bool) -> list[Loaded]:
    """One target's value(s) of ``key`` with one ``load_many`` (its versions need one listing first)."""
    sibling = storage.for_session(session, target)
    keys = list(reversed(sibling.versions(key))) if versions else [key]
    if not keys:
        return []
    result = sibling.load_many(keys, default=_MISSING)
    if result.errors:
        raise result.errors[result.failed[0]]  # the backend's own error (connection, corrupt value, ...)
    return [
        Loaded(session, target, k, value, parse_version_key(k) if versions else None)
        for k, value in result.ok.items()
        if value is not _MISSING
    ]
