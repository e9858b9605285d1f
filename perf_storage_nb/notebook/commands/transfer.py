"""``%storage cp`` and ``%storage sync``: the library's copy and sync (perf_storage_nb.sync) from a notebook.

Addresses are ``[LOCATION#]SESSION[/TARGET][:KEY-OR-PREFIX]`` as on the command line; without ``LOCATION#``
they are on the current backend. The result (a SyncResult) displays itself: counts and one row per change.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .base import Command, Context
from .parsing import Arg, Complete

if TYPE_CHECKING:
    from ...sync import SyncResult

ORDER = 45  # after diffing and capture in %storage help


@contextmanager
def _bar(ctx: Context, show: bool) -> Iterator[Callable[[str, int, int], None] | bool]:
    """A notebook progress bar (tqdm.auto: a widget in a kernel) while the copies run, when feedback is on."""
    if not show or ctx.settings.feedback < 1:
        yield False
        return
    from tqdm.auto import tqdm

    from ...sync.api import phase_bars

    with phase_bars(tqdm) as report:
        yield report


def _cp(ctx: Context, args: Namespace) -> SyncResult:
    from ...sync import copy

    with _bar(ctx, args.progress) as progress:
        return copy(
            args.src,
            args.dst,
            src=ctx.storage,
            dst=ctx.storage,
            dry_run=args.dry_run,
            checksum=args.checksum,
            progress=progress,
        )


CP = Command(
    "cp",
    "Copy a key, prefix, target or session ([LOCATION#]SESSION[/TARGET][:KEY]); equal keys are skipped.",
    args=(
        Arg("src", metavar="SRC", complete=Complete.SCOPE),
        Arg("dst", metavar="DST", complete=Complete.SCOPE),
        Arg("-n", "--dry-run", flag=True),
        Arg("--checksum", flag=True),
        Arg("--progress", flag=True),
    ),
    line=_cp,
)


def _sync(ctx: Context, args: Namespace) -> SyncResult:
    from ...sync import sync

    src: Any = ctx.storage if args.src is None else args.src
    with _bar(ctx, args.progress) as progress:
        return sync(
            src,
            args.dst,
            sessions=args.session or None,
            dry_run=args.dry_run,
            delete=args.delete,
            checksum=args.checksum,
            progress=progress,
        )


SYNC = Command(
    "sync",
    "Make a location hold this backend's sessions (or SRC's), copying only what differs by content hash.",
    args=(
        Arg("src", metavar="SRC", nargs="?"),  # argparse gives a lone location to DST
        Arg("dst", metavar="DST"),
        Arg("-s", "--session", metavar="SESSION", repeat=True, complete=Complete.SESSION),
        Arg("-n", "--dry-run", flag=True),
        Arg("--delete", flag=True),
        Arg("--checksum", flag=True),
        Arg("--progress", flag=True),
    ),
    line=_sync,
)
