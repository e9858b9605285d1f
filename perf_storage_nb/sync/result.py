"""What a sync or copy did (or, in a dry run, would do): one row per changed key, counts, and failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Self

from ..display import DisplayObject, badge, code, esc, head_line, human_size, muted, table, tone_of
from ..errors import StorageError

__all__ = ["Action", "KeyChange", "SyncResult"]

Action = Literal["added", "updated", "deleted", "failed"]
_MARK = {"added": "+", "updated": "~", "deleted": "-", "failed": "!"}
#: each action in the tone of the diff word it means (added / changed / removed / failed)
_TONE = {"added": tone_of("added"), "updated": tone_of("changed"), "deleted": tone_of("removed"), "failed": "bad"}
HTML_ROWS = 200  # changes shown in the HTML table (the text twin and to_dict() have them all)


@dataclass(frozen=True)
class KeyChange:
    """One key the sync added, updated or deleted at the destination, or failed to."""

    action: Action
    session: str
    target: str
    key: str  # '' when a whole target failed before its keys were known
    kind: str = ""
    size: int | None = None
    error: str = ""
    source_key: str = ""  # the key at the source when a copy renames it

    @property
    def address(self) -> str:
        """``SESSION/TARGET:KEY`` at the destination."""
        return f"{self.session}/{self.target}" + (f":{self.key}" if self.key else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        out: dict[str, Any] = {"action": self.action, "session": self.session, "target": self.target, "key": self.key}
        if self.kind:
            out["kind"] = self.kind
        if self.size is not None:
            out["size"] = self.size
        if self.source_key and self.source_key != self.key:
            out["source_key"] = self.source_key
        if self.error:
            out["error"] = self.error
        return out

    def line(self) -> str:
        """One text line: ``+ s/t:key (json, 1.2 kB)`` or ``! s/t:key: the error``."""
        if self.action == "failed":
            return f"! {self.address}: {self.error}"
        what = ", ".join(p for p in (self.kind, human_size(self.size) if self.size is not None else "") if p)
        return f"{_MARK[self.action]} {self.address}" + (f" ({what})" if what else "")


@dataclass(frozen=True)
class SyncResult(DisplayObject):
    """Outcome of :func:`~perf_storage_nb.sync.sync` or :func:`~perf_storage_nb.sync.copy`.

    ``changes`` lists every key added, updated or deleted at the destination (in a dry run: that would be) and
    every failure; ``unchanged`` counts keys already equal by content hash. A failed key is never counted done.
    """

    source: str
    destination: str
    changes: tuple[KeyChange, ...] = ()
    unchanged: int = 0
    targets: int = 0
    dry_run: bool = False
    bytes_copied: int = 0
    reads: dict[str, int] = field(default_factory=dict)  # values read to learn a hash: {"source": n, "destination": n}
    notes: tuple[str, ...] = ()  # what went wrong without failing a key (e.g. hashes not recorded)

    def _count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def added(self) -> int:
        """Keys added at the destination."""
        return self._count("added")

    @property
    def updated(self) -> int:
        """Keys whose destination value was replaced."""
        return self._count("updated")

    @property
    def deleted(self) -> int:
        """Keys deleted at the destination (``delete=True``)."""
        return self._count("deleted")

    @property
    def failed(self) -> list[KeyChange]:
        """Failures (per key, or per target when a target could not be read)."""
        return [c for c in self.changes if c.action == "failed"]

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_errors(self) -> Self:
        """Raise a StorageError naming every failed key; return self when none failed."""
        failed = self.failed
        if failed:
            shown = "; ".join(f"{c.address}: {c.error}" for c in failed[:5])
            more = f"; and {len(failed) - 5} more" if len(failed) > 5 else ""
            raise StorageError(f"sync: {len(failed)} key(s) failed: {shown}{more}")
        return self

    def __repr__(self) -> str:
        return (
            f"SyncResult(added={self.added}, updated={self.updated}, deleted={self.deleted}, "
            f"unchanged={self.unchanged}, failed={len(self.failed)}{', dry_run=True' if self.dry_run else ''})"
        )

    def summary(self) -> str:
        """One line: where from, where to, counts."""
        verb = "would copy" if self.dry_run else "copied"
        counts = (
            f"{self.added} added, {self.updated} updated, {self.deleted} deleted, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed"
        )
        copied = f"; {verb} {human_size(self.bytes_copied)}" if self.bytes_copied else ""
        dry = " (dry run: nothing written)" if self.dry_run else ""
        n = self.targets
        return f"{self.source} -> {self.destination}: {n} target{'' if n == 1 else 's'}, {counts}{copied}{dry}"

    def to_text(self, limit: int | None = None) -> str:
        """The summary and one line per change (``limit``: at most that many lines of changes)."""
        rows = list(self.changes)
        shown = rows if limit is None else rows[:limit]
        lines = [self.summary(), *(f"  note: {n}" for n in self.notes), *(f"  {c.line()}" for c in shown)]
        if len(shown) < len(rows):
            lines.append(f"  … {len(rows) - len(shown)} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the counts and every change."""
        return {
            "source": self.source,
            "destination": self.destination,
            "dry_run": self.dry_run,
            "targets": self.targets,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "failed": len(self.failed),
            "bytes_copied": self.bytes_copied,
            "reads": dict(self.reads),
            "notes": list(self.notes),
            "changes": [c.to_dict() for c in self.changes],
        }

    def _text_twin(self) -> str:
        return self.to_text(limit=HTML_ROWS)

    def _html_body(self) -> str:
        counts = [(a, self._count(a)) for a in ("added", "updated", "deleted", "failed")]
        badges = "".join(badge(f"{n} {a}", _TONE[a]) for a, n in counts if n or a != "failed")
        same = muted(f"{self.unchanged} unchanged") + (muted(" · dry run: nothing written") if self.dry_run else "")
        same += "".join(muted(esc(f"note: {n}"), "div") for n in self.notes)
        head = head_line(f"{code(self.source)} → {code(self.destination)}", badges + same)
        if not self.changes:
            return f"<div class='psnb-sync'>{head}{muted('nothing to copy', 'div')}</div>"
        rows = [
            [
                badge(c.action, _TONE[c.action]),
                code(c.address),
                esc(c.kind),
                esc(human_size(c.size)) if c.size is not None else "",
                esc(c.error),
            ]
            for c in self.changes[:HTML_ROWS]
        ]
        more = len(self.changes) - HTML_ROWS
        tail = muted(f"… {more} more", "div") if more > 0 else ""
        return (
            f"<div class='psnb-sync'>{head}{table(['', 'key', 'kind', 'size', 'error'], rows, right=[3])}{tail}</div>"
        )
