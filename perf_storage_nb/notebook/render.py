"""Former home of the rendering helpers; they live in :mod:`perf_storage_nb.display` now (this re-exports them)."""

from __future__ import annotations

from ..display import (
    KeyListing,
    RichText,
    StorageTree,
    StoredValue,
    human_size,
    iframe_srcdoc,
    image_type,
    json_tree_html,
    looks_like_html,
    markdown_html,
    preview_html,
    preview_text,
    value_size,
)
from .tree import tree_from_storage

__all__ = [
    "KeyListing",
    "RichText",
    "StorageTree",
    "StoredValue",
    "human_size",
    "iframe_srcdoc",
    "image_type",
    "json_tree_html",
    "looks_like_html",
    "markdown_html",
    "preview_html",
    "preview_text",
    "tree_from_storage",
    "value_size",
]
