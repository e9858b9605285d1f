"""The ``%storage`` grammar: subcommands, their usage lines, argparse parsers that raise UsageError, and references.

References used by several subcommands:

- ``KEY`` or ``SESSION/TARGET:KEY`` (``:`` never occurs in keys, so it separates the scope);
- ``SCOPE``: ``SESSION/TARGET``, ``SESSION`` (all its targets) or ``*`` (every session);
- ``@NAME``: a snapshot taken earlier with ``%storage snapshot NAME``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from IPython.core.error import UsageError

from ..names import check_id, check_key, check_prefix

__all__ = [
    "CELL_COMMANDS",
    "COMMANDS",
    "KEY_COMMANDS",
    "REFERENCE",
    "KeyRef",
    "Scope",
    "expand_vars",
    "help_text",
    "one_line",
    "parse_key_ref",
    "parse_scope",
    "parser_for",
    "subcommands_help",
    "usage_error",
]

#: subcommand -> (usage line(s), one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "use": (
        "%storage use [URL | BACKEND | VAR | {config-dict} | field=value ...] [SESSION[/TARGET]] [-s SESSION] [-t "
        "TARGET]",
        "Switch backend (URL, backend name, config fields or a storage variable) and/or session/target; bare: show "
        "the current one.",
    ),
    "ls": (
        "%storage ls [-l] [[SESSION/TARGET:]PREFIX]",
        "List keys of the current (or given) target; -l adds kind, size and hash (one request per key, first 500 "
        "keys).",
    ),
    "sessions": ("%storage sessions", "Sessions that hold data on the current backend (a list)."),
    "targets": ("%storage targets [SESSION]", "Targets of the current (or given) session (a list)."),
    "save": (
        "%storage save [-q] KEY EXPR   |   %%storage save [-q] KEY  (cell body = JSON)",
        "Store the JSON value of a Python expression (or of the cell body, parsed as JSON).",
    ),
    "load": ("%storage load KEY [-o VAR]", "Return the JSON value under KEY (-o binds it to VAR instead)."),
    "save_string": (
        "%storage save_string [-q] KEY EXPR   |   %%storage save_string [-q] KEY  (cell body verbatim)",
        "Store text (HTML, Markdown, logs) verbatim.",
    ),
    "load_string": ("%storage load_string KEY [-o VAR]", "Return the text under KEY (-o binds it to VAR instead)."),
    "show": (
        "%storage show KEY [--max-bytes N]",
        "Render a stored value inline: HTML in a sandboxed iframe, Markdown, JSON tree, images; text twin for "
        "terminals.",
    ),
    "info": ("%storage info [KEY]", "Kind, size and hash of KEY; bare: the current backend, session and target."),
    "rm": ("%storage rm [-q] KEY [KEY ...]", "Delete keys (all must exist; otherwise nothing is deleted)."),
    "exists": ("%storage exists KEY", "True when KEY exists."),
    "versions": ("%storage versions NAME", "Timestamped version keys of NAME, newest first (a list)."),
    "snapshot": (
        "%storage snapshot NAME [SCOPE] [-o VAR]",
        "Remember kinds, hashes and values of a scope (default: the current session) for a later diff @NAME.",
    ),
    "diff": (
        "%storage diff A [B] [--against SESSION[/TARGET]] [--tol 5%] [--abs-tol X] [--exclude PATTERN ...]"
        "   |   %%storage diff [SCOPE] [--tol 5%] [--abs-tol X] [--exclude PATTERN ...]",
        "Diff two keys, a key against a baseline session/target, snapshots (@NAME) or scopes; the cell form diffs "
        "what the cell changed.",
    ),
    "capture": (
        "%%storage capture [-q] KEY",
        "Run the cell and store its output (stdout, displays, result) as an HTML page.",
    ),
    "browse": (
        "%storage browse [SESSION[/TARGET] | *]",
        "Browse sessions, targets and keys, starting at SESSION[/TARGET] (ipywidgets in a kernel, a text tree "
        "elsewhere).",
    ),
    "help": ("%storage help [SUBCOMMAND]", "This help, or the help of one subcommand."),
}
#: subcommands that have a %%storage cell form
CELL_COMMANDS = ("save", "save_string", "capture", "diff")
#: subcommands that exist only as a cell magic
CELL_ONLY = ("capture",)
#: subcommands whose positional arguments are keys (for completion)
KEY_COMMANDS = (
    "load",
    "load_string",
    "show",
    "info",
    "rm",
    "exists",
    "save",
    "save_string",
    "versions",
    "capture",
    "diff",
    "ls",
)

REFERENCE = (
    "References: KEY or SESSION/TARGET:KEY; SCOPE = SESSION/TARGET, SESSION (all its targets) or * (everything); "
    "@NAME = a snapshot. Keys may contain {var} to insert a Python variable; nothing else in the line is expanded."
)


def one_line(text: str) -> str:
    """Collapse whitespace so a UsageError stays one line."""
    return " ".join(str(text).split())


def usage_error(command: str, problem: str) -> UsageError:
    """A one-line UsageError: what was wrong, then the right form."""
    usage = COMMANDS[command][0] if command in COMMANDS else "%storage help"
    return UsageError(one_line(f"{problem}; usage: {usage}"))


def subcommands_help() -> str:
    """The subcommand list for ``%storage?`` (generated, so it cannot drift from COMMANDS)."""
    lines = ", ".join(c for c in COMMANDS if c not in CELL_ONLY)
    return f"{lines} (cell forms: {', '.join(CELL_COMMANDS)})"


def help_text(command: str | None = None) -> str:
    """Help of every subcommand, or of one."""
    if command:
        if command not in COMMANDS:
            raise UsageError(one_line(f"unknown subcommand {command!r}; subcommands: {', '.join(COMMANDS)}"))
        usage, summary = COMMANDS[command]
        return f"{usage}\n    {summary}\n\n{REFERENCE}"
    lines = [f"%storage SUBCOMMAND ... / %%storage SUBCOMMAND ... (cell forms: {', '.join(CELL_COMMANDS)})", ""]
    for name, (_usage, summary) in COMMANDS.items():
        lines.append(f"  {name:<12} {summary}")
    lines += ["", REFERENCE, "Details: %storage help SUBCOMMAND. Bare %storage lists keys (like ls)."]
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing and exiting."""

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(prog=f"%storage {command}", add_help=False, allow_abbrev=False, **kwargs)
        self.command = command

    def error(self, message: str) -> NoReturn:
        raise usage_error(self.command, message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise usage_error(self.command, message or "invalid arguments")


def parser_for(command: str) -> _Parser:
    """The argparse parser of one subcommand (options only; free-text parts are split by the magic)."""
    p = _Parser(command)
    if command == "use":
        p.add_argument("things", nargs="*")
        p.add_argument("-s", "--session")
        p.add_argument("-t", "--target")
    elif command == "ls":
        p.add_argument("where", nargs="?", default="")
        p.add_argument("-l", "--long", action="store_true")
    elif command == "browse":
        p.add_argument("scope", nargs="?")
    elif command == "targets":
        p.add_argument("session", nargs="?")
    elif command in ("load", "load_string"):
        p.add_argument("key")
        p.add_argument("-o", "--out", metavar="VAR")
    elif command == "show":
        p.add_argument("key")
        p.add_argument("--max-bytes", type=int, metavar="N")
    elif command in ("info",):
        p.add_argument("key", nargs="?")
    elif command == "rm":
        p.add_argument("keys", nargs="+")
        p.add_argument("-q", "--quiet", action="store_true")
    elif command in ("exists", "versions"):
        p.add_argument("key")
    elif command == "snapshot":
        p.add_argument("name")
        p.add_argument("scope", nargs="?")
        p.add_argument("-o", "--out", metavar="VAR")
    elif command == "diff":
        p.add_argument("operands", nargs="*")
        p.add_argument("--against", metavar="SESSION[/TARGET]")
        p.add_argument("--tol", metavar="REL")
        p.add_argument("--abs-tol", metavar="ABS")
        p.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    elif command in ("save", "save_string", "capture"):  # cell forms: KEY only
        p.add_argument("key")
        p.add_argument("-q", "--quiet", action="store_true")
    elif command == "help":
        p.add_argument("topic", nargs="?")
    return p


@dataclass(frozen=True)
class KeyRef:
    """A key, optionally in another session/target."""

    key: str
    session: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class Scope:
    """Which targets a snapshot or diff covers: one target, one session's targets, or everything."""

    session: str | None  # None means every session
    target: str | None = None

    def label(self) -> str:
        """Short text form: ``*``, ``SESSION`` or ``SESSION/TARGET``."""
        if self.session is None:
            return "*"
        return self.session if self.target is None else f"{self.session}/{self.target}"


_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_vars(text: str, namespaces: Sequence[dict[str, Any]], command: str) -> str:
    """Replace ``{name}`` in a key by the value of a Python variable (our only variable expansion)."""

    def repl(m: re.Match[str]) -> str:
        for ns in namespaces:
            if m.group(1) in ns:
                return str(ns[m.group(1)])
        raise usage_error(command, f"{{{m.group(1)}}} in {text!r} names no variable")

    return _VAR.sub(repl, text)


def parse_scope(text: str, command: str) -> Scope:
    """``SESSION/TARGET``, ``SESSION`` or ``*`` into a Scope (UsageError when malformed)."""
    text = text.strip()
    if text in ("*", "*/*"):
        return Scope(None)
    parts = text.split("/")
    if len(parts) > 2:
        raise usage_error(command, f"scope {text!r} has more than one '/'; write SESSION, SESSION/TARGET or *")
    try:
        session = check_id(parts[0], "session")
        target = check_id(parts[1], "target") if len(parts) == 2 else None
    except ValueError as exc:
        raise usage_error(command, f"bad scope {text!r}: {exc}") from None
    return Scope(session, target)


def parse_key_ref(text: str, command: str, *, prefix: bool = False) -> KeyRef:
    """``KEY`` or ``SESSION/TARGET:KEY`` into a KeyRef (``prefix=True`` accepts a key prefix or '')."""
    scope, sep, key = text.rpartition(":")
    session = target = None
    if sep:
        parts = scope.split("/")
        if len(parts) != 2:
            raise usage_error(command, f"{text!r}: write SESSION/TARGET:KEY to name a key of another target")
        try:
            session, target = check_id(parts[0], "session"), check_id(parts[1], "target")
        except ValueError as exc:
            raise usage_error(command, f"bad scope in {text!r}: {exc}") from None
    try:
        key = check_prefix(key) if prefix else check_key(key)
    except ValueError as exc:
        raise usage_error(command, str(exc)) from None
    return KeyRef(key, session, target)
