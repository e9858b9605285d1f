"""HTML building blocks shared by every display: escaping, badges, tables, notes and code blocks.

Every piece of user data goes through :func:`esc`. Styles are inline (colours from :mod:`.theme`), not a
stylesheet: a fragment then looks the same in a notebook output, inside a widget, in a saved page and in a
static export; JupyterLab's own table rules (centred tables, right-aligned cells) cannot override it; and
where JupyterLab sanitises an untrusted output (it drops ``<style>`` and ``var()`` values) the layout parts
(padding, borders, alignment) survive, and :func:`~.theme.css` gives surfaces, borders and fonts a plain
fallback it keeps.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .theme import (
    BORDER,
    CODE_BG,
    CODE_FONT,
    HEADER_BG,
    TEXT,
    TEXT_MUTED,
    TONES,
    ZEBRA_BG,
    Tone,
    css,
    tint,
    tone_of,
)

__all__ = [
    "CODE_STYLE",
    "PREVIEW_MAX_HEIGHT",
    "TEXT_BLOCK",
    "Cell",
    "Section",
    "badge",
    "code",
    "esc",
    "fields_table",
    "head_line",
    "html_page",
    "muted",
    "note",
    "pre",
    "status_badge",
    "table",
    "text_lines",
]

#: monospace at table size (listings, trees, previews)
CODE_STYLE = f"{css('font-family', CODE_FONT)};font-size:12px"
#: a block of text kept as written: left-aligned (JupyterLab right-aligns table cells), whitespace preserved
TEXT_BLOCK = f"text-align:left;white-space:pre-wrap;word-break:break-word;margin:0;{CODE_STYLE}"
PREVIEW_MAX_HEIGHT = 420  # pixels of a preview's text before it scrolls
_PRE = f"{TEXT_BLOCK};padding:6px;{css('background', CODE_BG)};color:{TEXT}"
PRE_STYLE = f"{_PRE};max-height:{PREVIEW_MAX_HEIGHT}px;overflow:auto"
_BADGE = (
    "display:inline-block;white-space:nowrap;border:1px solid;border-radius:8px;padding:0 6px;margin-right:4px;"
    f"font-size:11px;color:{TEXT}"
)
_TABLE = f"border-collapse:collapse;margin:2px 0;font-size:12px;color:{TEXT}"
_TH = f"padding:2px 8px;text-align:left;{css('background', HEADER_BG)};{css('border-bottom', f'1px solid {BORDER}')}"
_TD = "padding:1px 8px;vertical-align:top;text-align:"  # + left or right
_ROW = css("border-bottom", f"1px solid {BORDER}")
_NOTE_RULE = css("border-left", f"3px solid {TONES['warn']}")


def esc(value: object) -> str:
    """``str(value)`` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def code(value: object) -> str:
    """``<code>`` around the escaped text."""
    return f"<code>{esc(value)}</code>"


def muted(inner: str, tag: str = "span") -> str:
    """Secondary text (``inner`` is HTML) in the theme's muted colour."""
    return f"<{tag} style='color:{TEXT_MUTED}'>{inner}</{tag}>"


def note(text: str, css_class: str = "psnb-truncated") -> str:
    """An italic remark (truncation, a value not shown) marked with a warn-toned rule."""
    return (
        f"<div class='{css_class}' style='color:{TEXT_MUTED};font-style:italic;margin:4px 0;padding-left:6px;"
        f"{_NOTE_RULE}'>{esc(text)}</div>"
    )


def pre(text: str, *, scroll: bool = True) -> str:
    """A code block of escaped text; ``scroll``: at most PREVIEW_MAX_HEIGHT pixels high, scrolling beyond."""
    return f"<pre style='{PRE_STYLE if scroll else _PRE}'>{esc(text)}</pre>"


_COLUMN = re.compile(r"^(\s*\S+(?: \S+)*\s{2,})\S")  # "  name      description": where the description starts


def text_lines(text: str) -> str:
    """Text in the code font that grows with it (no scrolling), wrapped lines hanging under their column.

    A line like ``"  show        Render a stored value ..."`` wraps under "Render", not under column 0.
    """
    rows = []
    for line in text.split("\n"):
        found = _COLUMN.match(line)
        hang = len(found.group(1)) if found else len(line) - len(line.lstrip(" "))
        # ch is exact in a monospace font; sanitisers drop it, so 0.6 em (a typical monospace advance) comes first.
        em = f"{hang * 0.6:g}em"
        indent = f"padding-left:{em};padding-left:{hang}ch;text-indent:-{em};text-indent:-{hang}ch"
        style = f" style='{indent}'" if hang else ""
        rows.append(f"<div{style}>{esc(line) or '&#8203;'}</div>")  # an empty line keeps its height
    return f"<div class='psnb-text' style='{_PRE}'>{''.join(rows)}</div>"


def badge(text: str, tone: Tone) -> str:
    """A small rounded label: the theme's text colour on a tint of ``tone``, bordered in ``tone``."""
    return (
        f"<span class='psnb-badge psnb-{tone}' style='{_BADGE};{css('border-color', TONES[tone])};"
        f"{css('background', tint(tone))}'>{esc(text)}</span>"
    )


def status_badge(status: str, count: int | None = None) -> str:
    """Badge of a status word in its tone; with ``count``, reads ``"3 failed"``."""
    return badge(status if count is None else f"{count} {status}", tone_of(status))


def head_line(*parts: str) -> str:
    """The line above a result table: title, labels, badges (HTML parts joined by spaces; each wraps as one)."""
    inner = " ".join(f"<span style='display:inline-block'>{p}</span>" for p in parts if p)
    return f"<div style='margin-bottom:4px;color:{TEXT}'>{inner}</div>"


@dataclass(frozen=True)
class Cell:
    """A table cell with HTML content and, unlike a plain string cell, its own span, alignment or tooltip.

    As a header, ``html`` is used as it is (a plain string header is escaped) and ``title`` (plain text) is the
    tooltip, e.g. the full text of a shortened label.
    """

    html: str
    colspan: int = 1
    align: Literal["left", "right"] = "left"
    title: str = ""


@dataclass(frozen=True)
class Section:
    """A full-width row that starts a group of rows (e.g. one stored key of a snapshot diff)."""

    html: str


def _attrs(cell: Cell) -> str:
    span = f" colspan='{cell.colspan}'" if cell.colspan > 1 else ""
    return span + (f" title='{esc(cell.title)}'" if cell.title else "")


def _cell(cell: str | Cell, align: str) -> str:
    if isinstance(cell, Cell):
        return f"<td{_attrs(cell)} style='{_TD}{cell.align}'>{cell.html}</td>"
    return f"<td style='{_TD}{align}'>{cell}</td>"


def _header(cell: str | Cell) -> str:
    if isinstance(cell, Cell):
        return f"<th{_attrs(cell)} style='{_TH}'>{cell.html}</th>"
    return f"<th style='{_TH}'>{esc(cell)}</th>"


def table(
    headers: Sequence[str | Cell],
    rows: Iterable[Sequence[str | Cell] | Section],
    *,
    right: Iterable[int] = (),
    css_class: str = "psnb-table",
    mono: bool = False,
) -> str:
    """A result table: header row, ruled and striped body; cells are HTML (escape them with :func:`esc`).

    Headers are plain text, or :class:`Cell` (HTML and a tooltip). ``right``: indexes of right-aligned
    (numeric) columns; ``mono``: the whole table in the code font.
    """
    aligned = set(right)
    style = _TABLE + (f";{css('font-family', CODE_FONT)}" if mono else "")
    head = "".join(_header(h) for h in headers)
    body: list[str] = []
    stripe = 0
    for row in rows:
        if isinstance(row, Section):
            body.append(f"<tr style='{_ROW}'><th colspan='{len(headers)}' style='{_TH}'>{row.html}</th></tr>")
            stripe = 0
            continue
        zebra = f";{css('background', ZEBRA_BG)}" if stripe % 2 else ""
        stripe += 1
        cells = "".join(_cell(c, "right" if i in aligned else "left") for i, c in enumerate(row))
        body.append(f"<tr style='{_ROW}{zebra}'>{cells}</tr>")
    return (
        f"<table class='{css_class}' style='{style}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def fields_table(fields: Iterable[tuple[str, str]], css_class: str = "psnb-info") -> str:
    """A two-column name -> value table (values are HTML), names as row headers."""
    rows = "".join(
        f"<tr style='{_ROW}'><th style='{_TH}'>{esc(name)}</th><td style='{_TD}left'>{value}</td></tr>"
        for name, value in fields
    )
    return f"<table class='{css_class}' style='{_TABLE}'>{rows}</table>"


def html_page(title: str, body: str) -> str:
    """A standalone HTML document around ``body`` (saved reports)."""
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{esc(title)}</title></head>"
        f"<body>{body}</body></html>\n"
    )
