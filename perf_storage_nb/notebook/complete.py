"""Tab completion for ``%storage`` / ``%%storage``: typed completions from our domain, and nothing else, there.

Registered as an IPython matcher (API v2, ``IPCompleter.custom_matchers``): each completion carries its type
(subcommand, option, key, session, target, snapshot, backend, url, variable), which JupyterLab and the terminal
show next to it, and a completion of ours suppresses every other matcher (Python names, keywords, magics, file
paths). Where a word is a Python expression (``save KEY EXPR``) the line is left to IPython's own matchers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.completer import CompletionContext, SimpleCompletion, SimpleMatcherResult, context_matcher

from ..base import BaseStorage
from ..errors import StorageError
from ..factory import available_backends
from .commands.base import Command
from .commands.parsing import Arg, Complete

if TYPE_CHECKING:
    from .magics import StorageMagics

__all__ = ["Completions", "complete_line", "install_completer", "remove_completer", "wanted"]

IDENTIFIER = "perf_storage_nb.storage_matcher"
_MAX = 500  # more candidates than this are not useful in a popup and cost a listing
_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\s*=\s*)?(%%?)storage(?=\s|$)")
_URLS = ("memory://", "file://", "http://", "https://")


@dataclass(frozen=True)
class Completions:
    """What Tab offers for the word before the cursor: ``(text, type)`` items replacing ``fragment``."""

    fragment: str
    items: list[tuple[str, str]]


def wanted(command: Command, before: Sequence[str]) -> tuple[Complete, ...]:
    """What the next word of ``command`` completes, given the words typed after the subcommand so far."""
    options = {name: arg for arg in command.args if arg.is_option for name in arg.names}
    positionals: list[Arg] = [arg for arg in command.args if not arg.is_option and not arg.hidden]
    slot, pending = 0, None  # the positional the next word fills; the option whose value it is
    for word in before:
        if pending is not None:
            pending = None  # this word was that option's value
        elif word in options:
            pending = None if options[word].flag else options[word]
        elif positionals and not positionals[slot].repeats and slot < len(positionals) - 1:
            slot += 1
    if pending is not None:
        return pending.complete
    return positionals[slot].complete if positionals else ()


def complete_line(magics: StorageMagics, line: str) -> Completions | None:
    """Completions of the last word of ``line`` (the text before the cursor); None when the line is not ours."""
    found = _LINE.match(line)
    if found is None:
        return None
    cell = found.group(1) == "%%"
    words = line[found.end() :].split()
    current = "" if not words or line[-1].isspace() else words[-1]
    typed = words if not current else words[:-1]
    if not typed:  # the subcommand
        names = sorted(n for n, c in magics.commands.items() if (c.cell if cell else c.line) is not None)
        return Completions(current, [(n, "subcommand") for n in names if n.startswith(current)])
    command = magics.commands.get(typed[0])
    if command is None:
        return Completions(current, [])
    args = command.args if not cell or command.cell_args is None else command.cell_args
    if current.startswith("-"):
        options = [n for a in args if a.is_option and not a.hidden for n in a.names if n.startswith(current)]
        return Completions(current, [(n, "option") for n in options])
    kinds = wanted(Command(command.name, "", args=args), typed[1:])
    if Complete.PYTHON in kinds:
        return None  # a Python expression: IPython's matchers know it best
    items: list[tuple[str, str]] = []
    try:
        for kind in kinds:
            items += _candidates(magics, kind, current)
    except (StorageError, ValueError):
        items = []  # a half-typed name or a backend that is down is not worth an error popup
    return Completions(current, items[:_MAX])


def _candidates(magics: StorageMagics, kind: Complete, current: str) -> list[tuple[str, str]]:
    storage = magics.current_storage
    if kind is Complete.SNAPSHOT:
        return [(f"@{n}", "snapshot") for n in sorted(magics.snapshots) if f"@{n}".startswith(current)]
    if current.startswith("@"):
        return []  # only snapshots start with '@'
    if kind is Complete.SESSION:
        return _typed(storage.sessions(), current, "session")
    if kind is Complete.TARGET:
        return _typed(storage.targets(), current, "target")
    if kind in (Complete.SCOPE, Complete.SESSION_TARGET):
        return _scopes(storage, current, whole=kind is Complete.SESSION_TARGET)
    if kind is Complete.BACKEND:
        return [] if "/" in current else _backends(magics, current)
    if kind in (Complete.KEY, Complete.PREFIX):
        return _keys(storage, current)
    return []


def _typed(names: Sequence[str], current: str, type_: str, fmt: Callable[[str], str] = str) -> list[tuple[str, str]]:
    return [(fmt(n), type_) for n in sorted(names) if fmt(n).startswith(current)][:_MAX]


def _scopes(storage: BaseStorage, current: str, *, whole: bool = False) -> list[tuple[str, str]]:
    """SESSION or SESSION/TARGET; ``whole``: only SESSION/TARGET (sessions come as ``SESSION/``, to go on)."""
    if "/" not in current:
        return _typed(storage.sessions(), current, "session", (lambda s: f"{s}/") if whole else str)
    session = current.split("/", 1)[0]
    return _typed(storage.targets(session), current, "target", lambda t: f"{session}/{t}")


def _keys(storage: BaseStorage, current: str) -> list[tuple[str, str]]:
    scope, sep, partial = current.rpartition(":")
    if sep:  # SESSION/TARGET:KEY
        session, _, target = scope.partition("/")
        other = storage.for_session(session, target)
        return _typed(other.list_keys(_folder(partial)), current, "key", lambda k: f"{scope}:{k}")
    found = _typed(storage.list_keys(_folder(current)), current, "key")
    if not found and "/" in current:  # SESSION/TARGET: of another target, then its keys
        session = current.split("/", 1)[0]
        if session in storage.sessions():
            return _typed(storage.targets(session), current, "target", lambda t: f"{session}/{t}:")
    return found


def _folder(partial: str) -> str:
    """The folder part of a half-typed key: a valid list_keys prefix (the last segment may be half a name)."""
    return partial[: partial.rfind("/") + 1]


def _backends(magics: StorageMagics, current: str) -> list[tuple[str, str]]:
    names = _typed(available_backends(), current, "backend") + [(u, "url") for u in _URLS if u.startswith(current)]
    namespace: Mapping[str, Any] = magics.shell.user_ns if magics.shell is not None else {}
    storages = [n for n, v in namespace.items() if isinstance(v, BaseStorage) and not n.startswith("_")]
    return names + _typed(storages, current, "variable")


def _matcher(magics: StorageMagics) -> Callable[[CompletionContext], SimpleMatcherResult]:
    def storage_matcher(context: CompletionContext) -> SimpleMatcherResult:
        found = complete_line(magics, context.text_until_cursor)
        if found is None:
            return {"completions": [], "suppress": False}
        items = found.items or [(found.fragment, "none")]
        # IPython suppresses the other matchers only for a matcher that has completions; when nothing of ours
        # matches, the word itself (a no-op completion, type "none") keeps Python names out of our positions.
        completions = [SimpleCompletion(text, type=type_) for text, type_ in items]
        return {"completions": completions, "suppress": True, "matched_fragment": found.fragment, "ordered": True}

    # The decorator only marks the function (API v2, identifier, priority above IPython's own matchers).
    context_matcher(identifier=IDENTIFIER, priority=100)(storage_matcher)
    storage_matcher.perf_storage_nb = True  # type: ignore[attr-defined]  # lets remove_completer find only ours
    return storage_matcher


def install_completer(ip: Any, magics: StorageMagics) -> None:
    """Register our matcher (once) with the shell's completer."""
    remove_completer(ip)
    ip.Completer.custom_matchers.append(_matcher(magics))


def remove_completer(ip: Any) -> None:
    """Remove our matcher (and nothing else) from the shell's completer."""
    completer = getattr(ip, "Completer", None)
    if completer is not None:
        ours = [m for m in completer.custom_matchers if getattr(m, "perf_storage_nb", False)]
        completer.custom_matchers[:] = [m for m in completer.custom_matchers if m not in ours]
