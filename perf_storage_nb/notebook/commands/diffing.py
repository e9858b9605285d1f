"""Subcommands that compare: snapshot, diff (two keys, a baseline, snapshots, scopes, or what a cell changed)."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.display import display

from ...addressing import Scope, check_snapshot_name, is_snapshot
from ...base import BaseStorage
from ...diff import DiffResult, diff_keys, diff_now, diff_scopes, diff_snapshots, scope_label, snapshot
from ...errors import StorageNameError
from .base import Command, Context
from .parsing import Arg, CommandError, Complete

ORDER = 30  # after the values in %storage help


# ---- snapshot ----------------------------------------------------------------------------------------------------
def _snapshot(ctx: Context, args: Namespace) -> None:
    try:
        name = check_snapshot_name(args.name)
    except StorageNameError as exc:
        raise ctx.fail(str(exc)) from None
    scope = ctx.scope(args.scope) if args.scope else Scope(ctx.storage.session_id)
    snap = snapshot(ctx.storages(scope))
    ctx.snapshots[name] = (scope, snap)
    if args.out:
        ctx.bind(args.out, snap)
    keys = sum(len(k) for t in snap.values() for k in t.values())
    targets = sum(len(t) for t in snap.values())
    ctx.say(1, f"Snapshot {name!r}: {keys} keys in {targets} target{'' if targets == 1 else 's'} of {scope.label()}")


SNAPSHOT = Command(
    "snapshot",
    "Remember kinds, hashes and values of a scope (default: the current session) for a later diff @NAME.",
    args=(
        Arg("name", metavar="NAME"),
        Arg("scope", metavar="SCOPE", nargs="?", complete=Complete.SCOPE),
        Arg("-o", "--out", metavar="VAR"),
    ),
    line=_snapshot,
)


# ---- diff --------------------------------------------------------------------------------------------------------
def _options(args: Namespace) -> dict[str, Any]:
    return {"rel_tol": args.tol, "abs_tol": args.abs_tol, "exclude_paths": tuple(args.exclude)}


def _key_labels(ctx: Context, sa: BaseStorage, ka: str, sb: BaseStorage, kb: str) -> tuple[str, str]:
    # ctx.where, not describe(): no absolute paths in deterministic mode.
    return f"{ctx.where(sa)}:{ka}", f"{ctx.where(sb)}:{kb}"


@contextmanager
def _not_too_deep() -> Iterator[None]:
    """A value nested deeper than deepdiff can recurse is a one-line mistake, not a RecursionError traceback."""
    # Wrapped here until perf_storage_nb.diff raises a StorageError of its own for it (#11 item 6).
    try:
        yield
    except RecursionError:
        raise CommandError(
            "diff: the values nest too deeply to compare (deeper than Python's recursion limit)", usage=False
        ) from None


def _diff(ctx: Context, args: Namespace) -> DiffResult:
    with _not_too_deep():
        return _diff_of(ctx, args)


def _diff_of(ctx: Context, args: Namespace) -> DiffResult:
    opts = _options(args)
    ops = [op for op in (args.a, args.b) if op is not None]
    if not ops:
        raise ctx.fail("needs one or two operands")
    if args.against:
        if len(ops) != 1 or is_snapshot(ops[0]):
            raise ctx.fail("--against takes exactly one KEY")
        scope = ctx.scope(args.against)
        if scope.session is None:
            raise ctx.fail("--against needs SESSION or SESSION/TARGET, not *")
        storage, key = ctx.key(ops[0])
        baseline = storage.for_session(scope.session, scope.target or storage.target_id)
        return diff_keys(baseline, key, storage, key, labels=_key_labels(ctx, baseline, key, storage, key), **opts)
    if all(is_snapshot(op) for op in ops):
        scope_a, snap_a = ctx.snapshot(ops[0])
        if len(ops) == 2:
            _, snap_b = ctx.snapshot(ops[1])
            return diff_snapshots(snap_a, snap_b, labels=(ops[0], ops[1]), **opts)
        # Hashes first: only the keys that changed since the snapshot are loaded now.
        return diff_now(snap_a, ctx.storages(scope_a), labels=(ops[0], f"now ({scope_a.label()})"), **opts)
    if len(ops) == 1:
        raise ctx.fail("one operand must be @SNAPSHOT, or add B or --against SESSION[/TARGET]")
    if any(is_snapshot(op) for op in ops):
        raise ctx.fail("diff @SNAPSHOT against @SNAPSHOT or against now, not against a key")
    scopes = [op for op in ops if op.endswith(":")]
    if scopes:
        if len(scopes) != 2:
            raise ctx.fail("diff two scopes (SCOPE: SCOPE:) or two keys, not one of each")
        sides = [ctx.storages(ctx.scope(op[:-1])) for op in ops]
        labels = (scope_label(sides[0], ctx.where), scope_label(sides[1], ctx.where))
        return diff_scopes(sides[0], sides[1], labels=labels, **opts)
    (sa, ka), (sb, kb) = (ctx.key(op) for op in ops)
    return diff_keys(sa, ka, sb, kb, labels=_key_labels(ctx, sa, ka, sb, kb), **opts)


def _cell_diff(ctx: Context, args: Namespace, body: str) -> DiffResult:
    if args.more or args.against:
        raise ctx.fail("the cell form takes one optional SCOPE")
    scope = ctx.scope(args.scope) if args.scope else Scope(ctx.storage.session_id)
    opts = _options(args)
    before = snapshot(ctx.storages(scope))
    result = ctx.run_cell(body)
    with _not_too_deep():
        diff = diff_now(before, ctx.storages(scope), labels=(f"before ({scope.label()})", "after"), **opts)
    if not result.success:
        display(diff)  # type: ignore[no-untyped-call]  # IPython's display() is unannotated
        # What the cell changed before it failed is exactly what the user needs now (shown above).
        error = result.error_in_exec or result.error_before_exec
        raise CommandError(
            f"diff: the cell raised {type(error).__name__}; the diff above shows what it changed before that",
            usage=False,
        )
    return diff


_TOLERANCES = (
    Arg("--tol", metavar="REL"),
    Arg("--abs-tol", metavar="ABS"),
    Arg("--exclude", metavar="PATTERN", repeat=True),
)

DIFF = Command(
    "diff",
    "Diff two keys, a key against a baseline session/target, snapshots (@NAME) or scopes; the cell form diffs "
    "what the cell changed.",
    args=(
        Arg("a", metavar="A", nargs="?", complete=(Complete.SNAPSHOT, Complete.KEY)),
        Arg("b", metavar="B", nargs="?", complete=(Complete.SNAPSHOT, Complete.KEY)),
        Arg("--against", metavar="SESSION[/TARGET]", complete=Complete.SCOPE),
        *_TOLERANCES,
    ),
    line=_diff,
    cell=_cell_diff,
    cell_args=(
        Arg("scope", metavar="SCOPE", nargs="?", complete=Complete.SCOPE),
        # Accepted only to say what the cell form takes (instead of argparse's "unrecognized arguments").
        Arg("more", nargs="*", hidden=True),
        Arg("--against", hidden=True),
        *_TOLERANCES,
    ),
)
