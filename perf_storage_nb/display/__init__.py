"""Displaying, apart from computing: one display base, one palette, shared HTML helpers, previews and listings.

The lowest layer that draws anything: it knows values and strings, never storages or backends, so the base
contract, the library features and the notebook face all use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import DisplayObject
    from .html import (
        Cell,
        Section,
        badge,
        code,
        esc,
        fields_table,
        head_line,
        html_page,
        muted,
        note,
        pre,
        status_badge,
        table,
    )
    from .json_tree import json_tree_html
    from .listings import KeyListing, RichText, StorageTree
    from .markdown import markdown_html
    from .previews import StoredValue, iframe_srcdoc, preview_html, preview_text
    from .sniff import image_dims, image_type, looks_like_html, page_title, text_class
    from .text import clip, human_size, plural, short, value_size
    from .theme import STATUS_TONES, TONES, Tone, tint, tone_of

#: public name -> the module that defines it. Imported on first use (PEP 562): the storage contract needs
#: only ``html``'s escaping helpers, and ``import perf_storage_nb`` (and the CLI) should not pay for previews,
#: listings and sniffing it never shows.
_WHERE: dict[str, str] = {
    "Cell": "html",
    "DisplayObject": "base",
    "KeyListing": "listings",
    "RichText": "listings",
    "STATUS_TONES": "theme",
    "Section": "html",
    "StorageTree": "listings",
    "StoredValue": "previews",
    "TONES": "theme",
    "Tone": "theme",
    "badge": "html",
    "clip": "text",
    "code": "html",
    "esc": "html",
    "fields_table": "html",
    "head_line": "html",
    "html_page": "html",
    "human_size": "text",
    "iframe_srcdoc": "previews",
    "image_dims": "sniff",
    "image_type": "sniff",
    "json_tree_html": "json_tree",
    "looks_like_html": "sniff",
    "markdown_html": "markdown",
    "muted": "html",
    "note": "html",
    "page_title": "sniff",
    "plural": "text",
    "pre": "html",
    "preview_html": "previews",
    "preview_text": "previews",
    "short": "text",
    "status_badge": "html",
    "table": "html",
    "text_class": "sniff",
    "tint": "theme",
    "tone_of": "theme",
    "value_size": "text",
}


__all__ = [
    "STATUS_TONES",
    "TONES",
    "Cell",
    "DisplayObject",
    "KeyListing",
    "RichText",
    "Section",
    "StorageTree",
    "StoredValue",
    "Tone",
    "badge",
    "clip",
    "code",
    "esc",
    "fields_table",
    "head_line",
    "html_page",
    "human_size",
    "iframe_srcdoc",
    "image_dims",
    "image_type",
    "json_tree_html",
    "looks_like_html",
    "markdown_html",
    "muted",
    "note",
    "page_title",
    "plural",
    "pre",
    "preview_html",
    "preview_text",
    "short",
    "status_badge",
    "table",
    "text_class",
    "tint",
    "tone_of",
    "value_size",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
