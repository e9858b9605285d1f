"""Pure helpers of the storage browser (no widgets): key filter, paging, variable names, the static listing."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

from ..addressing import filter_keys  # one filter rule for the browser box and `%storage ls PATTERN`
from ..display import clip, code, esc
from ..display.html import muted

__all__ = ["filter_keys", "one_line", "page_of", "pane", "snapshot_html", "var_name_for"]


def page_of(items: Sequence[str], page: int, size: int) -> tuple[list[str], int, int]:
    """``(items of the page, clamped page index, page count)``; an empty list has one empty page."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return list(items[page * size : (page + 1) * size]), page, pages


def var_name_for(key: str) -> str:
    """A Python identifier derived from ``key`` (``runs/a-1.json`` -> ``a_1``)."""
    stem = key.rsplit("/", 1)[-1].split(".", 1)[0]
    name = re.sub(r"\W+", "_", stem).strip("_") or "value"
    if name[0].isdigit():
        name = f"v_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def pane(html: str) -> str:
    """``html`` for a pane of the browser: ipywidgets gives HTML widgets the line height of a control (28 px),
    which spreads trees, tables and text; a pane reads at the notebook's own spacing."""
    return f"<div class='psnb-pane' style='line-height:1.4'>{html}</div>"


def one_line(exc: BaseException) -> str:
    """``"Type: first line of the message"``, at most 300 characters (the browser's status line)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return clip(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 300)


def snapshot_html(
    backend: str,
    sessions: Sequence[str],
    session: str | None,
    targets: Sequence[str],
    target: str | None,
    keys: Sequence[str],
    total: int,
    selected: str | None = None,
) -> str:
    """Static HTML listing shown where widgets cannot render (GitHub, nbviewer, nbconvert)."""
    where = " / ".join(code(p) for p in (backend, session, target) if p)
    rows = "".join(f"<li><b>{code(k)}</b></li>" if k == selected else f"<li>{code(k)}</li>" for k in keys)
    more = f"<li>… {total - len(keys):,} more</li>" if total > len(keys) else ""
    return (
        "<div class='psnb-browser-snapshot'>"
        f"<p><b>StorageBrowser</b> {where} — {len(sessions):,} session(s), {len(targets):,} target(s) in this "
        f"session, {total:,} key(s) in this target</p>"
        f"<p>sessions: {esc(', '.join(sessions[:20]))}{' …' if len(sessions) > 20 else ''}</p>"
        f"<ul>{rows}{more}</ul>"
        f"<p>{muted('<i>Static snapshot; run the notebook to browse interactively.</i>')}</p></div>"
    )
