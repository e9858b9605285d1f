"""Subcommands on stored values: save, load, save_string, load_string, save_bytes, load_bytes, show, info, rm,
exists, versions."""

from __future__ import annotations

import dataclasses
import html
from argparse import Namespace
from collections.abc import Callable
from typing import Any

from ...base import BaseStorage
from ...codec import JSONTooDeepError, decode_json
from ...diff import load_kind
from ..render import RichText, StoredValue
from .base import Command, Context
from .parsing import Arg, CommandError, Complete

ORDER = 20  # after navigation in %storage help

_MISSING: Any = object()

KEY = Arg("key", metavar="KEY", complete=Complete.KEY)
QUIET = Arg("-q", "--quiet", flag=True)
OUT = Arg("-o", "--out", metavar="VAR")


def key_and_expression(text: str) -> list[str]:
    """``[-q] KEY EXPR``: the key is one word, the expression is the rest of the line, verbatim."""
    quiet = False
    parts = text.strip().split(None, 1)
    while parts and parts[0] in ("-q", "--quiet"):
        quiet = True
        parts = parts[1].split(None, 1) if len(parts) > 1 else []
    if len(parts) < 2:
        raise CommandError("needs KEY and a value expression")
    # '--' keeps a key or expression that starts with '-' (e.g. -x) from being read as an option.
    return [*(["-q"] if quiet else []), "--", parts[0], parts[1]]


# ---- save --------------------------------------------------------------------------------------------------------
#: key suffixes whose value is meant to be text: a JSON string saved there is probably a mistake
TEXT_SUFFIXES = frozenset(
    (".md", ".markdown", ".txt", ".text", ".rst", ".html", ".htm", ".xml", ".svg", ".csv", ".tsv", ".log", ".out",
     ".err", ".yaml", ".yml", ".toml", ".ini", ".tex")
)  # fmt: skip


def _stored_json(ctx: Context, storage: BaseStorage, key: str, value: Any, quiet: bool, form: str) -> None:
    storage.save(key, value)
    ctx.saved(storage, key, "json", value, quiet)
    suffix = key[key.rfind(".") :].lower() if "." in key.rsplit("/", 1)[-1] else ""
    if isinstance(value, str) and suffix in TEXT_SUFFIXES:
        ctx.warn(
            f"{key!r} now holds a JSON string (quoted, escaped); to store it as text use {form} {key} (save_string "
            "keeps it verbatim, and show renders it)"
        )


def _save(ctx: Context, args: Namespace) -> None:
    storage, key = ctx.key(args.key)
    _stored_json(ctx, storage, key, ctx.evaluate(args.expr), args.quiet, "%storage save_string")


def _cell_save(ctx: Context, args: Namespace, body: str) -> None:
    storage, key = ctx.key(args.key)
    try:
        value = decode_json(body)
    except JSONTooDeepError:
        raise ctx.fail("the cell body nests too deeply to parse as JSON; save_string stores text") from None
    except ValueError as exc:
        raise ctx.fail(f"the cell body is not JSON ({exc}); %%storage save_string KEY stores text") from None
    _stored_json(ctx, storage, key, value, args.quiet, "%%storage save_string")


SAVE = Command(
    "save",
    "Store the JSON value of a Python expression (or of the cell body, parsed as JSON).",
    args=(QUIET, KEY, Arg("expr", metavar="EXPR", complete=Complete.PYTHON)),
    line=_save,
    split=key_and_expression,
    cell=_cell_save,
    cell_args=(QUIET, KEY),
    cell_note="(cell body = JSON)",
)


# ---- load --------------------------------------------------------------------------------------------------------
def _loaded(ctx: Context, args: Namespace, read: Callable[[BaseStorage, str], Any]) -> Any:
    storage, key = ctx.key(args.key)
    value = read(storage, key)
    if value is _MISSING:
        raise ctx.missing(storage, key)
    if args.out:
        ctx.bind(args.out, value)
        ctx.say(2, f"Loaded {key!r} into {args.out}")
        return None
    return value


def _load(ctx: Context, args: Namespace) -> Any:
    return _loaded(ctx, args, lambda storage, key: storage.load(key, _MISSING))


LOAD = Command(
    "load",
    "Return the JSON value under KEY (-o binds it to VAR instead).",
    args=(KEY, OUT),
    line=_load,
)


# ---- save_string / load_string -----------------------------------------------------------------------------------
def _save_string(ctx: Context, args: Namespace) -> None:
    storage, key = ctx.key(args.key)
    value = ctx.evaluate(args.expr)
    if not isinstance(value, str):
        raise ctx.fail(f"{args.expr.strip()!r} is a {type(value).__name__}, not a str (use save for JSON)")
    storage.save_string(key, value)
    ctx.saved(storage, key, "text", value, args.quiet)


def _cell_save_string(ctx: Context, args: Namespace, body: str) -> None:
    storage, key = ctx.key(args.key)
    storage.save_string(key, body)
    ctx.saved(storage, key, "text", body, args.quiet)


SAVE_STRING = Command(
    "save_string",
    "Store text (HTML, Markdown, logs) verbatim.",
    args=(QUIET, KEY, Arg("expr", metavar="EXPR", complete=Complete.PYTHON)),
    line=_save_string,
    split=key_and_expression,
    cell=_cell_save_string,
    cell_args=(QUIET, KEY),
    cell_note="(cell body verbatim)",
)


def _load_string(ctx: Context, args: Namespace) -> Any:
    return _loaded(ctx, args, lambda storage, key: storage.load_string(key, _MISSING))


LOAD_STRING = Command(
    "load_string",
    "Return the text under KEY (-o binds it to VAR instead).",
    args=(KEY, OUT),
    line=_load_string,
)


# ---- save_bytes / load_bytes ------------------------------------------------------------------------------------
def _save_bytes(ctx: Context, args: Namespace) -> None:
    storage, key = ctx.key(args.key)
    value = ctx.evaluate(args.expr)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        hint = "; for text use save_string (or EXPR.encode())" if isinstance(value, str) else ""
        raise ctx.fail(f"{args.expr.strip()!r} is a {type(value).__name__}, not bytes{hint}")
    storage.save_bytes(key, value)
    ctx.saved(storage, key, "bytes", value, args.quiet)


SAVE_BYTES = Command(
    "save_bytes",
    "Store the bytes of a Python expression (screenshots, archives).",
    args=(QUIET, KEY, Arg("expr", metavar="EXPR", complete=Complete.PYTHON)),
    line=_save_bytes,
    split=key_and_expression,
)


def _load_bytes(ctx: Context, args: Namespace) -> Any:
    return _loaded(ctx, args, lambda storage, key: storage.load_bytes(key, _MISSING))


LOAD_BYTES = Command(
    "load_bytes",
    "Return the bytes under KEY (-o binds them to VAR instead).",
    args=(KEY, OUT),
    line=_load_bytes,
)


# ---- show / info -------------------------------------------------------------------------------------------------
def _show(ctx: Context, args: Namespace) -> StoredValue:
    storage, key = ctx.key(args.key)
    max_bytes = args.max_bytes if args.max_bytes is not None else ctx.settings.preview_max_bytes
    if max_bytes < 1:
        raise ctx.fail(f"--max-bytes must be >= 1, not {max_bytes}")
    if args.height is not None and args.height < 1:
        raise ctx.fail(f"--height must be >= 1 (pixels), not {args.height}")
    info = storage.info(key)
    # The kind's own loader reads once; the kind decides the rendering (a JSON string is not text).
    value = _MISSING if info is None else load_kind(storage, key, info.kind, _MISSING)
    if info is None or value is _MISSING:
        raise ctx.missing(storage, key)
    return StoredValue(key, info.kind, value, max_bytes, ctx.settings.preview_max_chars, height=args.height)


SHOW = Command(
    "show",
    "Render a stored value inline: HTML in a sandboxed iframe, Markdown, JSON tree, images; text twin for terminals.",
    args=(KEY, Arg("--max-bytes", metavar="N", type=int), Arg("--height", metavar="PX", type=int)),
    line=_show,
)


def _info(ctx: Context, args: Namespace) -> Any:
    if args.key is None:
        storage = ctx.storage
        text = (
            f"{ctx.where(storage)}  ({type(storage).__name__}; session {storage.session_id!r}, "
            f"target {storage.target_id!r}, {len(storage.list_keys())} keys)"
        )
        return RichText(text, f"<code>{html.escape(text)}</code>", "StorageInfo")
    storage, key = ctx.key(args.key)
    info = storage.info(key)
    if info is None:
        raise ctx.missing(storage, key)
    return dataclasses.replace(info, modified=None) if ctx.settings.deterministic else info


INFO = Command(
    "info",
    "Kind, size and hash of KEY; bare: the current backend, session and target.",
    args=(Arg("key", metavar="KEY", nargs="?", complete=Complete.KEY),),
    line=_info,
)


# ---- rm / exists / versions --------------------------------------------------------------------------------------
def _rm(ctx: Context, args: Namespace) -> None:
    refs: dict[tuple[str, str, str], tuple[BaseStorage, str]] = {}
    for text in args.keys:
        storage, key = ctx.key(text)
        refs.setdefault((storage.session_id, storage.target_id, key), (storage, key))  # `rm k k` deletes k once
    missing: dict[str, list[str]] = {}
    for storage, key in refs.values():
        if not storage.exists(key):
            missing.setdefault(ctx.where(storage), []).append(repr(key))
    if missing:
        # Check everything first: a typo in the third key must not leave the first two deleted.
        where = "; ".join(f"no key {', '.join(keys)} in {place}" for place, keys in missing.items())
        raise ctx.fail(f"{where}; nothing deleted")
    for storage, key in refs.values():
        storage.delete(key)
        if not args.quiet:
            ctx.say(1, f"Deleted {key!r} from {ctx.where(storage)}")


RM = Command(
    "rm",
    "Delete keys (all must exist; otherwise nothing is deleted).",
    args=(QUIET, Arg("keys", metavar="KEY", nargs="+", complete=Complete.KEY)),
    line=_rm,
)


def _exists(ctx: Context, args: Namespace) -> bool:
    storage, key = ctx.key(args.key)
    return storage.exists(key)


EXISTS = Command("exists", "True when KEY exists.", args=(KEY,), line=_exists)


def _versions(ctx: Context, args: Namespace) -> list[str]:
    storage, key = ctx.key(args.key)
    return storage.versions(key)


VERSIONS = Command(
    "versions",
    "Timestamped version keys of NAME, newest first (a list).",
    args=(Arg("key", metavar="NAME", complete=Complete.KEY),),
    line=_versions,
)
