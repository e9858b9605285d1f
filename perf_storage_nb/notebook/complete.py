"""Tab completion for ``%storage`` / ``%%storage``: subcommands, keys, sessions, targets and snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from .grammar import COMMANDS, KEY_COMMANDS

if TYPE_CHECKING:
    from .magics import StorageMagics

__all__ = ["candidates", "install_completer", "remove_completer"]

_COMMANDS_KEYS = ("%storage", "%%storage")
_MAX = 500  # more candidates than this are not useful in a popup and cost a listing


def candidates(magics: StorageMagics, line: str) -> list[str]:
    """Completions of the last (partial) word of ``line`` (the text before the cursor)."""
    words = line.split()
    typing_new = line.endswith((" ", "\t")) or len(words) <= 1
    current = "" if typing_new else words[-1]
    position = len(words) if typing_new else len(words) - 1  # index of the word being typed; 0 is %storage
    if position <= 1:
        return sorted(c for c in COMMANDS if c.startswith(current))
    command = words[1]
    previous = words[position - 1]
    try:
        storage = magics.current_storage
        wants_scope = command in ("targets",) or (command in ("use", "browse", "snapshot") and position >= 2)
        if wants_scope or (command == "diff" and previous == "--against"):
            if command == "snapshot" and position == 2:
                return []
            found = [s for s in storage.sessions() if s.startswith(current)]
            if "/" in current:
                session = current.split("/", 1)[0]
                found = [f"{session}/{t}" for t in storage.targets(session) if f"{session}/{t}".startswith(current)]
            return sorted(found)[:_MAX]
        if command in KEY_COMMANDS:
            found: list[str] = []
            if command == "diff":
                found += [f"@{n}" for n in sorted(magics.snapshots) if f"@{n}".startswith(current)]
            scope, sep, partial = current.rpartition(":")
            if sep:
                parts = scope.split("/")
                if len(parts) != 2:
                    return found
                other = storage.for_session(parts[0], parts[1])
                # IPython splits the word at ':', so the matches are bare keys of the other target.
                return found + [k for k in other.list_keys() if k.startswith(partial)][:_MAX]
            return found + [k for k in storage.list_keys() if k.startswith(current)][:_MAX]
    except (StorageError, ValueError):
        return []  # a half-typed name is not worth an error popup
    return []


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
