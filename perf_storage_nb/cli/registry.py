"""The subcommands: every :class:`~.record.Command` defined at module level in :mod:`.commands`, found by import.

Adding a subcommand is one record in one module of that package; nothing here lists it. ``perf-storage --help``
shows the modules by their ``ORDER`` (lower first; 50 when a module sets none), and each module's records in
the order they are defined. Command modules import only argparse-level things at module level: the library
work happens inside their handlers, so start-up stays light.
"""

from __future__ import annotations

from ..discovery import collect_records
from .outcome import USAGE, CliError
from .record import COMMON_VALUE_OPTIONS, Command

__all__ = ["find", "load_commands", "split_command"]
COMMANDS_PACKAGE = __package__ + ".commands"


def load_commands(package: str = COMMANDS_PACKAGE) -> dict[str, Command]:
    """Import every public module of ``package`` and collect its Command records, by name."""
    return collect_records(package, Command, "perf-storage subcommands")


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
