"""A subcommand record (:class:`Command`) and what its handlers get (:class:`Context`).

A handler never reaches into the magics: it gets a Context with the current storage, message helpers, the
user's namespaces, the snapshots and the settings; storage ownership goes through the small :class:`Host`
interface the magics implement. A mistake is raised as ``ctx.fail(problem)``; the magic adds the usage.
"""

from __future__ import annotations

import keyword
import os
import sys
from argparse import Namespace
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ...addressing import Scope, expand_vars, parse_key_ref, parse_scope, parse_snapshot, scope_storages
from ...base import BaseStorage
from ...codec import canonical, encode_json, encode_text, to_bytes
from ...errors import StorageNameError
from ...kinds import Kind
from ..render import human_size
from .parsing import Arg, CommandError, CommandParser, build_parser, did_you_mean, shell_words, usage_of

if TYPE_CHECKING:
    from IPython.core.interactiveshell import ExecutionResult, InteractiveShell

    from ...diff import Snapshot

__all__ = [
    "CellHandler",
    "Command",
    "Context",
    "Host",
    "LineHandler",
    "Settings",
    "canonical_size",
    "cell_forms",
    "unknown_subcommand",
]


def canonical_size(kind: Kind, value: Any) -> int:
    """The size ``KeyInfo.size`` gives a value (``codec.canonical``: JSON compact with sorted keys; text as UTF-8)."""
    payload = encode_json(value) if kind == "json" else encode_text(value) if kind == "text" else to_bytes(value)
    return canonical(kind, payload)[0]


class Settings(Protocol):
    """The StorageMagics settings a handler may read."""

    @property
    def default_backend(self) -> str: ...
    @property
    def feedback(self) -> int: ...
    @property
    def preview_max_bytes(self) -> int: ...
    @property
    def preview_max_chars(self) -> int: ...
    @property
    def deterministic(self) -> bool: ...


class Host(Settings, Protocol):
    """What the magics provide: settings, the current storage and its ownership, snapshots, the shell."""

    @property
    def current_storage(self) -> BaseStorage: ...
    @property
    def snapshots(self) -> dict[str, tuple[Scope, Snapshot]]: ...
    @property
    def shell(self) -> InteractiveShell | None: ...

    def build_storage(
        self, where: str | dict[str, Any], fields: dict[str, Any], session: str, target: str
    ) -> BaseStorage: ...
    def switch_storage(self, storage: BaseStorage, *, created: bool, keep_root: bool = False) -> None: ...
    def browser_opened(self, widget: Any) -> None: ...


class Context:
    """What a handler of one ``%storage`` call may use."""

    def __init__(
        self, host: Host, command: Command, commands: Mapping[str, Command], namespaces: Sequence[dict[str, Any]]
    ) -> None:
        self.host = host  # storage ownership (switch, build, the live browser); most handlers need none of it
        self.command = command
        self.commands = commands  # every subcommand, for help
        self.namespaces = list(namespaces)  # the cell's locals first, then the user namespace

    @property
    def storage(self) -> BaseStorage:
        """The storage the magics work on."""
        return self.host.current_storage

    @property
    def settings(self) -> Settings:
        """Feedback level, preview limits, deterministic mode, default backend."""
        return self.host

    @property
    def snapshots(self) -> dict[str, tuple[Scope, Snapshot]]:
        """Snapshots taken with ``%storage snapshot NAME``, by name."""
        return self.host.snapshots

    @property
    def shell(self) -> InteractiveShell:
        """The IPython shell (cell forms run the cell through it)."""
        if self.host.shell is None:
            raise self.fail(f"{self.command.name} needs a running IPython shell")
        return self.host.shell

    # ---- messages ------------------------------------------------------------------------------------------------
    def where(self, storage: BaseStorage) -> str:
        """Location for messages; relative to the working folder in deterministic mode."""
        text = storage.describe()
        if self.settings.deterministic and text.startswith("file://"):
            root = str(storage.to_config().get("root", ""))
            rel = os.path.relpath(root) if root else "<root>"
            shown = rel if not rel.startswith("..") else "<root>"
            return f"file://{shown}/{storage.session_id}/{storage.target_id}"
        return text

    def say(self, level: int, text: str) -> None:
        """Print ``text`` when the feedback setting is at least ``level``."""
        if self.settings.feedback >= level:
            print(text)

    def saved(self, storage: BaseStorage, key: str, kind: Kind, value: Any, quiet: bool) -> None:
        """The one-line feedback after a save, with the size ``info``, ``ls -l`` and ``show`` report for it."""
        if not quiet and self.settings.feedback >= 1:  # the size costs an encoding: only when it is shown
            self.say(1, f"Saved {key!r} ({kind}, {human_size(canonical_size(kind, value))}) -> {self.where(storage)}")

    def warn(self, text: str) -> None:
        """A one-line warning on stderr (shown whatever the feedback level: it points at a probable mistake)."""
        print(f"Warning: {text}", file=sys.stderr)

    def fail(self, problem: str) -> CommandError:
        """A user mistake to raise: shown in one line with this subcommand's usage."""
        return CommandError(problem)

    def missing(self, storage: BaseStorage, key: str) -> CommandError:
        """The error for a key that is not there."""
        return self.fail(f"no key {key!r} in {self.where(storage)} (%storage ls lists the keys)")

    # ---- references ----------------------------------------------------------------------------------------------
    def key(self, text: str, *, prefix: bool = False) -> tuple[BaseStorage, str]:
        """``KEY`` or ``SESSION/TARGET:KEY`` (``{var}`` expanded) as the storage holding it and the key."""
        try:
            ref = parse_key_ref(expand_vars(text, self.namespaces), prefix=prefix)
        except StorageNameError as exc:
            raise self.fail(str(exc)) from None
        storage = self.storage
        if ref.session is not None:
            storage = storage.for_session(ref.session, ref.target)
        return storage, ref.key

    def scope(self, text: str) -> Scope:
        """``SESSION/TARGET``, ``SESSION`` or ``*``."""
        try:
            return parse_scope(text)
        except StorageNameError as exc:
            raise self.fail(str(exc)) from None

    def storages(self, scope: Scope | None) -> list[BaseStorage]:
        """The targets a scope covers now (default: every target of the current session, plus the current one)."""
        return scope_storages(self.storage, scope)

    def snapshot(self, text: str) -> tuple[Scope, Snapshot]:
        """The snapshot an ``@NAME`` operand names."""
        try:
            name = parse_snapshot(text)
        except StorageNameError as exc:
            raise self.fail(str(exc)) from None
        if name not in self.snapshots:
            known = (
                ", ".join("@" + n for n in sorted(self.snapshots)) or "none yet; take one with %storage snapshot NAME"
            )
            raise self.fail(f"no snapshot {text!r} (snapshots: {known})")
        return self.snapshots[name]

    # ---- the user's namespaces -----------------------------------------------------------------------------------
    def bind(self, var: str, value: Any) -> None:
        """Set a variable in the user namespace (``-o VAR``)."""
        if not var.isidentifier() or keyword.iskeyword(var):
            raise self.fail(f"-o needs a Python variable name, not {var!r}")
        if var.startswith("__") and var.endswith("__"):  # __builtins__ = ... would break every later cell
            raise self.fail(f"-o {var}: names like __name__ belong to Python; pick another variable name")
        self.shell.user_ns[var] = value

    def evaluate(self, expr: str) -> Any:
        """The value of a Python expression in the cell's namespaces (locals first)."""
        if not expr.strip():
            raise self.fail("missing the value expression")
        local = self.namespaces[0] if self.namespaces else {}
        global_ = self.namespaces[-1] if self.namespaces else {}
        try:
            return eval(expr, global_, local)  # noqa: S307 - the user's own expression, like %store
        except Exception as exc:  # noqa: BLE001 - a broken expression is a user mistake, shown in one line
            raise self.fail(f"cannot evaluate {expr.strip()!r}: {type(exc).__name__}: {exc}") from None

    def run_cell(self, code: str) -> ExecutionResult:
        """Run a cell body through the shell (not stored in the history)."""
        result: ExecutionResult = self.shell.run_cell(code, store_history=False)  # type: ignore[no-untyped-call]  # IPython's run_cell is unannotated
        return result


LineHandler = Callable[[Context, Namespace], Any]
CellHandler = Callable[[Context, Namespace, str], Any]


@dataclass(frozen=True)
class Command:
    """One ``%storage`` subcommand: its arguments, handlers and one-line summary.

    ``args`` are the arguments of the line form (of the cell form when there is no line form); they build the
    parser, the usage line and the Tab completion. ``cell_args`` replaces them for the cell form when it takes
    other arguments. ``split`` cuts the line form's text into words (a free-text part such as ``EXPR`` is cut
    by hand); the cell form is always split like a shell does.
    """

    name: str
    summary: str
    args: tuple[Arg, ...] = ()
    line: LineHandler | None = None
    cell: CellHandler | None = None
    cell_args: tuple[Arg, ...] | None = None
    cell_note: str = ""  # shown after the cell usage, e.g. "(cell body = JSON)"
    split: Callable[[str], list[str]] = shell_words

    def parser(self, *, cell: bool = False) -> CommandParser:
        """The argparse parser of the line (or cell) form."""
        if cell:
            return build_parser(f"%%storage {self.name}", self.args if self.cell_args is None else self.cell_args)
        return build_parser(f"%storage {self.name}", self.args)

    @property
    def usage(self) -> str:
        """Every form's usage, generated from its parser."""
        forms = []
        if self.line is not None:
            forms.append(usage_of(self.parser()))
        if self.cell is not None and (self.line is None or self.cell_args is not None):
            forms.append(usage_of(self.parser(cell=True)) + (f"  {self.cell_note}" if self.cell_note else ""))
        return "   |   ".join(forms)

    def run(self, ctx: Context, text: str, cell: str | None = None) -> Any:
        """Parse ``text`` and call the line handler, or the cell handler with the cell body."""
        if cell is None:
            if self.line is None:
                raise CommandError(f"{self.name} is a cell magic")
            return self.line(ctx, self.parser().parse_args(self.split(text)))
        if self.cell is None:
            forms = ", ".join(cell_forms(ctx.commands))
            raise CommandError(f"%%storage {self.name} has no cell form; cell forms: {forms}", usage=False)
        return self.cell(ctx, self.parser(cell=True).parse_args(shell_words(text)), cell)


def cell_forms(commands: Mapping[str, Command]) -> list[str]:
    """Names of the subcommands that have a ``%%storage`` cell form."""
    return [name for name, command in commands.items() if command.cell is not None]


def unknown_subcommand(commands: Mapping[str, Command], name: str) -> CommandError:
    """``unknown subcommand 'sve'; did you mean save?`` (the list of subcommands when nothing is close)."""
    hint = did_you_mean(name, list(commands)) or f"; subcommands: {', '.join(commands)}"
    return CommandError(f"unknown subcommand {name!r}{hint} (%storage help)", usage=False)
