"""``cp`` and ``sync``: copy between any two locations by content hash (perf_storage_nb.sync)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..context import Context
from ..outcome import BACKEND, OK
from ..record import Command

if TYPE_CHECKING:
    from ...sync import SyncResult

ORDER = 40


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--dry-run", action="store_true", help="list what would change, write nothing")
    parser.add_argument(
        "--checksum",
        action="store_true",
        help="read and hash every value instead of trusting a cache service's manifest (slower, thorough)",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="show a bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--workers", type=int, metavar="N", help="concurrent copies (default: 8 when remote, else 1)")


def _finish(ctx: Context, result: SyncResult) -> int:
    if ctx.json:
        ctx.emit(result.to_dict())
    else:
        ctx.out([result.to_text()])
    return OK if result.ok else BACKEND


# ---- cp ------------------------------------------------------------------------------------------------------------
def _build_cp(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC", help="[LOCATION#]SESSION[/TARGET][:KEY-OR-PREFIX]")
    parser.add_argument("dst", metavar="DST", help="[LOCATION#]SESSION[/TARGET][:KEY-OR-FOLDER/]")
    _common(parser)


def _cp(ctx: Context) -> int:
    from ...sync import copy, parse_endpoint

    args = ctx.args
    src_loc, _ = parse_endpoint(args.src)
    dst_loc, _ = parse_endpoint(args.dst)
    result = copy(
        args.src.rpartition("#")[2],
        args.dst.rpartition("#")[2],
        src=ctx.location(src_loc),
        dst=ctx.location(dst_loc),
        dry_run=args.dry_run,
        checksum=args.checksum,
        progress=args.progress,
        workers=args.workers,
    )
    return _finish(ctx, result)


CP = Command(
    "cp",
    "Copy a key, a prefix, a target or a session, between any two locations (equal keys are skipped).",
    _build_cp,
    _cp,
    examples=(
        "perf-storage cp exp1/item_001:metrics.json baseline/item_001           # within -L",
        "perf-storage cp exp1/item_001:metrics.json baseline/item_001:ref.json  # under another name",
        "perf-storage cp ./perf_results#exp1 http://127.0.0.1:10017#exp1         # a session to the cache service",
        "perf-storage cp exp1/item_001:results/ exp2/item_001 --dry-run          # the keys under a prefix",
    ),
    description=(
        "Copy between any two locations; SRC and DST are [LOCATION#]SESSION[/TARGET][:KEY-OR-PREFIX] (without "
        "LOCATION#: -L). A source key that exists is copied alone (to DST's key, into DST's folder when it ends "
        "in '/', or under its own name); otherwise the key part is a prefix. Keys equal by content hash are "
        "skipped; nothing is deleted (see sync --delete). Exit 3 when any key failed."
    ),
)


# ---- sync ----------------------------------------------------------------------------------------------------------
def _build_sync(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", metavar="SRC", help="source location (./dir, file:///..., http(s)://...)")
    parser.add_argument("dst", metavar="DST", help="destination location")
    parser.add_argument(
        "-s", "--session", action="append", dest="sessions", metavar="SESSION", help="only this session; repeatable"
    )
    parser.add_argument(
        "--delete", action="store_true", help="inside the synced sessions, delete targets and keys SRC lacks"
    )
    _common(parser)


def _sync(ctx: Context) -> int:
    from ...sync import sync

    args = ctx.args
    sessions = None if args.sessions is None else [ctx.session(s) for s in args.sessions]
    result = sync(
        ctx.location(args.src),
        ctx.location(args.dst),
        sessions=sessions,
        dry_run=args.dry_run,
        delete=args.delete,
        checksum=args.checksum,
        progress=args.progress,
        workers=args.workers,
    )
    return _finish(ctx, result)


SYNC = Command(
    "sync",
    "Make DST hold SRC's sessions, copying only keys that differ by content hash (resumable; --delete, --dry-run).",
    _build_sync,
    _sync,
    examples=(
        "perf-storage sync ./perf_results http://127.0.0.1:10017             # push offline work",
        "perf-storage sync http://127.0.0.1:10017 ./mirror -s exp1 -s exp2   # pull two sessions",
        "perf-storage sync ./perf_results $PERF_STORAGE_URL --dry-run        # what would change",
        "perf-storage sync ./perf_results $PERF_STORAGE_URL --delete --json  # mirror exactly; machine output",
    ),
    description=(
        "Make DST hold SRC's sessions (all of them, or -s SESSION ...): every kind, byte-exact values, "
        "copying only keys whose content hash differs, concurrently on a cache service, with a progress bar on a "
        "terminal. Interrupted and re-run, it copies only what did not arrive. --delete removes, inside the "
        "synced sessions only, targets and keys SRC lacks. On a cache service the content hashes come from a "
        "manifest kept in each target's entry and checked against the server's listing (2 requests per "
        "up-to-date target, no write); --checksum reads every value instead. Exit 3 when any key failed."
    ),
)
