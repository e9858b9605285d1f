"""``diff``: two keys, two targets or two sessions, as the library diffs them; exit 1 when they differ."""

from __future__ import annotations

import argparse

from ..context import Context
from ..outcome import DIFFERENT, OK, USAGE, CliError
from ..record import Command

ORDER = 30


def _build_diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="SESSION/TARGET:KEY, SESSION/TARGET or SESSION ([LOCATION#] allowed)")
    parser.add_argument("b", metavar="B", help="the same form as A (a KEY of B may be left out: the same key)")
    parser.add_argument("--tol", metavar="REL", help="relative tolerance for numbers, e.g. 5%% or 0.05")
    parser.add_argument("--abs-tol", metavar="ABS", type=float, help="absolute tolerance for numbers")
    parser.add_argument(
        "--exclude", metavar="PATH", action="append", default=[], help="skip a path (root['a'] or a glob); repeatable"
    )


def _diff(ctx: Context) -> int:
    from ...addressing import scope_storages
    from ...diff import diff_keys, diff_scopes, parse_tolerance

    args = ctx.args
    parse_tolerance(args.tol)  # a bad tolerance is refused before anything is read
    root_a, a = ctx.endpoint(args.a)
    root_b, b = ctx.endpoint(args.b)
    opts = {"rel_tol": args.tol, "abs_tol": args.abs_tol, "exclude_paths": args.exclude, "labels": (args.a, args.b)}
    if a.key:
        if a.target is None or b.target is None or b.key == "":
            raise CliError("a key diff compares SESSION/TARGET:KEY with SESSION/TARGET[:KEY]", USAGE)
        store_a = root_a.for_session(a.session, a.target)
        store_b = root_b.for_session(b.session, b.target)
        result = diff_keys(store_a, a.key, store_b, b.key or a.key, **opts)
    else:
        if b.key or (a.target is None) != (b.target is None):
            raise CliError(
                "diff compares two keys (S/T:KEY), two targets (S/T) or two sessions (S), not a mix; prefixes "
                "are not compared",
                USAGE,
            )
        side_a = scope_storages(root_a, a.scope()) if a.target is None else [root_a.for_session(a.session, a.target)]
        side_b = scope_storages(root_b, b.scope()) if b.target is None else [root_b.for_session(b.session, b.target)]
        side_a = [s for s in side_a if s.session_id == a.session]  # scope_storages adds the placeholder root
        side_b = [s for s in side_b if s.session_id == b.session]
        result = diff_scopes(side_a, side_b, **opts)
    if ctx.json:
        ctx.emit({**result.to_dict(), "different": bool(result)})
    else:
        ctx.out([result.to_text()])
    return DIFFERENT if result else OK


DIFF = Command(
    "diff",
    "Diff two keys, targets or sessions (values with deepdiff, text as a unified diff); exit 1 when different.",
    _build_diff,
    _diff,
    examples=(
        "perf-storage diff baseline/item_001:metrics.json exp1/item_001:metrics.json --tol 5%",
        "perf-storage diff baseline/item_001 exp1/item_001     # every key of two targets",
        "perf-storage diff baseline exp1 --json                # two sessions; exit 1 if anything differs",
        "perf-storage diff ./perf_results#exp1 http://127.0.0.1:10017#exp1   # local against the cache service",
    ),
)
