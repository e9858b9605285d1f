"""``main``: find the subcommand, parse its arguments, run it, and turn every failure into one line and an exit code.

Only the invoked subcommand's parser is built (start-up is part of every ``perf-storage`` call); the full
parser with every subcommand (:func:`full_parser`) exists for tools and tests that want one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import suppress

from .outcome import EXIT_CODES_HELP, OK, USAGE, CliError, report
from .record import PROG, Command, add_common, command_parser
from .registry import find, load_commands, split_command

__all__ = ["full_parser", "main", "top_help"]

_LOCATIONS = (
    "locations: ./dir or file:///abs/path (local), http(s)://host:port[?namespace=NS] (cache service); default: "
    "env PERF_STORAGE_URL, else PERF_STORAGE_ROOT, else ./perf_results"
)
_ADDRESSES = (
    "addresses: SESSION[/TARGET][:KEY-OR-PREFIX], as in the %storage magics; in another location: "
    "LOCATION#ADDRESS (cp, diff)"
)
_SECRETS = (
    "API key (cache service): env PERF_STORAGE_API_KEY, --api-key-file PATH, or a prompt when stdin is a "
    "terminal; never printed"
)


def top_help(commands: dict[str, Command]) -> str:
    """``perf-storage --help``: the subcommands, common options, locations, addresses, secrets, exit codes."""
    width = max(len(name) for name in commands)
    lines = [
        f"usage: {PROG} [-L URL] [--json] [--api-key-file PATH] [--namespace NS] COMMAND [ARGS...]",
        "",
        "Session -> target -> key storage (perf_storage_nb) from a terminal and CI.",
        "",
        "commands:",
        *(f"  {name:<{width}}  {c.summary}" for name, c in commands.items()),
        "",
        "common options (before or after the command): -L/--location URL, --json, --api-key-file PATH, --namespace NS",
        _LOCATIONS,
        _ADDRESSES,
        _SECRETS,
        EXIT_CODES_HELP,
        "",
        f"Run '{PROG} COMMAND --help' for a command's options and examples.",
    ]
    return "\n".join(lines) + "\n"


def full_parser(commands: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    """One argparse parser with every subcommand (``parse_args(["serve", ...])``); main() does not need it."""
    commands = load_commands() if commands is None else commands
    parser = argparse.ArgumentParser(prog=PROG, description="perf_storage_nb command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in commands.values():
        child = sub.add_parser(command.name, help=command.summary, description=command.description or None)
        command.build(child)
        if command.common:
            add_common(child, json=command.json)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perf-storage`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = load_commands()
    name, rest = split_command(argv)
    if name is None:
        if any(a in ("-h", "--help") for a in argv):
            sys.stdout.write(top_help(commands))
            return OK
        if "--version" in argv:
            from .. import __version__

            print(f"{PROG} (perf_storage_nb) {__version__}")
            return OK
        problem = f"missing the subcommand; subcommands: {', '.join(commands)} ({PROG} --help)"
        return report(PROG, CliError(problem, USAGE))
    try:
        command = find(commands, name)
    except CliError as exc:
        return report(PROG, exc)
    return _run(command, rest)


def _run(command: Command, argv: list[str]) -> int:
    from .context import Context

    prog = f"{PROG} {command.name}"
    ctx: Context | None = None
    try:
        args = command_parser(command).parse_args(argv)
        ctx = Context(command.name, args)
        return command.run(ctx)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else OK
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``perf-storage ls | head``): nothing more to say, and stdout cannot be flushed.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except Exception as exc:
        if os.environ.get("PERF_STORAGE_DEBUG"):
            raise
        return report(prog, exc, [*(ctx.secrets if ctx is not None else ()), *_argv_secrets(argv)])
    finally:
        if ctx is not None:
            with suppress(Exception):  # closing connections must not turn a result into a failure
                ctx.close()


def _argv_secrets(argv: list[str]) -> list[str]:
    """Secrets given on the command line (``--api-key KEY`` / ``--api-key=KEY``) and in env, to redact."""
    found = [os.environ.get("PERF_STORAGE_API_KEY", "")]
    for i, arg in enumerate(argv):
        if arg == "--api-key" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--api-key="):
            found.append(arg.partition("=")[2])
    return found
