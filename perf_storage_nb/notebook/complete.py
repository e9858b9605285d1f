"""Tab completion for ``%storage`` / ``%%storage``: subcommands, then what each record says its arguments take."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from .commands.base import Command
from .commands.parsing import Arg, Complete

if TYPE_CHECKING:
    from .magics import StorageMagics

__all__ = ["candidates", "install_completer", "remove_completer", "wanted"]

_COMMANDS_KEYS = ("%storage", "%%storage")
_MAX = 500  # more candidates than this are not useful in a popup and cost a listing


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


def candidates(magics: StorageMagics, line: str) -> list[str]:
    """Completions of the last (partial) word of ``line`` (the text before the cursor)."""
    words = line.split()
    typing_new = line.endswith((" ", "\t")) or len(words) <= 1
    current = "" if typing_new else words[-1]
    position = len(words) if typing_new else len(words) - 1  # index of the word being typed; 0 is %storage
    if position <= 1:
        return sorted(c for c in magics.commands if c.startswith(current))
    command = magics.commands.get(words[1])
    if command is None:
        return []
    found: list[str] = []
    try:
        for kind in wanted(command, words[2:position]):
            found += _complete(magics, kind, current)
    except (StorageError, ValueError):
        return []  # a half-typed name is not worth an error popup
    return found


def _complete(magics: StorageMagics, kind: Complete, current: str) -> list[str]:
    storage = magics.current_storage
    if kind is Complete.SNAPSHOT:
        return [f"@{n}" for n in sorted(magics.snapshots) if f"@{n}".startswith(current)]
    if kind is Complete.SESSION:
        return sorted(s for s in storage.sessions() if s.startswith(current))[:_MAX]
    if kind is Complete.TARGET:
        return sorted(t for t in storage.targets() if t.startswith(current))[:_MAX]
    if kind is Complete.SCOPE:
        if "/" in current:
            session = current.split("/", 1)[0]
            return sorted(f"{session}/{t}" for t in storage.targets(session) if f"{session}/{t}".startswith(current))
        return sorted(s for s in storage.sessions() if s.startswith(current))[:_MAX]
    # KEY and PREFIX: keys of the current target, or of SESSION/TARGET: when typed.
    scope, sep, partial = current.rpartition(":")
    if sep:
        parts = scope.split("/")
        if len(parts) != 2:
            return []
        other = storage.for_session(parts[0], parts[1])
        # IPython splits the word at ':', so the matches are bare keys of the other target.
        return [k for k in other.list_keys() if k.startswith(partial)][:_MAX]
    return [k for k in storage.list_keys() if k.startswith(current)][:_MAX]


def install_completer(ip: Any, magics: StorageMagics) -> None:
    """Register the completer for ``%storage`` and ``%%storage`` (IPython's complete_command hook)."""

    def complete(_shell: Any, event: Any) -> list[str]:
        return candidates(magics, event.line)

    complete.perf_storage_nb = True  # type: ignore[attr-defined]  # lets remove_completer find only ours
    for name in _COMMANDS_KEYS:
        ip.set_hook("complete_command", complete, str_key=name)


def remove_completer(ip: Any) -> None:
    """Remove our completer entries (and nothing else) from the complete_command dispatcher."""
    dispatcher = ip.strdispatchers.get("complete_command")
    if dispatcher is None:
        return
    for name in _COMMANDS_KEYS:
        chain = dispatcher.strs.get(name)
        if chain is None:
            continue
        chain.chain = [
            (p, f) for p, f in chain.chain if not getattr(getattr(f, "__func__", f), "perf_storage_nb", False)
        ]
        if not chain.chain:
            del dispatcher.strs[name]
