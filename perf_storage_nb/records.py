"""Value types the contract returns: KeyInfo (metadata of one key) and BulkResult (per-key outcome of a bulk call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from .display.html import code, fields_table
from .errors import StorageError
from .kinds import Kind

__all__ = ["BulkResult", "KeyInfo"]


@dataclass(frozen=True)
class KeyInfo:
    """What a backend knows about one stored key.

    ``size`` and ``hash`` describe the value's canonical form, the same on every backend: the bytes of
    text (UTF-8) and bytes values, the compact JSON encoding for JSON (sorted keys for the hash), so equal
    values have equal sizes and hashes everywhere and ``save``, ``show``, ``ls -l`` and ``info`` agree.
    ``stored_size`` is what the backend keeps, where it knows (pretty-printed JSON on ``local``).
    """

    key: str
    kind: Kind
    size: int
    hash: str
    modified: datetime | None = None
    stored_size: int | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"KeyInfo(key={self.key!r}, kind={self.kind!r}, size={self.size}, hash={self.hash[:12]!r})"

    def _repr_html_(self) -> str:
        rows = [("key", self.key), ("kind", self.kind), ("size", f"{self.size:,} B"), ("hash", self.hash)]
        if self.modified is not None:
            rows.append(("modified", self.modified.isoformat()))
        return fields_table((name, code(value)) for name, value in rows)


@dataclass
class BulkResult:
    """Per-key outcome of a bulk call: ``ok`` maps key -> value (or True), ``errors`` key -> exception."""

    ok: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """Keys that failed, sorted."""
        return sorted(self.errors)

    def raise_for_errors(self) -> Self:
        """Raise a StorageError listing every failed key; return self when none failed."""
        if self.errors:
            lines = "; ".join(f"{k}: {e}" for k, e in sorted(self.errors.items()))
            raise StorageError(f"{len(self.errors)} of {len(self.ok) + len(self.errors)} keys failed: {lines}")
        return self

    def __bool__(self) -> bool:
        return not self.errors

    def __repr__(self) -> str:
        return f"BulkResult(ok={len(self.ok)}, failed={len(self.errors)})"
