"""What an export wrote: the report folder, its start page and counts; displays itself like every result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..display import DisplayObject, code, esc, head_line, muted, plural

__all__ = ["ExportResult"]


@dataclass(frozen=True)
class ExportResult(DisplayObject):
    """A static report of ``session`` (against ``against``) written to ``folder``."""

    folder: str
    session: str
    against: str | None = None
    targets: int = 0
    keys: int = 0
    pages: int = 0
    regressions: int = 0
    notes: tuple[str, ...] = ()

    @property
    def index(self) -> Path:
        """The start page: open it in any browser (``file://``)."""
        return Path(self.folder) / "index.html"

    def __repr__(self) -> str:
        return f"ExportResult({self.folder!r}, session={self.session!r}, pages={self.pages})"

    def summary(self) -> str:
        """One line: what, where, how much."""
        what = self.session + (f" against {self.against}" if self.against else "")
        worse = f", {plural(self.regressions, 'regression')}" if self.against else ""
        counts = f"{plural(self.targets, 'target')}, {plural(self.keys, 'key')}, {plural(self.pages, 'page')}"
        return f"report of {what}: {counts}{worse} -> {self.index}"

    def to_text(self) -> str:
        """The summary and any notes (keys not compared and why)."""
        return "\n".join([self.summary(), *(f"  note: {n}" for n in self.notes)])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {
            "folder": self.folder,
            "index": str(self.index),
            "session": self.session,
            "against": self.against,
            "targets": self.targets,
            "keys": self.keys,
            "pages": self.pages,
            "regressions": self.regressions,
            "notes": list(self.notes),
        }

    def _text_twin(self) -> str:
        return self.to_text()

    def _html_body(self) -> str:
        notes = "".join(muted(esc(n), "div") for n in self.notes)
        return (
            f"<div class='psnb-export'>{head_line(esc(self.summary().split(' -> ')[0]), code(self.index))}{notes}</div>"
        )
