"""The local backend: human-readable files under ``<root>/<session>/<target>/<key>``, written atomically."""

from __future__ import annotations

from .storage import DEFAULT_ROOT, LocalStorage

__all__ = ["DEFAULT_ROOT", "LocalStorage"]
