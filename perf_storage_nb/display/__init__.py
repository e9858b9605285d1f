"""Displaying, apart from computing: one display base, one palette, shared HTML helpers, previews and listings.

The lowest layer that draws anything: it knows values and strings, never storages or backends, so the base
contract, the library features and the notebook face all use it.
"""

from __future__ import annotations

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
