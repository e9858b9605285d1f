"""Plain-text formatting shared by the displays: sizes, clipped values, counted nouns."""

from __future__ import annotations

import json

__all__ = ["clip", "human_size", "plural", "short", "value_size"]


def human_size(n: int) -> str:
    """Bytes as a short human string: ``312 B``, ``12.3 kB``, ``4.0 MB``."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n_f = n / 1000.0
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"  # pragma: no cover - loop always returns


def value_size(kind: str, value: object) -> int:
    """Stored size of a value in bytes: raw bytes, UTF-8 text, or compact JSON for ``kind == "json"``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str) and kind != "json":
        return len(value.encode("utf-8", "surrogatepass"))
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        return len(repr(value))


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(value: object, limit: int = 80) -> str:
    """A value as short text: a string as it is, anything else as its repr, clipped to ``limit``."""
    return clip(value if isinstance(value, str) else repr(value), limit)


def plural(n: int, noun: str) -> str:
    """``1 key``, ``2 keys``, ``1,000 keys``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
