"""One item of a sync: read what must be read, hash it, copy or delete; large bytes move in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..errors import StorageAuthError, StorageConnectionError
from ..kinds import SAVE_METHOD
from .index import NO_VALUE, Known, content_of, load_as
from .plan import Item, Plan, Run
from .result import KeyChange

if TYPE_CHECKING:
    from ..base import BaseStorage

__all__ = ["FATAL", "STREAM_MIN", "run_item"]

#: bytes values at least this large are streamed (iter_bytes -> save_stream) instead of loaded whole
STREAM_MIN = 8 << 20
#: failures that stop the whole run: every remaining key would fail the same way
FATAL = (StorageConnectionError, StorageAuthError)


def _streamed(known: Known) -> bool:
    """True for a bytes value large enough to move in chunks (never loaded whole)."""
    return known.kind == "bytes" and known.size is not None and known.size >= STREAM_MIN


def _stream_hash(storage: BaseStorage, key: str) -> Known:
    """The canonical hash and size of a bytes value, read in chunks."""
    import hashlib

    digest, count = hashlib.sha256(), 0
    for chunk in storage.iter_bytes(key):
        digest.update(chunk)
        count += len(chunk)
    return Known("bytes", digest.hexdigest(), count)


def _transfer(src: BaseStorage, dst: BaseStorage, item: Item, value: Any) -> tuple[Known, Any]:
    """Write the source value to the destination; returns the hash of what was written, and the value (NO_VALUE
    when it was streamed)."""
    kind = item.src.kind if item.src is not None else "json"
    if value is _UNREAD and item.src is not None and _streamed(item.src):
        import hashlib

        digest = hashlib.sha256()
        count = 0

        def chunks() -> Any:
            nonlocal count
            for chunk in src.iter_bytes(item.src_key):
                digest.update(chunk)
                count += len(chunk)
                yield chunk

        dst.save_stream(item.dst_key, chunks())
        return Known("bytes", digest.hexdigest(), count), NO_VALUE
    if value is _UNREAD:
        value = load_as(src, kind, item.src_key)
    getattr(dst, SAVE_METHOD[kind])(item.dst_key, value)
    # The hash of what was written, not the scan's: had the source changed since, a record of the old hash could
    # later match the source again while the destination holds the newer value.
    return content_of(kind, value), value


_UNREAD: Any = object()


def run_item(run: Run, plan: Plan, item: Item, after: Callable[[Run, Plan], None]) -> None:
    """Do one item and record its change or failure (never counted done unless its write returned); then ``after``."""
    route = plan.route
    dst = route.dst
    session, target = dst.session_id, dst.target_id
    reads = [0, 0]
    try:
        if item.op == "delete":
            if not run.dry_run:
                dst.delete(item.dst_key)
                plan.dst_index.learned(item.dst_key, None)
            kind = item.dst.kind if item.dst else ""
            change = KeyChange("deleted", session, target, item.dst_key, kind)
            run.record(change)
            return
        src = route.src
        assert src is not None and item.src is not None  # copy and check items come from a source key
        value = _UNREAD
        known = item.src
        if item.op == "check":
            if known.hash is None:
                reads[0] += 1
                if _streamed(known):
                    known = _stream_hash(src, item.src_key)  # a large value is hashed, not held
                else:
                    value = load_as(src, known.kind, item.src_key)
                    known = content_of(known.kind, value)
            there = item.dst
            if there is not None and there.hash is None:
                reads[1] += 1
                if _streamed(there):
                    there = _stream_hash(dst, item.dst_key)
                else:
                    there = content_of(there.kind, load_as(dst, there.kind, item.dst_key))
                plan.dst_index.learned(item.dst_key, there, wrote=False)
            if there is not None and there.hash == known.hash and there.kind == known.kind:
                run.record(None, reads=(reads[0], reads[1]))
                with plan.lock:
                    plan.unchanged += 1
                return
        action: Literal["added", "updated"] = "added" if item.dst is None else "updated"
        size = known.size
        if not run.dry_run:
            written, held = _transfer(src, dst, Item(item.op, item.src_key, item.dst_key, known, item.dst), value)
            plan.dst_index.learned(item.dst_key, written, value=held)
            size = written.size
        change = KeyChange(action, session, target, item.dst_key, known.kind, size, source_key=item.src_key)
        run.record(change, copied=size or 0, reads=(reads[0], reads[1]))
    except FATAL as exc:
        with run.lock:
            run.fatal = run.fatal or exc
        run.record(KeyChange("failed", session, target, item.dst_key, error=str(exc)))
    except Exception as exc:  # noqa: BLE001 - a per-key outcome: reported as a row, never counted done
        run.record(KeyChange("failed", session, target, item.dst_key, error=f"{type(exc).__name__}: {exc}"))
    finally:
        after(run, plan)
