"""``%storage ls``: keys of a target by prefix or glob, returned as a list of names that displays as a listing."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ...addressing import KeyRef, expand_vars, filter_keys, parse_key_pattern, parse_scope
from ...base import BaseStorage
from ...display import DisplayObject, KeyListing, note
from ...errors import StorageError, StorageNameError
from .base import Command, Context
from .parsing import Arg, Complete

ORDER = 10  # with navigation, after use, in %storage help

LONG_LISTING_MAX = 500  # `ls -l` asks info() per key: one request each on the cache service, so it stops here


class KeyList(list[str], DisplayObject):
    """What ``%storage ls`` returns: the key names as a list (``len``, ``[0]``, iteration, ``== [...]``, json).

    It displays as the listing (through the display base: text twin and HTML), with a one-line note when
    nothing matched and the words probably meant something else (``ls exp1/run2`` for ``exp1/run2:``).
    """

    def __init__(self, listing: KeyListing, note: str = "") -> None:
        super().__init__(listing.keys)
        self.listing = listing
        self.note = note

    @property
    def keys(self) -> list[str]:
        """The key names (a plain list)."""
        return list(self)

    @property
    def rows(self) -> list[Any]:
        """``ls -l``: the KeyInfo of each key listed; plain ``ls``: the names."""
        return list(self.listing.rows)

    def text(self) -> str:
        """The listing as terminals and nbval show it."""
        return self.listing.text() + (f"\n{self.note}" if self.note else "")

    def _text_twin(self) -> str:
        return self.text()

    def _html_body(self) -> str:
        return self.listing._repr_html_() + (note(self.note, "psnb-hint") if self.note else "")


def _hint(storage: BaseStorage, text: str) -> str:
    """Why an empty ``ls TEXT`` is probably not what was meant (TEXT names a session/target), else ''."""
    if ":" in text or "/" not in text.rstrip("/"):
        if ":" not in text and text and text in _safe(storage.sessions):
            return f"{text} is a session: %storage targets {text} lists its targets, ls {text}/TARGET: their keys"
        return ""
    try:
        scope = parse_scope(text.rstrip("/"))
    except StorageNameError:
        return ""
    if scope.session is not None and scope.target in _safe(lambda: storage.targets(scope.session)):
        return f"{scope.label()} is a session/target: did you mean %storage ls {scope.label()}: ?"
    return ""


def _safe(listing: Any) -> list[str]:
    try:
        return list(listing())
    except StorageError:  # a hint is not worth an error of its own
        return []


def _note(storage: BaseStorage, text: str, ref: KeyRef, pattern: str | None) -> str:
    if pattern is not None:
        return f"no key matches {pattern!r}"
    # The listing itself says "(prefix 'x'): no keys"; a note only when the words probably meant a target.
    hint = _hint(storage, text) if ref.session is None and ref.key else ""
    return f"no key starts with {ref.key!r}; {hint}" if hint else ""


def _ls(ctx: Context, args: Namespace) -> KeyList:
    text = args.where
    try:
        ref, pattern = parse_key_pattern(expand_vars(text, ctx.namespaces)) if text else (KeyRef(""), None)
    except StorageNameError as exc:
        raise ctx.fail(str(exc)) from None
    storage = ctx.storage if ref.session is None else ctx.storage.for_session(ref.session, ref.target)
    if pattern is None:
        keys = storage.list_keys(ref.key)
    else:
        # The glob ignores case (the browser filter's rule) and list_keys' prefix does not: narrow by the literal
        # part only when it has no letters ('2024/*'), else 'Results/*' would miss results/...
        literal = ref.key if ref.key.lower() == ref.key.upper() else ""
        keys = filter_keys(storage.list_keys(literal), pattern)
    note = "" if keys else _note(storage, text, ref, pattern)
    shown = pattern or ref.key
    if not args.long:
        return KeyList(KeyListing(ctx.where(storage), keys, shown), note)
    # Kind, size and hash cost one info() per key (an HTTP request on the cache service): only with -l, capped.
    rows = [info for info in map(storage.info, keys[:LONG_LISTING_MAX]) if info is not None]
    more = max(0, len(keys) - LONG_LISTING_MAX)
    return KeyList(KeyListing(ctx.where(storage), rows, shown, long=True, more=more), note)


LS = Command(
    "ls",
    "List keys (a list) of the current (or given) target by prefix or glob (*.json); -l adds kind, size and hash "
    "(one request per key, first 500 keys).",
    args=(
        Arg("-l", "--long", flag=True),
        Arg("where", metavar="[SESSION/TARGET:]PREFIX|GLOB", nargs="?", default="", complete=Complete.PREFIX),
    ),
    line=_ls,
)
