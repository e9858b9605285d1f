"""Plain-text formatting shared by the displays: sizes, clipped values, counted nouns."""

from __future__ import annotations

import json

__all__ = ["clip", "human_size", "plural", "short", "short_labels", "value_size"]


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


def _common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def short_labels(a: str, b: str, limit: int = 32) -> tuple[str, str]:
    """Two labels cut to what tells them apart (``…/run1:bench.json`` and ``…/run2:bench.json``), when long.

    The common head is dropped up to its last ``/``; what is left, if longer than ``limit``, keeps its end
    (from a ``/`` where one is near), or, when both ends are the same, the part that differs. Labels within
    ``limit`` characters, equal labels, and labels no cut tells apart are returned as they are.
    """
    if (len(a) <= limit and len(b) <= limit) or a == b:
        return a, b
    head = max(0, a.rfind("/", 0, _common_prefix(a, b)))
    rest_a, rest_b = a[head:], b[head:]
    lead = "…" if head else ""
    ends = _tail(rest_a, limit, lead), _tail(rest_b, limit, lead)
    if ends[0] != ends[1]:
        return ends
    same_end = _common_prefix(rest_a[::-1], rest_b[::-1])
    middles = _middle(rest_a, same_end, limit, lead), _middle(rest_b, same_end, limit, lead)
    return middles if middles[0] != middles[1] else (a, b)


def _tail(text: str, limit: int, lead: str) -> str:
    if len(lead) + len(text) <= limit:
        return lead + text
    kept = text[-(limit - 1) :]
    slash = kept.find("/")
    # Start at a path separator when one leaves a readable tail: "…/bbbb:results/metrics.json".
    return "…" + (kept[slash:] if 0 <= slash < limit // 2 else kept)


def _middle(text: str, same_end: int, limit: int, lead: str) -> str:
    """The part of ``text`` before its ``same_end`` last characters, then as much of those as fits."""
    differs, end = text[: len(text) - same_end], text[len(text) - same_end :]
    room = limit - len(lead) - len(differs) - 1
    if room > 0:
        return f"{lead}{differs}…{end[-room:]}"
    return lead + differs[: max(1, limit - len(lead) - 1)] + "…"
