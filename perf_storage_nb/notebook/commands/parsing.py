"""Arguments of a subcommand: their declaration, the argparse parser built from them, and the usage read back.

The usage line is generated from the parser's actions in the order they were declared (argparse would put
every option first), so ``load KEY [-o VAR]`` reads as written and can never drift from what is parsed.
"""

from __future__ import annotations

import argparse
import difflib
import shlex
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, NoReturn

from ...errors import StorageError

__all__ = [
    "Arg",
    "CommandError",
    "CommandParser",
    "Complete",
    "build_parser",
    "did_you_mean",
    "one_line",
    "shell_words",
    "usage_of",
]


class Complete(StrEnum):
    """What Tab offers for an argument."""

    KEY = "key"  # keys of the current target, or of SESSION/TARGET: when typed
    PREFIX = "prefix"  # a key prefix (offered like keys)
    SESSION = "session"  # session ids
    TARGET = "target"  # target ids of the current session
    SCOPE = "scope"  # SESSION or SESSION/TARGET
    SESSION_TARGET = "session_target"  # SESSION/TARGET only (`use`): sessions are offered as SESSION/
    SNAPSHOT = "snapshot"  # @NAME of the snapshots taken so far
    BACKEND = "backend"  # backend names, URL schemes and storage variables (`use`)
    PYTHON = "python"  # a Python expression: left to IPython's own completion


class CommandError(StorageError, ValueError):
    """A mistake in a ``%storage`` line; shown in one line, followed by the subcommand's usage unless usage=False."""

    def __init__(self, problem: str, *, usage: bool = True) -> None:
        super().__init__(problem)
        self.with_usage = usage


def one_line(text: str) -> str:
    """Collapse whitespace so a message stays one line."""
    return " ".join(str(text).split())


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean save?"`` when ``word`` is close to one of ``choices`` (a typo), else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


class Arg:
    """One argument: a positional (``Arg("key", metavar="KEY")``) or an option (``Arg("-o", "--out", ...)``)."""

    def __init__(
        self,
        *names: str,
        metavar: str | None = None,
        nargs: str | None = None,
        complete: Complete | tuple[Complete, ...] = (),
        flag: bool = False,
        repeat: bool = False,
        type: Callable[[str], Any] | None = None,  # noqa: A002 - argparse's own keyword
        default: Any = None,
        hidden: bool = False,
    ) -> None:
        self.names = names
        self.metavar = metavar
        self.nargs = nargs
        self.complete = complete if isinstance(complete, tuple) else (complete,)
        self.flag = flag  # an on/off option (-q)
        self.repeat = repeat  # an option given once per value (--exclude A --exclude B)
        self.type = type
        self.default = default
        self.hidden = hidden  # parsed (so the handler can explain a mistake) but left out of the usage

    @property
    def is_option(self) -> bool:
        """True for ``-x`` / ``--xx`` arguments."""
        return self.names[0].startswith("-")

    @property
    def repeats(self) -> bool:
        """True for a positional that takes every remaining word (``*`` or ``+``)."""
        return self.nargs in ("*", "+")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Declare this argument on an argparse parser."""
        kwargs: dict[str, Any] = {"help": argparse.SUPPRESS if self.hidden else None}
        if self.flag:
            kwargs["action"] = "store_true"
        else:
            if self.repeat:
                kwargs.update(action="append", default=[])
            elif self.default is not None:
                kwargs["default"] = self.default
            for name in ("metavar", "nargs", "type"):
                if getattr(self, name) is not None:
                    kwargs[name] = getattr(self, name)
        parser.add_argument(*self.names, **kwargs)


class CommandParser(argparse.ArgumentParser):
    """argparse that raises a CommandError (shown with the usage) instead of printing and exiting."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False, allow_abbrev=False)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]  # argparse's overloads; we only ever pass a list
        """Parse like argparse; an unknown option is named with the closest known one (``did you mean``)."""
        words = list(args or [])
        # Intermixed: options may come between positionals (`use memory:// -s a b/c`); '--' needs the plain parse.
        parse = self.parse_known_args if "--" in words else self.parse_known_intermixed_args
        parsed, extras = parse(words, namespace)
        unknown = [word for word in extras if word.startswith("-") and word != "-"]
        if unknown:
            shown = [action for action in self._actions if action.help != argparse.SUPPRESS]
            known = [name for action in shown for name in action.option_strings]
            hint = did_you_mean(unknown[0].split("=", 1)[0], known) or f" (options: {', '.join(known) or 'none'})"
            raise CommandError(f"unknown option {unknown[0]!r}{hint}")
        if extras:
            raise CommandError(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        raise CommandError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise CommandError(message or "invalid arguments")


def build_parser(prog: str, args: Sequence[Arg]) -> CommandParser:
    """The argparse parser of one form of a subcommand."""
    parser = CommandParser(prog)
    for arg in args:
        arg.add_to(parser)
    return parser


def _usage_part(action: argparse.Action) -> str:
    if action.option_strings:
        flag = action.option_strings[0]
        if action.nargs == 0:
            return f"[{flag}]"
        metavar = action.metavar or action.dest.upper()
        return f"[{flag} {metavar}]" + ("..." if isinstance(action, argparse._AppendAction) else "")
    metavar = str(action.metavar or action.dest)
    return {
        "?": f"[{metavar}]",
        "*": f"[{metavar} ...]",
        "+": f"{metavar} [{metavar} ...]",
    }.get(str(action.nargs), metavar)


def usage_of(parser: argparse.ArgumentParser) -> str:
    """``PROG ARG ...`` in declaration order, hidden arguments left out."""
    # _actions is argparse's (stable, typeshed-declared) list of declared arguments in order.
    parts = [_usage_part(a) for a in parser._actions if a.help != argparse.SUPPRESS]
    return " ".join([parser.prog, *parts])


def shell_words(text: str) -> list[str]:
    """Split arguments like a shell does (quotes group words)."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise CommandError(f"cannot split the arguments ({exc})") from None
