"""``perf-storage export``: a session as a static, self-contained HTML report (perf_storage_nb.export)."""

from __future__ import annotations

import argparse

from ..context import Context
from ..outcome import OK, CliError
from ..record import Command

ORDER = 50


def _build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", metavar="SESSION", help="the session to report")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="the report folder (new or empty)")
    parser.add_argument("--against", metavar="BASELINE", help="add the comparison, the matrix and diffs against it")
    parser.add_argument(
        "--key", action="append", dest="keys", metavar="KEY", help="JSON key to compare (default: every JSON key)"
    )
    parser.add_argument("--tol", metavar="REL", default="0%", help="relative tolerance of the comparison")
    parser.add_argument("--abs-tol", metavar="ABS", default="0", help="absolute tolerance of the comparison")
    parser.add_argument("--higher-is-better", action="append", default=[], metavar="FIELD")
    parser.add_argument("--stages", action="append", metavar="PREFIX", help="key prefixes in pipeline order")
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder that holds no report")


def _export(ctx: Context) -> int:
    from ...export import export_report
    from ...sync.endpoints import location_label

    args = ctx.args
    storage = ctx.location()
    options = {"tol": args.tol, "abs_tol": args.abs_tol, "higher_is_better": args.higher_is_better}
    if args.stages:
        options["stages"] = args.stages
    try:
        result = export_report(
            storage,
            ctx.session(args.session),
            args.output,
            against=ctx.session(args.against) if args.against else None,
            compare_keys=args.keys,
            compare_options=options,
            location=location_label(storage),
            force=args.force,
        )
    except ImportError as exc:  # --against without the analysis extra (pandas, scipy)
        raise CliError(f"--against needs the analysis extra: pip install 'perf_storage_nb[analysis]' ({exc})") from None
    if ctx.json:
        ctx.emit(result.to_dict())
    else:
        ctx.out([result.to_text()])
    return OK


EXPORT = Command(
    "export",
    "Write a session as a static HTML report (no server, no Jupyter, no network); --against adds comparisons.",
    _build,
    _export,
    examples=(
        "perf-storage export exp1 -o build/report                   # then open build/report/index.html",
        "perf-storage export exp1 --against baseline -o build/report --tol 5%",
        "perf-storage -L http://127.0.0.1:10017 export exp1 -o report --json",
    ),
    description=(
        "Write SESSION as a static, self-contained HTML report in DIR: an index of targets with key counts and "
        "sizes, a page per target and per key (rendered as %storage show renders it; stored HTML in a sandboxed "
        "iframe), light and dark. With --against BASELINE: the comparison of each JSON key, the per-target "
        "matrix and a diff page for every key that differs. DIR must be new, empty, or an earlier report."
    ),
)
