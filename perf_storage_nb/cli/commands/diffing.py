"""``diff``: two keys, two targets or two sessions, as the library diffs them; exit 1 when they differ."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..context import Context
from ..outcome import DIFFERENT, OK, USAGE, CliError
from ..record import Command

if TYPE_CHECKING:
    from ...analysis import Comparison

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


# ---- compare -----------------------------------------------------------------------------------------------------
def _build_compare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", metavar="BASELINE", help="the baseline session")
    parser.add_argument("candidate", metavar="CANDIDATE", help="the session to judge")
    parser.add_argument("key", metavar="KEY", help="the JSON results key both sessions hold (in each target)")
    parser.add_argument("--tol", metavar="REL", default="0%", help="relative tolerance, e.g. 5%% (default 0%%)")
    parser.add_argument("--abs-tol", metavar="ABS", default="0", help="absolute tolerance in the field's unit")
    parser.add_argument(
        "--field", action="append", dest="fields", metavar="PATH", help="a numeric field to judge; repeatable"
    )
    parser.add_argument(
        "--higher-is-better", action="append", default=[], metavar="FIELD", help="a field where more is better"
    )
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level of the Mann-Whitney U test")
    parser.add_argument("--target", action="append", dest="targets", metavar="TARGET", help="only these targets")


def comparison_dict(result: Comparison) -> dict[str, Any]:
    """A Comparison as JSON: its key, sessions, counts and one object per row (the ComparisonRow fields)."""
    import dataclasses

    return {
        "key": result.key,
        "baseline": result.baseline,
        "candidate": result.candidate,
        "counts": result.counts(),
        "regressions": len(result.regressions),
        "rows": [{name: _plain(value) for name, value in dataclasses.asdict(row).items()} for row in result.rows],
    }


def _plain(value: object) -> object:
    """numpy scalars and the like as plain JSON numbers."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (list, dict, str, bytes)) else value


def _compare(ctx: Context) -> int:
    try:
        from ...analysis import compare
    except ImportError as exc:  # the analysis extra (pandas, scipy) is not installed
        raise CliError(f"compare needs the analysis extra: pip install 'perf_storage_nb[analysis]' ({exc})") from None
    args = ctx.args
    baseline, candidate = ctx.session(args.baseline), ctx.session(args.candidate)
    key = ctx.address(f"{baseline}:{args.key}", whole_key=True).key or ""
    result = compare(
        ctx.location(),
        baseline,
        candidate,
        key,
        fields=args.fields,
        tol=args.tol,
        abs_tol=args.abs_tol,
        higher_is_better=args.higher_is_better,
        alpha=args.alpha,
        targets=args.targets,
    )
    if ctx.json:
        ctx.emit(comparison_dict(result))
    else:
        ctx.out([result._text_twin()])
    return DIFFERENT if result.regressions else OK


COMPARE = Command(
    "compare",
    "Verdicts per target x field of a results key in two sessions (noise-aware); exit 1 on any 'worse' (a CI gate).",
    _build_compare,
    _compare,
    examples=(
        "perf-storage compare baseline exp1 results/timings.json --tol 5%",
        "perf-storage compare baseline exp1 results/timings.json --field latency_ms --higher-is-better throughput",
        "perf-storage compare baseline exp1 results/timings.json --json   # rows as analysis.compare gives them",
    ),
    description=(
        "Compare KEY of session CANDIDATE with session BASELINE: one verdict per target x numeric field (better, "
        "worse, same, noise, added, removed), by a Mann-Whitney U test when each side has >= 3 samples, by the "
        "tolerances otherwise; lower is better unless --higher-is-better. Exit 1 when any verdict is 'worse'."
    ),
)
