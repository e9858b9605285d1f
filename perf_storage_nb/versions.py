"""Timestamped version keys (the seed's "append timestamps for outputs"), unique within a process."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["new_version_key", "parse_version_key", "version_pattern"]

_STAMP = "%Y%m%dT%H%M%S%fZ"
_STAMP_RE = r"\d{8}T\d{12}Z"
_lock = threading.Lock()
_last: datetime | None = None


def _split(name: str) -> tuple[str, str]:
    """Split 'dir/metrics.json' into ('dir/metrics', '.json'); the extension is kept after the stamp."""
    head, _, tail = name.rpartition("/")
    stem, dot, ext = tail.partition(".")
    base = f"{head}/{stem}" if head else stem
    return base, f"{dot}{ext}"


def _now() -> datetime:
    global _last
    with _lock:
        now = datetime.now(UTC)
        # Two calls in the same microsecond (or a clock step back) must still give distinct, ordered keys.
        if _last is not None and now <= _last:
            now = _last + timedelta(microseconds=1)
        _last = now
        return now


def new_version_key(name: str, when: datetime | None = None) -> str:
    """``results/metrics.json`` -> ``results/metrics__20261124T101500123456Z.json``."""
    base, ext = _split(name)
    stamp = (when.astimezone(UTC) if when else _now()).strftime(_STAMP)
    return f"{base}__{stamp}{ext}"


def version_pattern(name: str) -> re.Pattern[str]:
    """Regex matching every version key of ``name``."""
    base, ext = _split(name)
    return re.compile(re.escape(base) + "__(" + _STAMP_RE + ")" + re.escape(ext))


def parse_version_key(key: str) -> str | None:
    """The timestamp part of a version key, or None."""
    m = re.search("__(" + _STAMP_RE + r")(\.[^/]*)?$", key)
    return m.group(1) if m else None
