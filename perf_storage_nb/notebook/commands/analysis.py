"""Subcommands over :mod:`perf_storage_nb.analysis`: collect, compare, plot, matrix, and the ``%%storage gate`` cell.

pandas, scipy and matplotlib load when one of these runs, not when the extension loads.
"""

from __future__ import annotations

from argparse import Namespace
from dataclasses import dataclass
from typing import Any

from IPython.display import display

from ...analysis import Comparison, Matrix, collect, compare, matrix
from .base import Command, Context
from .parsing import Arg, CommandError, Complete

ORDER = 35  # after diffing, before capture in %storage help

OUT = Arg("-o", "--out", metavar="VAR")
FIELDS = Arg("--field", metavar="F", repeat=True)
SESSIONS = Arg("--sessions", metavar="A,B", complete=Complete.SESSION)
KEY = Arg("key", metavar="KEY", complete=Complete.KEY)
TOLERANCES = (
    Arg("--tol", metavar="REL"),
    Arg("--abs-tol", metavar="ABS"),
    Arg("--alpha", metavar="A"),
    Arg("--higher", metavar="F", repeat=True),
)


def _names(text: str | None) -> list[str] | None:
    """``A,B`` -> ``["A", "B"]`` (None when not given)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CommandError(f"expected comma-separated names, e.g. run_a,run_b, not {text!r}")
    return names


def _options(args: Namespace) -> dict[str, Any]:
    """compare()'s keyword options from the parsed tolerance arguments."""
    options: dict[str, Any] = {"fields": args.field or None, "higher_is_better": tuple(args.higher)}
    if args.tol is not None:
        options["tol"] = args.tol
    if args.abs_tol is not None:
        options["abs_tol"] = args.abs_tol
    if args.alpha is not None:
        options["alpha"] = args.alpha
    return options


def _bound(ctx: Context, args: Namespace, value: Any) -> Any:
    """``-o VAR``: bind the result and show nothing; otherwise return it (shown as the cell's result)."""
    if getattr(args, "out", None):
        ctx.bind(args.out, value)
        ctx.say(2, f"Stored the result in {args.out}")
        return None
    return value


# ---- collect -----------------------------------------------------------------------------------------------------
def _collect(ctx: Context, args: Namespace) -> Any:
    storage, key = ctx.key(args.key)
    frame = collect(storage, key, fields=args.field or None, sessions=_names(args.sessions), versions=args.versions)
    return _bound(ctx, args, frame)


COLLECT = Command(
    "collect",
    "Values of KEY across sessions and targets as a tidy pandas DataFrame (every numeric field, or --field).",
    args=(KEY, FIELDS, SESSIONS, Arg("--versions", flag=True), OUT),
    line=_collect,
)


# ---- compare -----------------------------------------------------------------------------------------------------
def _compare(ctx: Context, args: Namespace) -> Any:
    candidate = args.candidate if args.candidate is not None else ctx.storage.session_id
    storage, key = ctx.key(args.key)
    result = compare(storage, args.baseline, candidate, key, **_options(args))
    return _bound(ctx, args, result)


COMPARE = Command(
    "compare",
    "Verdicts (better/worse/same/noise/added/removed) of CANDIDATE (default: this session) against BASELINE.",
    args=(
        Arg("baseline", metavar="BASELINE", complete=Complete.SESSION),
        Arg("candidate", metavar="CANDIDATE", nargs="?", complete=Complete.SESSION),
        KEY,
        FIELDS,
        *TOLERANCES,
        OUT,
    ),
    line=_compare,
)


# ---- plot --------------------------------------------------------------------------------------------------------
def _plot(ctx: Context, args: Namespace) -> Any:
    from ...analysis import plot  # matplotlib loads here

    storage, key = ctx.key(args.key)
    figure = plot(storage, key, args.field, sessions=_names(args.sessions), kind=args.kind or "auto")
    return _bound(ctx, args, figure)


PLOT = Command(
    "plot",
    "FIELD of KEY per target across sessions as a static figure (points, or a compact strip for many targets).",
    args=(KEY, Arg("field", metavar="FIELD"), SESSIONS, Arg("--kind", metavar="auto|points|strip"), OUT),
    line=_plot,
)


# ---- matrix ------------------------------------------------------------------------------------------------------
def _matrix(ctx: Context, args: Namespace) -> Any:
    candidate = args.candidate if args.candidate is not None else ctx.storage.session_id
    stages = _names(args.stages)
    result: Matrix = matrix(ctx.storage, args.baseline, candidate, prefix=args.prefix or "", stages=stages)
    if args.browse:
        from ..browser_compare import SessionCompareView  # ipywidgets loads here

        return SessionCompareView(ctx.storage, result)
    return _bound(ctx, args, result)


MATRIX = Command(
    "matrix",
    "Per target x key status (changed/added/removed/same, by content hash) of CANDIDATE against BASELINE.",
    args=(
        Arg("baseline", metavar="BASELINE", complete=Complete.SESSION),
        Arg("candidate", metavar="CANDIDATE", nargs="?", complete=Complete.SESSION),
        Arg("--prefix", metavar="PREFIX", complete=Complete.PREFIX),
        Arg("--stages", metavar="S1,S2"),
        Arg("--browse", flag=True),
        OUT,
    ),
    line=_matrix,
)


# ---- gate (cell) -------------------------------------------------------------------------------------------------
def _gate(ctx: Context, args: Namespace, body: str) -> None:
    if not args.against:
        raise ctx.fail("needs --against BASELINE (the session to compare this one with)")
    storage, key = ctx.key(args.key)
    result = ctx.run_cell(body)
    if not result.success:
        error = result.error_in_exec or result.error_before_exec
        raise CommandError(f"gate: the cell raised {type(error).__name__}; nothing was compared", usage=False)
    comparison: Comparison = compare(storage, args.against, storage.session_id, key, **_options(args))
    display(comparison)  # type: ignore[no-untyped-call]  # IPython's display() is unannotated
    comparison.raise_for_regressions()  # a StorageError: the magic turns it into a failed cell (UsageError)
    ctx.say(1, f"gate passed: no field of {key!r} is worse in {storage.session_id} than in {args.against}")


@dataclass(frozen=True)
class _RequiredOption(Command):
    """A Command whose usage shows one option as required (the handler checks it; argparse options are optional)."""

    required: str = ""

    @property
    def usage(self) -> str:
        """The generated usage, with the required option unbracketed."""
        return super().usage.replace(f"[{self.required}]", self.required)


GATE = _RequiredOption(
    "gate",
    "Run the cell, compare this session with --against BASELINE, and fail the cell if any field is worse.",
    args=(Arg("--against", metavar="BASELINE", complete=Complete.SESSION), KEY, FIELDS, *TOLERANCES),
    cell=_gate,
    required="--against BASELINE",
)
