"""``sync`` (make a destination hold a source's sessions) and ``copy`` (a key, a prefix, a target or a session)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from ..addressing import Address, parse_address
from ..base import BaseStorage
from ..errors import StorageKeyError, StorageNameError
from ..names import check_id, is_valid_key
from .endpoints import location_label, open_location, parse_endpoint
from .engine import Progress, Route, run_routes
from .result import SyncResult

__all__ = ["copy", "phase_bars", "sync"]

ProgressArg = bool | Progress | None


def sync(
    src: BaseStorage | str | None,
    dst: BaseStorage | str | None,
    *,
    sessions: Iterable[str] | None = None,
    dry_run: bool = False,
    delete: bool = False,
    checksum: bool = False,
    progress: ProgressArg = None,
    workers: int | None = None,
) -> SyncResult:
    """Make ``dst`` hold ``src``'s sessions (all of them, or ``sessions``), copying only keys that differ by hash.

    ``src``/``dst`` are storages (their backend is used, whatever their own session/target) or location URLs.
    ``dry_run`` lists the changes without writing; ``delete`` also removes, inside the synced sessions, targets
    and keys the source lacks (never other sessions). ``checksum`` reads and hashes every value instead of
    trusting a cache service's manifest. ``progress``: None = a bar on a terminal's stderr, True/False, or a
    callable ``(phase, done, total)``. Per-key failures are rows of the result (``result.ok`` is False);
    losing the connection or the API key raises after recording what completed. Re-running resumes.
    """
    with ExitStack() as stack:
        source = _opened(stack, src)
        target = _opened(stack, dst)
        names = sorted({check_id(s, "session") for s in sessions}) if sessions is not None else source.sessions()
        routes: list[Route] = []
        for session in names:
            have = set(source.targets(session))
            there = set(target.targets(session)) if delete else set()
            for name in sorted(have | there):
                src_t = source.for_session(session, name) if name in have else None
                routes.append(Route(src_t, target.for_session(session, name), delete=delete))
        return _run(routes, source, target, dry_run=dry_run, checksum=checksum, progress=progress, workers=workers)


def copy(
    src_address: str,
    dst_address: str,
    *,
    src: BaseStorage | str | None = None,
    dst: BaseStorage | str | None = None,
    dry_run: bool = False,
    checksum: bool = False,
    progress: ProgressArg = None,
    workers: int | None = None,
) -> SyncResult:
    """Copy a key, a key prefix, a target or a session; equal keys (by content hash) are skipped, nothing deleted.

    Addresses are ``[LOCATION#]SESSION[/TARGET][:KEY-OR-PREFIX]``; without ``LOCATION#`` the location is
    ``src``/``dst`` (a storage or URL; default: env ``PERF_STORAGE_URL`` / ``PERF_STORAGE_ROOT``). A source key
    that exists is copied alone (to the destination key, into a destination folder ending in '/', or under
    its own name); otherwise the key part is a prefix and its keys keep their names after it.
    """
    src_loc, a = parse_endpoint(src_address)
    dst_loc, b = parse_endpoint(dst_address)
    with ExitStack() as stack:
        source = _opened(stack, src_loc if src_loc is not None else src)
        target = _opened(stack, dst_loc if dst_loc is not None else dst)
        routes = _copy_routes(source, a, target, b)
        return _run(routes, source, target, dry_run=dry_run, checksum=checksum, progress=progress, workers=workers)


def _copy_routes(source: BaseStorage, a: Address, target: BaseStorage, b: Address) -> list[Route]:
    """The routes of ``copy``; StorageNameError/StorageKeyError (nothing written) when they cannot be made."""
    src_prefix = a.key or ""
    if a.target is None:
        if b.target is not None:
            raise StorageNameError(
                f"copying session {a.session!r} needs a session as destination, not {b.label()!r}; write SESSION"
            )
        targets = source.targets(a.session)
        if not targets:
            raise StorageKeyError(f"no session {a.session!r} (or no targets in it) at the source")
        dst_prefix = b.key if b.key is not None else src_prefix
        return [
            Route(source.for_session(a.session, t), target.for_session(b.session, t), src_prefix, dst_prefix)
            for t in targets
        ]
    src_t = source.for_session(a.session, a.target)
    dst_t = target.for_session(b.session, b.target or a.target)
    if is_valid_key(src_prefix) and src_t.exists(src_prefix):
        name = src_prefix.rsplit("/", 1)[-1]
        dst_key = src_prefix if not b.key else (b.key + name if b.key.endswith("/") else b.key)
        parse_address(f"{b.session}:{dst_key}", prefix=False)  # a whole, valid key (StorageNameError if not)
        return [Route(src_t, dst_t, src_prefix, dst_key, exact=True)]
    if not src_t.list_keys(src_prefix):
        what = f"no key or prefix {src_prefix!r} in" if src_prefix else "no keys in"
        raise StorageKeyError(f"{what} {a.session}/{a.target} at the source")
    return [Route(src_t, dst_t, src_prefix, b.key if b.key is not None else src_prefix)]


def _opened(stack: ExitStack, where: BaseStorage | str | None) -> BaseStorage:
    """The storage for a location; one opened here is closed when the operation ends."""
    if isinstance(where, BaseStorage):
        return where
    storage = open_location(where)
    stack.callback(storage.close)
    return storage


def _run(
    routes: list[Route],
    source: BaseStorage,
    target: BaseStorage,
    *,
    dry_run: bool,
    checksum: bool,
    progress: ProgressArg,
    workers: int | None,
) -> SyncResult:
    remote = source.concurrent_bulk or target.concurrent_bulk
    with _progress(progress) as report:
        return run_routes(
            routes,
            source=location_label(source),
            destination=location_label(target),
            dry_run=dry_run,
            trust=not checksum,
            workers=workers if workers is not None else (8 if remote else 1),
            progress=report,
        )


@contextmanager
def _progress(progress: ProgressArg) -> Iterator[Progress | None]:
    """A progress callback: the caller's, tqdm bars on stderr (``True``, or None on a terminal), or none."""
    if callable(progress):
        yield progress
        return
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show:
        yield None
        return
    from tqdm import tqdm  # only when a bar is shown

    with phase_bars(tqdm, file=sys.stderr) as report:
        yield report


@contextmanager
def phase_bars(bar_class: Any, **options: Any) -> Iterator[Progress]:
    """A ``progress`` callback drawing one ``bar_class`` (a tqdm class) per phase: targets scanned, keys copied."""
    bars: dict[str, Any] = {}

    def report(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            unit = "target" if phase == "scan" else "key"
            bar = bars[phase] = bar_class(total=total, desc=phase, unit=unit, leave=False, **options)
        bar.update(done - bar.n)

    try:
        yield report
    finally:
        for bar in bars.values():
            bar.close()
