"""A JSON value as a collapsible ``<details>`` tree, coloured like code in the editor's theme."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .html import CODE_STYLE, esc, muted, note
from .theme import BORDER, SYNTAX, css

__all__ = ["json_tree_html"]


_GUIDE = css("border-left", f"1px dotted {BORDER}")  # the line down a container's members


def _scalar_html(value: object) -> str:
    if isinstance(value, str):
        return f"<span style='color:{SYNTAX['string']}'>{esc(json.dumps(value, ensure_ascii=False))}</span>"
    if value is None or isinstance(value, bool):
        return f"<span style='color:{SYNTAX['atom']}'>{esc(json.dumps(value))}</span>"
    if isinstance(value, (int, float)):
        return f"<span style='color:{SYNTAX['number']}'>{esc(repr(value))}</span>"
    return f"<span>{esc(repr(value))}</span>"


def json_tree_html(value: Any, *, max_bytes: int = 1_000_000, open_depth: int = 2) -> str:
    """A readable, collapsible tree (``<details>``) of a JSON value; stops with a note past ``max_bytes``."""
    parts: list[str] = []
    budget = [max(256, max_bytes)]
    cut = [0]

    def emit(s: str) -> bool:
        if budget[0] <= 0:
            return False
        budget[0] -= len(s)
        parts.append(s)
        return True

    def node(label: str, item: Any, depth: int) -> None:
        if budget[0] <= 0:
            cut[0] += 1
            return
        head = f"<span style='color:{SYNTAX['key']}'>{esc(label)}</span>: " if label else ""
        if isinstance(item, (dict, list, tuple)):
            is_dict = isinstance(item, dict)
            n = len(item)
            brace = ("{", "}") if is_dict else ("[", "]")
            noun = ("key" if is_dict else "item") + ("" if n == 1 else "s")
            if n == 0:
                emit(f"<div>{head}{muted(brace[0] + brace[1])}</div>")
                return
            emit(
                f"<details{' open' if depth < open_depth else ''}><summary>{head}"
                f"{muted(f'{brace[0]}{n} {noun}{brace[1]}')}</summary>"
                f"<div style='margin-left:1.2em;{_GUIDE};padding-left:.5em'>"
            )
            children: Iterable[tuple[Any, Any]] = item.items() if isinstance(item, dict) else enumerate(item)
            for k, v in children:
                node(str(k) if is_dict else f"[{k}]", v, depth + 1)
            parts.append("</div></details>")  # closing tags always fit: the tree stays well formed
        else:
            emit(f"<div>{head}{_scalar_html(item)}</div>")

    node("", value, 0)
    body = "".join(parts)
    more = (
        note(f"… truncated: {cut[0]:,} more node(s) not shown (raise preview_max_bytes to see more)") if cut[0] else ""
    )
    return f"<div class='psnb-json' style='{CODE_STYLE}'>{body}</div>{more}"
