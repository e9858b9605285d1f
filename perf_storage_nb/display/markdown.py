"""Markdown to safe HTML with markdown-it-py (CommonMark plus tables), raw HTML off.

markdown-it-py is imported on the first render, so importing the package stays light. Safety: raw HTML in
the text is escaped, never passed through; links with a dangerous scheme (``javascript:``, ``vbscript:``,
``file:``, ``data:``) stay plain text; images become links, so a preview never fetches anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, override

from .html import esc

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["markdown_html"]

_LINK_ATTRS = {"target": "_blank", "rel": "noopener noreferrer"}


def markdown_html(text: str) -> str:
    """Render Markdown (CommonMark and tables) as HTML; raw HTML is escaped and unsafe links are not links."""
    return str(_renderer().render(text))


@functools.cache
def _renderer() -> MarkdownIt:
    from markdown_it import MarkdownIt  # lazy: only a Markdown preview needs it
    from markdown_it.common.normalize_url import validateLink

    class SafeMarkdown(MarkdownIt):
        @override
        def validateLink(self, url: str) -> bool:
            # The default lets data:image/... through (for <img>); ours never renders images, so no data: at all.
            return validateLink(url) and not url.strip().lower().startswith("data:")

    md = SafeMarkdown("commonmark", {"html": False}).enable("table")
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image_as_link)
    return md


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    for name, value in _LINK_ATTRS.items():
        tokens[idx].attrSet(name, value)
    return str(renderer.renderToken(tokens, idx, options, env))


def _image_as_link(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # A link instead of <img>: no external fetch from a preview (tracking pixels, large downloads).
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    label = str(renderer.renderInlineAsText(token.children, options, env)) or src
    attrs = "".join(f' {name}="{value}"' for name, value in _LINK_ATTRS.items())
    return f'<a href="{esc(src)}"{attrs}>{esc(label)}</a>'
