"""Subcommands that pick and look around the storage: use, ls, sessions, targets, browse."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ...addressing import Scope
from ...base import BaseStorage
from ...factory import available_backends
from ..render import KeyListing, tree_from_storage
from .base import Command, Context
from .parsing import Arg, Complete, shell_words

ORDER = 10  # first in %storage help

LONG_LISTING_MAX = 500  # `ls -l` asks info() per key: one request each on the cache service, so it stops here


# ---- use ---------------------------------------------------------------------------------------------------------
def config_dict_or_words(text: str) -> list[str]:
    """A line starting with ``{`` is one Python dict expression; anything else is split like a shell does."""
    return ["--", text.strip()] if text.lstrip().startswith("{") else shell_words(text)


def _switch(ctx: Context, storage: BaseStorage, *, created: bool, keep_root: bool = False) -> None:
    ctx.host.switch_storage(storage, created=created, keep_root=keep_root)
    ctx.say(1, f"Using {ctx.where(storage)}")


def _use(ctx: Context, args: Namespace) -> None:
    current = ctx.storage
    # argparse gives every word to `things` (greedy); `scope` is declared for the usage line.
    things = [*args.things, *([args.scope] if args.scope else [])]
    if things and things[0].startswith("{"):
        config = ctx.evaluate(things[0])
        if not isinstance(config, dict):
            raise ctx.fail(f"{{...}} must be a config dict, not {type(config).__name__}")
        _switch(ctx, ctx.host.build_storage(config, {}, current.session_id, current.target_id), created=True)
        return
    if not things and args.session is None and args.target is None:
        print(f"{ctx.where(current)}  ({type(current).__name__})")
        return
    fields: dict[str, Any] = {}
    where: str | None = None
    switch: str | None = None
    for thing in things:
        if "=" in thing:
            name, _, value = thing.partition("=")
            fields[name.strip()] = value
        elif thing.isidentifier() and any(isinstance(ns.get(thing), BaseStorage) for ns in ctx.namespaces):
            adopted = next(ns[thing] for ns in ctx.namespaces if isinstance(ns.get(thing), BaseStorage))
            if args.session or args.target:
                adopted = adopted.for_session(args.session or adopted.session_id, args.target or adopted.target_id)
            _switch(ctx, adopted, created=False)
            return
        elif "://" in thing or thing.startswith(("/", ".", "~")) or thing in available_backends():
            if where is not None:
                raise ctx.fail(f"two backends given ({where!r} and {thing!r})")
            where = thing
        elif switch is None:
            switch = thing
        else:
            raise ctx.fail(f"unexpected {thing!r}")
    session, target = current.session_id, current.target_id
    if switch is not None:
        scope = ctx.scope(switch)
        if scope.session is None:
            raise ctx.fail("use needs one session, not *")
        session, target = scope.session, scope.target or target
    session = fields.pop("session_id", None) or args.session or session
    target = fields.pop("target_id", None) or args.target or target
    if where is None and not fields:
        # A sibling shares the root's connection: the root stays ours and is closed when it is replaced.
        _switch(ctx, current.for_session(session, target), created=False, keep_root=True)
    else:
        if where is None:
            where = fields.pop("backend", None) or ctx.settings.default_backend
        _switch(ctx, ctx.host.build_storage(where, fields, session, target), created=True)


USE = Command(
    "use",
    "Switch backend (URL, backend name, config fields or a storage variable) and/or session/target; bare: show "
    "the current one.",
    args=(
        Arg("things", metavar="URL | BACKEND | VAR | {config-dict} | field=value", nargs="*", complete=Complete.SCOPE),
        Arg("scope", metavar="SESSION[/TARGET]", nargs="?", complete=Complete.SCOPE),
        Arg("-s", "--session", metavar="SESSION", complete=Complete.SESSION),
        Arg("-t", "--target", metavar="TARGET", complete=Complete.TARGET),
    ),
    line=_use,
    split=config_dict_or_words,
)


# ---- ls / sessions / targets -------------------------------------------------------------------------------------
def _ls(ctx: Context, args: Namespace) -> KeyListing:
    storage, prefix = ctx.key(args.where, prefix=True) if args.where else (ctx.storage, "")
    keys = storage.list_keys(prefix)
    if not args.long:
        return KeyListing(ctx.where(storage), keys, prefix)
    # Kind, size and hash cost one info() per key (an HTTP request on the cache service): only with -l, capped.
    rows = [info for info in map(storage.info, keys[:LONG_LISTING_MAX]) if info is not None]
    return KeyListing(ctx.where(storage), rows, prefix, long=True, more=max(0, len(keys) - LONG_LISTING_MAX))


LS = Command(
    "ls",
    "List keys of the current (or given) target; -l adds kind, size and hash (one request per key, first 500 keys).",
    args=(
        Arg("-l", "--long", flag=True),
        Arg("where", metavar="[SESSION/TARGET:]PREFIX", nargs="?", default="", complete=Complete.PREFIX),
    ),
    line=_ls,
)


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
