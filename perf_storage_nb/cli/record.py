"""One subcommand of ``perf-storage``: its record (:class:`Command`) and the parser built from it.

A command module defines records at module level; :mod:`.registry` finds them. The parser of a command gets
the common options (location, ``--json``, API key, namespace), the command's own arguments and, as its
epilog, the examples. Parse mistakes raise :class:`~.outcome.CliError` (one line with the usage), never exit.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from .outcome import USAGE, CliError, one_line

if TYPE_CHECKING:
    from .context import Context

__all__ = ["COMMON_VALUE_OPTIONS", "Command", "Parser", "add_common", "command_parser", "no_arguments"]

PROG = "perf-storage"
#: common options that take a value (the subcommand is found after them: ``perf-storage -L URL ls``)
COMMON_VALUE_OPTIONS = frozenset({"-L", "--location", "--api-key-file", "--api-key", "--namespace"})


class Parser(argparse.ArgumentParser):
    """argparse that raises a one-line CliError (with the usage) instead of printing and exiting with 2."""

    def error(self, message: str) -> NoReturn:
        raise CliError(message, USAGE, usage=one_line(self.format_usage().removeprefix("usage: ")))


@dataclass(frozen=True)
class Command:
    """A subcommand: arguments (``build``), what it does (``run`` -> exit code), help and examples."""

    name: str
    summary: str
    build: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Context], int]
    examples: tuple[str, ...] = ()
    description: str = ""
    #: add the common options (location, --json, API key, namespace); serve has its own
    common: bool = True
    #: offer --json (machine-readable output)
    json: bool = True


def add_common(parser: argparse.ArgumentParser, *, json: bool = True) -> None:
    """The options every command on a location takes (before or after the subcommand)."""
    group = parser.add_argument_group("common options")
    group.add_argument(
        "-L",
        "--location",
        metavar="URL",
        help="./dir, file:///abs/path or http(s)://host:port[?namespace=NS] (default: env PERF_STORAGE_URL, "
        "else PERF_STORAGE_ROOT, else ./perf_results)",
    )
    if json:
        group.add_argument("--json", action="store_true", help="machine-readable output (JSON on stdout)")
    group.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the cache service API key from this file (default: env "
        "PERF_STORAGE_API_KEY, else a prompt on a terminal)",
    )
    group.add_argument("--api-key", metavar="KEY", help=argparse.SUPPRESS)  # works, but warns: visible in ps
    group.add_argument("--namespace", metavar="NS", help="cache service namespace (default: perf-results)")


def command_parser(command: Command) -> Parser:
    """The argparse parser of one command, with its examples as epilog."""
    epilog = ""
    if command.examples:
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in command.examples)
    parser = Parser(
        prog=f"{PROG} {command.name}",
        description=command.description or command.summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    command.build(parser)
    if command.common:
        add_common(parser, json=command.json)
    return parser


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """``build`` of a command without arguments of its own."""
