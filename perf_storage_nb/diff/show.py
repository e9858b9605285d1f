"""One-line, deterministic renderings of diffed values: sets sorted, bytes summarised, capped, without recursion.

:func:`show_value` is ``json.dumps(stable(value), ensure_ascii=False, default=repr)`` cut to :data:`SHOW_MAX`
characters, but written out piece by piece with an explicit stack: it stops as soon as the cap is reached
(a 50 MB value costs what its first 200 characters cost) and a value nested hundreds of levels deep cannot
exceed the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from ..display import clip

__all__ = ["SHOW_MAX", "show_value", "stable"]

SHOW_MAX = 200  # characters of a value shown in one table cell / text line

_CONTAINERS = (dict, list, tuple, set, frozenset, bytes, bytearray)


def stable(value: Any) -> Any:
    """``value`` with sets sorted and bytes summarised, so its rendering never depends on the hash seed."""
    # Set iteration order depends on the hash seed; sort by repr so output never does.
    if isinstance(value, (set, frozenset)):
        return sorted((stable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [stable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def _scalar(value: Any) -> str:
    """What the C JSON encoder writes for a value that is not a container (``default=repr`` for the rest)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return json.dumps(repr(value), ensure_ascii=False)


def _pieces(value: Any) -> Iterator[str]:
    """The text of ``json.dumps(stable(value), ensure_ascii=False, default=repr)``, piece by piece."""
    stack: list[Iterator[Any]] = [iter([("", None, value)])]
    closers: list[tuple[str, int]] = [("", 0)]  # per open level: its closing bracket, the container's id
    on_path: set[int] = set()  # the containers being written: one that contains itself is cut, not followed
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            closer, ident = closers.pop()
            on_path.discard(ident)
            yield closer
            continue
        sep, key, node = item
        yield sep
        if key is not None:
            yield json.dumps(key, ensure_ascii=False) + ": "
        if isinstance(node, (bytes, bytearray)):
            yield _scalar(f"<{len(node)} bytes>")
        elif isinstance(node, (dict, list, tuple, set, frozenset)):
            if id(node) in on_path:
                yield _scalar("<cycle>")
                continue
            if isinstance(node, dict):
                entries: Any = {str(k): v for k, v in node.items()}.items()
                opener, closer = "{", "}"
            else:
                members = sorted((stable(v) for v in node), key=repr) if isinstance(node, (set, frozenset)) else node
                entries = ((None, v) for v in members)
                opener, closer = "[", "]"
            yield opener
            on_path.add(id(node))
            stack.append((("" if i == 0 else ", ", k, v) for i, (k, v) in enumerate(entries)))
            closers.append((closer, id(node)))
        else:
            yield _scalar(node)


_END: Any = object()


def show_value(value: Any) -> str:
    """Deterministic one-line rendering of a value (sets sorted, JSON-like, capped at :data:`SHOW_MAX`)."""
    out: list[str] = []
    size = 0
    for piece in _pieces(value):
        out.append(piece)
        size += len(piece)
        if size > SHOW_MAX:
            break  # enough to know it is cut
    return clip("".join(out), SHOW_MAX)
