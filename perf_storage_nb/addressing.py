"""References to stored values written as text: keys, scopes, snapshots and the general address form.

The forms (``:`` never occurs in ids or keys, so it separates the scope from the key):

- ``KEY`` or ``SESSION/TARGET:KEY``: a key of the current target or of another one (or a key prefix);
- ``SESSION/TARGET``, ``SESSION`` or ``*``: a scope (one target, every target of a session, everything);
- ``@NAME``: a snapshot taken earlier;
- ``SESSION[/TARGET][:KEY-OR-PREFIX]``: the general address, shared by the notebook and the command line;
- ``{name}`` inside a reference: the value of a variable, looked up in the namespaces given;
- ``[SESSION/TARGET:]PATTERN``: keys matching a glob (``*.json``, ``results/*``), the browser filter's rule.

Every mistake raises :class:`~perf_storage_nb.errors.StorageNameError` (a ``ValueError``) whose message names
the problem and the accepted form. No IPython here: the notebook turns these errors into one-line usage errors.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StorageNameError
from .names import check_id, check_key, check_prefix

if TYPE_CHECKING:
    from .base import BaseStorage

__all__ = [
    "GLOB_CHARS",
    "Address",
    "KeyRef",
    "Scope",
    "check_snapshot_name",
    "expand_vars",
    "filter_keys",
    "is_glob",
    "is_snapshot",
    "parse_key_pattern",
    "parse_address",
    "parse_key_ref",
    "parse_scope",
    "parse_snapshot",
    "scope_storages",
]

_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: characters that make a key reference a glob pattern (none of them can occur in a key)
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class KeyRef:
    """A key (or key prefix), optionally in another session/target."""

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


@dataclass(frozen=True)
class Address:
    """``SESSION[/TARGET][:KEY-OR-PREFIX]``: a session, optionally one of its targets, optionally a key or prefix."""

    session: str
    target: str | None = None
    key: str | None = None  # None: the address names a scope; '' or a prefix: keys under it

    def scope(self) -> Scope:
        """The session or session/target part."""
        return Scope(self.session, self.target)

    def label(self) -> str:
        """The text form the address was parsed from (normalised)."""
        where = self.scope().label()
        return where if self.key is None else f"{where}:{self.key}"


def expand_vars(text: str, namespaces: Sequence[Mapping[str, Any]]) -> str:
    """Replace ``{name}`` by the value of a variable from the first namespace that has it."""

    def repl(m: re.Match[str]) -> str:
        for ns in namespaces:
            if m.group(1) in ns:
                return str(ns[m.group(1)])
        raise StorageNameError(f"{{{m.group(1)}}} in {text!r} names no variable")

    return _VAR.sub(repl, text)


def _session_target(scope: str, text: str) -> tuple[str, str]:
    """The ``SESSION/TARGET`` before the ``:`` of a key reference."""
    parts = scope.split("/")
    if len(parts) != 2:
        raise StorageNameError(f"{text!r}: write SESSION/TARGET:KEY to name a key of another target")
    try:
        return check_id(parts[0], "session"), check_id(parts[1], "target")
    except StorageNameError as exc:
        raise StorageNameError(f"bad scope in {text!r}: {exc}") from None


def parse_key_ref(text: str, *, prefix: bool = False) -> KeyRef:
    """``KEY`` or ``SESSION/TARGET:KEY`` into a KeyRef (``prefix=True`` accepts a key prefix or '')."""
    scope, sep, key = text.rpartition(":")
    session, target = _session_target(scope, text) if sep else (None, None)
    key = check_prefix(key) if prefix else check_key(key)
    return KeyRef(key, session, target)


def is_glob(text: str) -> bool:
    """True when ``text`` is a glob pattern (has ``*``, ``?`` or ``[``) rather than a key or prefix."""
    return any(c in text for c in GLOB_CHARS)


def filter_keys(keys: Sequence[str], pattern: str) -> list[str]:
    """Keys matching ``pattern``: a case-insensitive glob when it has ``*?[``, else a case-insensitive substring.

    The rule of the browser's filter box and of ``%storage ls PATTERN``; ``*`` also matches ``/``.
    """
    pattern = pattern.strip()
    if not pattern:
        return list(keys)
    if is_glob(pattern):
        rx = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
        return [k for k in keys if rx.match(k)]
    needle = pattern.casefold()
    return [k for k in keys if needle in k.casefold()]


def parse_key_pattern(text: str) -> tuple[KeyRef, str | None]:
    """``[SESSION/TARGET:]PREFIX`` or ``[SESSION/TARGET:]GLOB`` into (a KeyRef of the literal prefix, the glob or None).

    The prefix is the part of a glob before its first wildcard, so a listing asks the backend for as few keys as it
    can; ``results/*.json`` gives ``(KeyRef("results/"), "results/*.json")``.
    """
    scope, sep, pattern = text.rpartition(":")
    if not is_glob(pattern):
        return parse_key_ref(text, prefix=True), None
    session, target = _session_target(scope, text) if sep else (None, None)
    # Checked as a prefix with each wildcard standing for one ordinary character: 'a//*' and '../*' stay invalid.
    stand_in = re.sub(r"[*?\[\]!]", "x", pattern)
    try:
        check_prefix(stand_in)
    except StorageNameError as exc:
        why = str(exc).replace(f"invalid key {stand_in!r}: ", "")
        raise StorageNameError(f"bad pattern {pattern!r}: {why}") from None
    literal = pattern[: min(pattern.index(c) for c in GLOB_CHARS if c in pattern)]
    return KeyRef(literal, session, target), pattern


def parse_scope(text: str) -> Scope:
    """``SESSION/TARGET``, ``SESSION`` or ``*`` into a Scope."""
    text = text.strip()
    if text in ("*", "*/*"):
        return Scope(None)
    parts = text.split("/")
    if len(parts) > 2:
        raise StorageNameError(f"scope {text!r} has more than one '/'; write SESSION, SESSION/TARGET or *")
    try:
        session = check_id(parts[0], "session")
        target = check_id(parts[1], "target") if len(parts) == 2 else None
    except StorageNameError as exc:
        raise StorageNameError(f"bad scope {text!r}: {exc}") from None
    return Scope(session, target)


def parse_address(text: str, *, prefix: bool = True) -> Address:
    """``SESSION[/TARGET][:KEY-OR-PREFIX]`` into an Address (``prefix=False``: the key part must be a whole key)."""
    where, sep, key = text.strip().partition(":")
    parts = where.split("/")
    if not where or len(parts) > 2:
        raise StorageNameError(f"address {text!r}: write SESSION[/TARGET][:KEY-OR-PREFIX]")
    try:
        session = check_id(parts[0], "session")
        target = check_id(parts[1], "target") if len(parts) == 2 else None
    except StorageNameError as exc:
        raise StorageNameError(f"bad address {text!r}: {exc}; write SESSION[/TARGET][:KEY-OR-PREFIX]") from None
    if not sep:
        return Address(session, target)
    return Address(session, target, check_prefix(key) if prefix else check_key(key))


def check_snapshot_name(name: str) -> str:
    """Return ``name`` if it can name a snapshot (letters, digits, '_', '-', '.'), else raise StorageNameError."""
    if not name.isidentifier() and not name.replace("-", "_").replace(".", "_").isidentifier():
        raise StorageNameError(f"snapshot name {name!r} must be a simple name like base or run1")
    return name


def is_snapshot(text: str) -> bool:
    """True when ``text`` is a snapshot operand (``@NAME``)."""
    return text.startswith("@")


def parse_snapshot(text: str) -> str:
    """``@NAME`` into NAME."""
    if not is_snapshot(text):
        raise StorageNameError(f"{text!r} is not a snapshot; write @NAME")
    return check_snapshot_name(text[1:])


def scope_storages(base: BaseStorage, scope: Scope | None = None) -> list[BaseStorage]:
    """The targets a scope covers now (default: ``base``'s session), with ``base``'s own when the scope covers it."""
    if scope is None:
        scope = Scope(base.session_id)
    sessions = base.sessions() if scope.session is None else [scope.session]
    out: dict[tuple[str, str], BaseStorage] = {}
    for session in sessions:
        targets = [scope.target] if scope.target else base.targets(session)
        for target in targets:
            out[(session, target)] = base.for_session(session, target)
    if scope.session in (None, base.session_id) and scope.target in (None, base.target_id):
        out.setdefault((base.session_id, base.target_id), base)
    return [out[k] for k in sorted(out)]
