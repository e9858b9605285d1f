"""The cache service's fast path for loading one key of many targets: one listing per session, one request per value.

The request floor, and why. Reading a child value through the entry routes needs the target entry's cache_id
(``GET /{ns}/cache/{cache_id}/data/json/...``), and a cold target's cache_id cannot come from a listing: every
cache_id of a target shares the fixed ``file_id`` folder ``perf-entry``, so listed paths name no cache_id and
each cold target would cost a hash lookup first (2 requests per value). The admin file listing of a session
(``GET /admin/storage/files/all/{ns}/data/key-based/sessions/{s}``, the same one ``targets()`` uses) names
the raw path of every child file instead, with its kind (``.json``/``.txt``/``.bin``), and the raw path is
read without any cache_id (``GET /admin/storage/file/content/{path}``). So: **one request per collected
value**, plus one listing per session, which also tells which targets hold the key (no request is wasted on a
target without it) and which versions exist (no per-target listing). Fewer is not possible: the service has no
route that returns several files at once (its zip routes read zip entries, not child data).

Server modes that cannot list (local_disk, sqlite, zip) fall back to the entry routes (``load_many``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backends.cache_service.body import decode_json
from ..backends.cache_service.names import join_key
from ..backends.cache_service.routes import ENTRY_FILE_ID
from ..backends.cache_service.storage import CacheServiceStorage
from ..errors import StorageBackendError
from ..versions import parse_version_key, version_pattern
from .plan import Loaded, fan_out, unknown_sessions

__all__ = ["load_from_listing", "session_files"]

_DATA = f"/{ENTRY_FILE_ID}/data/"  # every entry's child folder


def _listing_root(namespace: str, session: str) -> str:
    return f"{namespace}/data/key-based/sessions/{session}"


def session_files(storage: CacheServiceStorage, session: str) -> dict[str, dict[str, str]]:
    """target -> {key: raw path of its JSON value} of every target of ``session`` holding data (one listing)."""
    root = _listing_root(storage.namespace, session) + "/targets/"
    found: dict[str, dict[str, str]] = {}
    for path in storage.client.raw_files(_listing_root(storage.namespace, session)):
        if not path.startswith(root):
            continue
        target, sep, rest = path[len(root) :].partition(_DATA)
        if not sep or "/" in target:
            continue  # the entry's own files, not a value
        values = found.setdefault(target, {})  # a target with data, JSON or not
        if rest.endswith(".json"):  # text (.txt) and bytes (.bin) values are not JSON
            folder, _, name = rest[: -len(".json")].rpartition("/")
            key = join_key(folder, name)
            if key is not None:
                values[key] = path
    return found


def load_from_listing(
    storage: CacheServiceStorage, key: str, sessions: Sequence[str], targets: Sequence[str] | None, *, versions: bool
) -> list[Loaded] | None:
    """The values of ``key`` as :func:`~.loading.load_values` gives them, or None when the server cannot list."""
    if not storage.client.can_list():
        return None
    pattern = version_pattern(key) if versions else None
    wanted: list[tuple[str, str, str, str]] = []  # (session, target, key, raw path)
    unknown: list[str] = []
    for session in sessions:
        files = session_files(storage, session)
        if not files:
            unknown.append(session)
        names = sorted(files) if targets is None else [t for t in targets if t in files]
        for target in names:
            held = files[target]
            if pattern is None:
                if key in held:
                    wanted.append((session, target, key, held[key]))
            else:
                # version stamps sort in time order
                found = sorted((k for k in held if pattern.fullmatch(k)), key=lambda k: parse_version_key(k) or "")
                wanted.extend((session, target, k, held[k]) for k in found)

    if unknown:
        raise unknown_sessions(storage, unknown)

    def read(item: tuple[str, str, str, str]) -> Any:
        return _read(storage, item[3])

    values = fan_out(storage, read, wanted)
    return [
        Loaded(s, t, k, value, parse_version_key(k) if versions else None)
        for (s, t, k, _path), value in zip(wanted, values, strict=True)
        if value is not _GONE
    ]


_GONE: Any = object()


def _read(storage: CacheServiceStorage, path: str) -> Any:
    """The JSON value stored at a raw path (one request); _GONE when it was deleted since the listing."""
    response = storage.client.send("GET", f"/admin/storage/file/content/{path}", missing=(404,))
    if response is None:
        return _GONE
    try:
        return decode_json(response.content)
    except ValueError as exc:
        raise StorageBackendError(f"the stored value at {path!r} is not valid JSON (edited or corrupted?)") from exc
