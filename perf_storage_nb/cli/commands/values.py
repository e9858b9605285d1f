"""``cat``, ``info``, ``rm``: one stored value, its metadata, and deleting keys."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..context import Context, info_dict
from ..outcome import OK, USAGE, CliError
from ..record import Command

if TYPE_CHECKING:
    from ...addressing import Address
    from ...base import BaseStorage

ORDER = 20


def _key_of(ctx: Context, text: str) -> tuple[BaseStorage, Address, str]:
    """``[LOCATION#]SESSION/TARGET:KEY``: the target's storage, the address and the key (usage error otherwise)."""
    root, address = ctx.endpoint(text, whole_key=True)
    if address.target is None or not address.key:
        raise CliError(f"{ctx.name} needs one key, not {text!r}; write SESSION/TARGET:KEY", USAGE)
    return root.for_session(address.session, address.target), address, address.key


def _missing(storage: BaseStorage, key: str) -> CliError:
    where = f"{storage.session_id}/{storage.target_id}"
    return CliError(f"no key {key!r} in {where} (perf-storage ls {where} lists its keys)", USAGE)


# ---- cat ---------------------------------------------------------------------------------------------------------
def _build_cat(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("address", metavar="SESSION/TARGET:KEY", help="the key to print ([LOCATION#] allowed)")


def _cat(ctx: Context) -> int:
    storage, address, key = _key_of(ctx, ctx.args.address)
    info = storage.info(key)
    if info is None:
        raise _missing(storage, key)
    if ctx.json:
        value: Any
        if info.kind == "bytes":
            import base64

            value = base64.b64encode(storage.load_bytes(key) or b"").decode("ascii")
        else:
            value = storage.load(key) if info.kind == "json" else storage.load_string(key)
        envelope = {"session": address.session, "target": address.target, "key": key, "kind": info.kind}
        ctx.emit({**envelope, "value": value, **({"encoding": "base64"} if info.kind == "bytes" else {})})
        return OK
    out = sys.stdout.buffer
    if info.kind == "bytes":
        if sys.stdout.isatty():
            raise CliError(
                f"{key!r} holds {info.size:,} bytes of binary data: not written to a terminal; redirect stdout "
                f"(perf-storage cat {ctx.args.address} > FILE) or use --json (base64)",
                USAGE,
            )
        for chunk in storage.iter_bytes(key):  # streamed: a large value never sits in memory whole
            out.write(chunk)
    elif info.kind == "text":
        out.write((storage.load_string(key) or "").encode("utf-8"))  # verbatim: no newline added
    else:
        import json

        out.write((json.dumps(storage.load(key), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    out.flush()
    return OK


CAT = Command(
    "cat",
    "Print a value: text verbatim, JSON pretty-printed, bytes raw (only when stdout is not a terminal).",
    _build_cat,
    _cat,
    examples=(
        "perf-storage cat exp1/item_001:results/metrics.json",
        "perf-storage cat exp1/item_001:shot.png > shot.png",
        "perf-storage cat exp1/item_001:report.html --json   # {session, target, key, kind, value}",
        "perf-storage cat http://127.0.0.1:10017#exp1/item_001:log.txt",
    ),
)


# ---- info --------------------------------------------------------------------------------------------------------
def _build_info(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address", nargs="?", metavar="SESSION/TARGET:KEY", help="a key (default: describe the location)"
    )


def _info(ctx: Context) -> int:
    if ctx.args.address is None:
        from ...sync.endpoints import location_label

        root = ctx.location()
        root.check()
        sessions = root.sessions()
        facts = {"location": location_label(root), "backend": root.backend_name, "sessions": len(sessions)}
        ctx.emit(facts) if ctx.json else ctx.out(f"{name:<9} {value}" for name, value in facts.items())
        return OK
    storage, address, key = _key_of(ctx, ctx.args.address)
    info = storage.info(key)
    if info is None:
        raise _missing(storage, key)
    facts = {"session": address.session, "target": address.target, **info_dict(info)}
    if ctx.json:
        ctx.emit(facts)
        return OK
    shown = {**facts, "size": f"{info.size:,} B", "modified": facts["modified"] or "-"}
    ctx.out(f"{name:<9} {value}" for name, value in shown.items())
    return OK


INFO = Command(
    "info",
    "Kind, size, content hash and modified time of a key (no key: the location, reachable or not).",
    _build_info,
    _info,
    examples=(
        "perf-storage info exp1/item_001:results/metrics.json",
        "perf-storage info --json exp1/item_001:shot.png     # the fields of storage.info(key)",
        "perf-storage info -L http://127.0.0.1:10017         # is the cache service reachable, is the key right?",
    ),
)


# ---- rm ----------------------------------------------------------------------------------------------------------
def _build_rm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("address", metavar="SESSION[/TARGET][:KEY-OR-PREFIX]", help="what to delete")
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="delete every key under a prefix, target or session"
    )
    parser.add_argument("-f", "--force", action="store_true", help="no error when nothing matches")
    parser.add_argument("-n", "--dry-run", action="store_true", help="list what would be deleted, delete nothing")


def _rm(ctx: Context) -> int:
    args = ctx.args
    root, address = ctx.endpoint(args.address)
    key = address.key or ""
    if address.target is not None and key:
        storage = root.for_session(address.session, address.target)
        if storage.exists(key):
            if not args.dry_run:
                storage.delete(key)
            _deleted(ctx, [f"{address.session}/{address.target}:{key}"])
            return OK
        if not args.recursive:
            if args.force:
                return OK
            raise CliError(
                f"no key {key!r} in {address.session}/{address.target} (to delete the keys under the prefix "
                f"{key!r}, add -r)",
                USAGE,
            )
    elif not args.recursive:
        raise CliError(
            f"{args.address!r} names a {'target' if address.target else 'session'}: add -r to delete all its keys",
            USAGE,
        )
    targets = [address.target] if address.target else root.targets(address.session)
    done: list[str] = []
    for target in targets:
        storage = root.for_session(address.session, target)
        keys = storage.list_keys(key)
        if not args.dry_run and keys:
            if key:
                storage.delete_many(keys).raise_for_errors()
            else:
                storage.delete_target()  # the whole target (on the cache service: its entry too)
        done += [f"{address.session}/{target}:{k}" for k in keys]
    if not done and not args.force:
        raise CliError(f"nothing to delete under {args.address!r}", USAGE)
    _deleted(ctx, done)
    return OK


def _deleted(ctx: Context, addresses: list[str]) -> None:
    verb = "would delete" if ctx.args.dry_run else "deleted"
    if ctx.json:
        ctx.emit({"dry_run": bool(ctx.args.dry_run), "deleted": addresses})
    else:
        ctx.out(f"{verb} {a}" for a in addresses)


RM = Command(
    "rm",
    "Delete a key, or with -r every key under a prefix, a target or a session.",
    _build_rm,
    _rm,
    examples=(
        "perf-storage rm exp1/item_001:tmp.json",
        "perf-storage rm -r exp1/item_001:scratch/      # every key under a prefix",
        "perf-storage rm -r exp1 --dry-run               # what deleting the session would remove",
    ),
)
