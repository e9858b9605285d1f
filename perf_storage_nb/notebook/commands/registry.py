"""The subcommands: every :class:`~.base.Command` defined at module level in this package, found by import.

Adding a subcommand is one record in one module of this package: nothing here, in the magics or in the
completer lists it. ``%storage help`` shows the modules by their ``ORDER`` (lower first; 50 when a module sets
none), and each module's records in the order they are defined.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping

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

DEFAULT_ORDER = 50


def load_commands(package: str = __package__) -> dict[str, Command]:
    """Import every public module of ``package`` and collect its Command records, by name."""
    found: list[tuple[int, str, list[Command]]] = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        records = [value for value in vars(module).values() if isinstance(value, Command)]
        if records:
            found.append((int(getattr(module, "ORDER", DEFAULT_ORDER)), info.name, records))
    commands: dict[str, Command] = {}
    for _order, module_name, records in sorted(found, key=lambda item: item[:2]):
        for record in records:
            known = commands.setdefault(record.name, record)
            if known is not record:  # the same record imported into a second module is fine; two records are not
                raise RuntimeError(f"two %storage subcommands are named {record.name!r} (one in {module_name})")
    return commands


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
