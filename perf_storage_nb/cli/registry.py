"""The subcommands: every :class:`~.record.Command` defined at module level in :mod:`.commands`, found by import.

Adding a subcommand is one record in one module of that package; nothing here lists it. ``perf-storage --help``
shows the modules by their ``ORDER`` (lower first; 50 when a module sets none), and each module's records in
the order they are defined. Command modules import only argparse-level things at module level: the library
work happens inside their handlers, so start-up stays light.
"""

from __future__ import annotations

import importlib
import pkgutil

from .outcome import USAGE, CliError
from .record import COMMON_VALUE_OPTIONS, Command

__all__ = ["find", "load_commands", "split_command"]

DEFAULT_ORDER = 50
COMMANDS_PACKAGE = __package__ + ".commands"


def load_commands(package: str = COMMANDS_PACKAGE) -> dict[str, Command]:
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
            if known is not record:
                raise RuntimeError(f"two perf-storage subcommands are named {record.name!r} (one in {module_name})")
    return commands


def find(commands: dict[str, Command], name: str) -> Command:
    """The record of ``name``; a one-line CliError with a suggestion when there is none."""
    if name in commands:
        return commands[name]
    import difflib  # only for a mistyped name

    close = difflib.get_close_matches(name, list(commands), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise CliError(f"unknown subcommand {name!r}{hint}; subcommands: {', '.join(commands)}", USAGE)


def split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """The subcommand name (None when there is none) and the other arguments, common options included."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return (argv[i + 1], argv[:i] + argv[i + 2 :]) if i + 1 < len(argv) else (None, argv[:i])
        if token in COMMON_VALUE_OPTIONS:
            i += 2
            continue
        if token.startswith("-"):
            i += 1
            continue
        return token, argv[:i] + argv[i + 1 :]
    return None, list(argv)
