"""``ls``, ``sessions``, ``targets``: what a location holds."""

from __future__ import annotations

import argparse
from typing import Any

from ...addressing import filter_keys
from ..context import Context, info_dict, info_rows
from ..outcome import OK
from ..record import Command, no_arguments

ORDER = 10  # first in --help


# ---- ls --------------------------------------------------------------------------------------------------------
def _build_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address",
        nargs="?",
        metavar="SESSION[/TARGET][:PREFIX|GLOB]",
        help="what to list (default: every key of every session); a glob (*.json) matches as in %%storage ls",
    )
    parser.add_argument(
        "-l", "--long", action="store_true", help="kind, size and content hash of each key (one read per key)"
    )


def _long_line(info: Any, name: str) -> str:
    return f"{info.kind:<5} {info.size:>12,}  {info.hash[:12]}  {name}"


def _ls(ctx: Context) -> int:
    args = ctx.args
    root = ctx.location()
    address, prefix, pattern = ctx.listing(args.address) if args.address else (None, "", None)

    def keys_of(storage: Any) -> list[str]:
        keys: list[str] = storage.list_keys(prefix)
        return keys if pattern is None else filter_keys(keys, pattern)

    if address is not None and address.target is not None:
        storage = root.for_session(address.session, address.target)
        keys = keys_of(storage)
        if not args.long:
            ctx.emit(keys) if ctx.json else ctx.out(keys)
            return OK
        rows = info_rows(storage, keys)
        ctx.emit([info_dict(i) for i in rows]) if ctx.json else ctx.out(_long_line(i, i.key) for i in rows)
        return OK
    sessions = [address.session] if address is not None else root.sessions()
    tree: dict[str, dict[str, Any]] = {}
    lines: list[str] = []
    for session in sessions:
        level = tree.setdefault(session, {})
        for target in root.targets(session):
            storage = root.for_session(session, target)
            keys = keys_of(storage)
            where = f"{session}/{target}:"
            if args.long:
                rows = info_rows(storage, keys)
                level[target] = [info_dict(i) for i in rows]
                lines += [_long_line(i, where + i.key) for i in rows]
            else:
                level[target] = keys
                lines += [where + k for k in keys]
    if ctx.json:
        ctx.emit(tree[sessions[0]] if address is not None else tree)
    else:
        ctx.out(lines)
    return OK


LS = Command(
    "ls",
    "List keys: of a target (names), or of a session / everything (SESSION/TARGET:KEY addresses).",
    _build_ls,
    _ls,
    examples=(
        "perf-storage ls                                 # every key: SESSION/TARGET:KEY per line",
        "perf-storage ls exp1/item_001                   # the keys of one target",
        "perf-storage ls exp1/item_001:results/ -l       # kind, size, hash of keys under a prefix",
        "perf-storage ls 'exp1:*.json'                   # a glob, as in %storage ls (case-insensitive)",
        "perf-storage ls exp1 --json                     # {target: [keys]} (one session)",
        "perf-storage -L http://127.0.0.1:10017 ls exp1  # on the cache service (API key: env or prompt)",
    ),
    description=(
        "List keys. For one target (SESSION/TARGET[:PREFIX]) the key names, one per line; for a session or the "
        "whole location, SESSION/TARGET:KEY addresses (ready for cat, info, diff). --json gives list_keys() for "
        "a target, {target: keys} for a session, {session: {target: keys}} for everything; with -l each key is "
        "an object {key, kind, size, hash, modified} as info() gives it."
    ),
)


# ---- sessions / targets -------------------------------------------------------------------------------------------
def _sessions(ctx: Context) -> int:
    names = ctx.location().sessions()
    ctx.emit(names) if ctx.json else ctx.out(names)
    return OK


SESSIONS = Command(
    "sessions",
    "Sessions that hold data at the location.",
    no_arguments,
    _sessions,
    examples=("perf-storage sessions", "perf-storage sessions -L ./perf_results --json"),
)


def _build_targets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", nargs="?", metavar="SESSION", help="one session (default: every session)")


def _targets(ctx: Context) -> int:
    root = ctx.location()
    if ctx.args.session is not None:
        names = root.targets(ctx.session(ctx.args.session))
        ctx.emit(names) if ctx.json else ctx.out(names)
        return OK
    tree = {s: root.targets(s) for s in root.sessions()}
    ctx.emit(tree) if ctx.json else ctx.out(f"{s}/{t}" for s, targets in tree.items() for t in targets)
    return OK


TARGETS = Command(
    "targets",
    "Targets of a session (or SESSION/TARGET of every session).",
    _build_targets,
    _targets,
    examples=("perf-storage targets exp1", "perf-storage targets --json     # {session: [targets]}"),
)
