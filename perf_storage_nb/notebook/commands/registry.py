"""The subcommands: every :class:`~.base.Command` defined at module level in this package, found by import.

Adding a subcommand is one record in one module of this package: nothing here, in the magics or in the
completer lists it. ``%storage help`` shows the modules by their ``ORDER`` (lower first; 50 when a module sets
none), and each module's records in the order they are defined.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...discovery import collect_records
from ...errors import StorageError
from .base import Command, unknown_subcommand
from .parsing import CommandError, Complete, one_line

__all__ = [
    "CELL_COMMANDS",
    "CELL_ONLY",
    "COMMANDS",
    "KEY_COMMANDS",
    "explain",
    "find",
    "unknown_subcommand",
    "load_commands",
]


def load_commands(package: str = __package__) -> dict[str, Command]:
    """Import every public module of ``package`` and collect its Command records, by name."""
    return collect_records(package, Command, "%storage subcommands")


def find(commands: Mapping[str, Command], name: str) -> Command:
    """The record of ``name``, or a CommandError naming the closest subcommand (or listing them all)."""
    if name not in commands:
        raise unknown_subcommand(commands, name)
    return commands[name]


def explain(commands: Mapping[str, Command], name: str, exc: StorageError) -> str:
    """The one-line text a UsageError shows for ``exc`` raised by subcommand ``name``."""
    if isinstance(exc, CommandError):
        text = f"{exc}; usage: {commands[name].usage}" if exc.with_usage and name in commands else str(exc)
    else:
        text = f"{name}: {exc}"  # a library error (missing key, wrong kind, server down): name the subcommand
    return one_line(text)


# The tables the old grammar module exported, derived from the records (for code written against them).
_BUILTIN = load_commands()
#: subcommand -> (usage, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {name: (c.usage, c.summary) for name, c in _BUILTIN.items()}
#: subcommands that have a %%storage cell form
CELL_COMMANDS = tuple(name for name, c in _BUILTIN.items() if c.cell is not None)
#: subcommands that exist only as a cell magic
CELL_ONLY = tuple(name for name, c in _BUILTIN.items() if c.line is None)
#: subcommands that complete keys
KEY_COMMANDS = tuple(
    name for name, c in _BUILTIN.items() if any({Complete.KEY, Complete.PREFIX} & set(a.complete) for a in c.args)
)
