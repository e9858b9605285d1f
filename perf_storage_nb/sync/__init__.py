"""Sync and copy between any two backends by content hash (offline work pushed to the team's cache service later).

Example::

    from perf_storage_nb.sync import sync, copy
    result = sync("./perf_results", "http://127.0.0.1:10017")      # API key from PERF_STORAGE_API_KEY
    result = sync(local, remote, sessions=["exp1"], dry_run=True)   # what would change
    copy("exp1/item_001:metrics.json", "baseline/item_001", src="./perf_results", dst=remote)

- :func:`sync` makes the destination hold the source's sessions (all kinds, byte-exact values), copying only
  keys whose content hash differs; ``delete=True`` also removes, inside those sessions, what the source lacks.
- :func:`copy` copies a key, a key prefix, a target or a session (``[LOCATION#]SESSION[/TARGET][:KEY]``).

Both return a :class:`SyncResult` (every change and failure). Hashes come from :mod:`.index` (``info`` per
key) or, on the cache service, from a manifest kept in each target's entry and verified against the
listing's sizes (:mod:`.manifest`): an up-to-date target there costs two requests and no write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .endpoints import default_location, location_label, open_location, parse_endpoint

if TYPE_CHECKING:
    from .api import copy, sync
    from .result import KeyChange, SyncResult

__all__ = [
    "KeyChange",
    "SyncResult",
    "copy",
    "default_location",
    "location_label",
    "open_location",
    "parse_endpoint",
    "sync",
]

_LAZY = {"copy": "api", "sync": "api", "KeyChange": "result", "SyncResult": "result"}


def __getattr__(name: str) -> Any:
    # The engine loads on first use: the command line reaches locations through .endpoints without it.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
