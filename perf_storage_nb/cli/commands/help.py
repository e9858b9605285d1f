"""``perf-storage help [COMMAND]``: the same text as ``--help``."""

from __future__ import annotations

import argparse
import sys

from ..context import Context
from ..outcome import OK
from ..record import Command, command_parser

ORDER = 95  # last in --help


def _build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", metavar="COMMAND", help="a subcommand (default: the overview)")


def _help(ctx: Context) -> int:
    from ..main import top_help
    from ..registry import find, load_commands

    commands = load_commands()
    if ctx.args.topic is None:
        sys.stdout.write(top_help(commands))
    else:
        sys.stdout.write(command_parser(find(commands, ctx.args.topic)).format_help())
    return OK


HELP = Command(
    "help",
    "This overview, or the help of one subcommand (the same as COMMAND --help).",
    _build,
    _help,
    examples=("perf-storage help", "perf-storage help sync"),
    common=False,
    json=False,
)
