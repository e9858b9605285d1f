"""Subcommands that look around the storage: sessions, targets, browse (``use`` and ``ls`` have their own modules)."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ...addressing import Scope
from ..render import tree_from_storage
from .base import Command, Context
from .parsing import Arg, Complete

ORDER = 10  # after use and ls in %storage help


# ---- sessions / targets ------------------------------------------------------------------------------------------
def _sessions(ctx: Context, args: Namespace) -> list[str]:
    return ctx.storage.sessions()


SESSIONS = Command("sessions", "Sessions that hold data on the current backend (a list).", line=_sessions)


def _targets(ctx: Context, args: Namespace) -> list[str]:
    return ctx.storage.targets(args.session)


TARGETS = Command(
    "targets",
    "Targets of the current (or given) session (a list).",
    args=(Arg("session", metavar="SESSION", nargs="?", complete=Complete.SESSION),),
    line=_targets,
)


# ---- browse ------------------------------------------------------------------------------------------------------
def _browse(ctx: Context, args: Namespace) -> Any:
    scope = ctx.scope(args.scope) if args.scope else Scope(None)
    storage = ctx.storage
    if getattr(ctx.host.shell, "kernel", None) is not None:
        try:
            from ..browser import StorageBrowser  # ipywidgets: optional, and only worth importing in a kernel
        except ImportError:
            pass
        else:
            start = storage if scope.session is None else storage.for_session(scope.session, scope.target)
            widget = StorageBrowser(start)  # opens at start's session/target; closes the previous browser
            ctx.host.browser_opened(widget)
            return widget
    sessions = None if scope.session is None else [scope.session]
    return tree_from_storage(
        storage, sessions=sessions, target=scope.target, location=ctx.where(storage).rsplit("/", 2)[0]
    )


BROWSE = Command(
    "browse",
    "Browse sessions, targets and keys, starting at SESSION[/TARGET] (ipywidgets in a kernel, a text tree elsewhere).",
    args=(Arg("scope", metavar="SESSION[/TARGET] | *", nargs="?", complete=Complete.SCOPE),),
    line=_browse,
)
