"""``%storage help [SUBCOMMAND]`` and the ``%storage?`` text, generated from the records (they cannot drift)."""

from __future__ import annotations

import inspect
from argparse import Namespace
from collections.abc import Mapping

from ..render import RichText
from .base import Command, Context, cell_forms, unknown_subcommand
from .parsing import Arg

__all__ = ["HELP", "REFERENCE", "help_text", "magic_doc"]

ORDER = 90  # last in %storage help

REFERENCE = (
    "References: KEY or SESSION/TARGET:KEY; SCOPE = SESSION/TARGET, SESSION (all its targets) or * (everything); "
    "@NAME = a snapshot. Keys may contain {var} to insert a Python variable; nothing else in the line is expanded."
)


def _listing(commands: Mapping[str, Command]) -> list[str]:
    return [f"  {name:<12} {command.summary}" for name, command in commands.items()]


def help_text(commands: Mapping[str, Command], topic: str | None = None) -> str:
    """Help of every subcommand, or of one."""
    if topic:
        if topic not in commands:
            raise unknown_subcommand(commands, topic)
        command = commands[topic]
        return f"{command.usage}\n    {command.summary}\n\n{REFERENCE}"
    lines = [f"%storage SUBCOMMAND ... / %%storage SUBCOMMAND ... (cell forms: {', '.join(cell_forms(commands))})", ""]
    lines += _listing(commands)
    lines += ["", REFERENCE, "Details: %storage help SUBCOMMAND. Bare %storage lists keys (like ls)."]
    return "\n".join(lines)


def magic_doc(intro: str, commands: Mapping[str, Command]) -> str:
    """The ``%storage?`` docstring: the synopsis, ``intro`` (the magic's own docstring), then every subcommand."""
    body = inspect.cleandoc(intro)
    subcommands = "\n".join(_listing(commands))
    return (
        f"::\n\n  %storage [subcommand] [args ...]\n\n{body}\n\n"
        f"subcommands (cell forms: {', '.join(cell_forms(commands))}; `%storage help SUBCOMMAND` shows one):\n"
        f"{subcommands}\n"
    )


def _help(ctx: Context, args: Namespace) -> RichText:
    return RichText(help_text(ctx.commands, args.topic), name="StorageHelp")


HELP = Command(
    "help",
    "This help, or the help of one subcommand.",
    args=(Arg("topic", metavar="SUBCOMMAND", nargs="?"),),
    line=_help,
)
