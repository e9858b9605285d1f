"""What a diff found: :class:`Change` rows and the :class:`DiffResult` that counts and displays them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..display import Cell, DisplayObject, Section, code, esc, head_line, muted, status_badge, table
from ..display.html import TEXT_BLOCK
from ..display.text import short_labels
from ..display.theme import TONES, css, tint
from .show import SHOW_MAX, show_value, stable

__all__ = ["ABSENT", "SHOW_MAX", "Change", "ChangeKind", "DiffResult", "show_value", "sort_changes", "stable"]

ChangeKind = Literal["added", "removed", "changed"]

_KIND_ORDER = {"removed": 0, "added": 1, "changed": 2}
_MARK = {"added": "+", "removed": "-", "changed": "~"}

#: a value that is not there (a missing key), as opposed to a stored None
ABSENT: Any = object()


@dataclass(frozen=True)
class Change:
    """One row of a diff: where, what kind, the value before and after, and an optional text diff."""

    group: str  # "session/target/key" for snapshot diffs, "" for value diffs
    path: str  # deepdiff-style path inside the value, e.g. root['a'][0]
    kind: ChangeKind
    before: Any = None
    after: Any = None
    note: str = ""  # e.g. "+12.5%" or "kind text -> json"
    text_diff: tuple[str, ...] = ()
    sort_key: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def where(self) -> str:
        """group and path joined for display."""
        if self.group and self.path in ("", "root"):
            return self.group
        return f"{self.group} {self.path}".strip()


def sort_changes(rows: Iterable[Change]) -> tuple[Change, ...]:
    """Rows in display order: by group, path, kind, then values."""
    # The value tie-breakers make rows with equal paths (set members) independent of deepdiff's iteration order.
    return tuple(
        sorted(
            rows,
            key=lambda c: (c.group, c.sort_key, _KIND_ORDER[c.kind], c.path, show_value(c.before), show_value(c.after)),
        )
    )


@dataclass(frozen=True)
class DiffResult(DisplayObject):
    """Rows of a diff with added/removed/changed counts, a text twin and our own HTML table."""

    changes: tuple[Change, ...]
    labels: tuple[str, str] = ("before", "after")
    tolerated: int = 0  # numeric changes hidden because they were within tolerance
    unchanged: int = 0  # keys compared and found equal (snapshot diffs)

    @property
    def added(self) -> int:
        """Number of added rows."""
        return sum(1 for c in self.changes if c.kind == "added")

    @property
    def removed(self) -> int:
        """Number of removed rows."""
        return sum(1 for c in self.changes if c.kind == "removed")

    @property
    def changed(self) -> int:
        """Number of changed rows."""
        return sum(1 for c in self.changes if c.kind == "changed")

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __repr__(self) -> str:
        tol = f", tolerated={self.tolerated}" if self.tolerated else ""
        return f"DiffResult(added={self.added}, removed={self.removed}, changed={self.changed}{tol})"

    def summary(self) -> str:
        """One line: labels and counts."""
        extra = f", {self.tolerated} within tolerance" if self.tolerated else ""
        extra += f", {self.unchanged} unchanged" if self.unchanged else ""
        counts = f"{self.added} added, {self.removed} removed, {self.changed} changed"
        return f"{self.labels[0]} -> {self.labels[1]}: {counts}{extra}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the counts and rows."""
        return {
            "labels": list(self.labels),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "tolerated": self.tolerated,
            "unchanged": self.unchanged,
            "changes": [
                {
                    "group": c.group,
                    "path": c.path,
                    "kind": c.kind,
                    "before": stable(c.before),
                    "after": stable(c.after),
                    "note": c.note,
                    "text_diff": list(c.text_diff),
                }
                for c in self.changes
            ],
        }

    def to_text(self) -> str:
        """Plain-text twin of the HTML table (for terminals and nbval)."""
        lines = [self.summary()]
        if not self.changes:
            lines.append("  no differences")
        for c in self.changes:
            note = f"  ({c.note})" if c.note else ""
            if c.text_diff:
                lines.append(f"  {_MARK[c.kind]} {c.where}:{note}")
                lines += [f"      {line}" for line in c.text_diff]
            elif c.kind == "added":
                lines.append(f"  + {c.where}: {show_value(c.after)}{note}")
            elif c.kind == "removed":
                lines.append(f"  - {c.where}: {show_value(c.before)}{note}")
            else:
                lines.append(f"  ~ {c.where}: {show_value(c.before)} -> {show_value(c.after)}{note}")
        return "\n".join(lines)

    def _text_twin(self) -> str:
        return self.to_text()

    def _html_body(self) -> str:
        counts = (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
            ("tolerated", self.tolerated),
        )
        badges = "".join(status_badge(name, n) for name, n in counts if n or name != "tolerated")
        same = muted(f"{self.unchanged} unchanged") if self.unchanged else ""
        head = head_line(self._label_line(), badges + same)
        if not self.changes:
            return f"<div class='psnb-diff'>{head}{muted('no differences', 'div')}</div>"
        rows: list[list[str | Cell] | Section] = []
        group = None
        for c in self.changes:
            if c.group and c.group != group:
                group = c.group
                rows.append(Section(code(c.group)))
            values: list[str | Cell]
            if c.text_diff:
                # The ---/+++ lines repeat the labels the head line and the column headers show.
                shown = [line for i, line in enumerate(c.text_diff) if i >= 2 or not line.startswith(("--- ", "+++ "))]
                lines = "".join(_diff_line_html(line) for line in shown)
                values = [Cell(f"<pre class='psnb-text-diff' style='{TEXT_BLOCK}'>{lines}</pre>", colspan=2)]
            else:
                before = "" if c.kind == "added" else show_value(c.before)
                after = "" if c.kind == "removed" else show_value(c.after)
                values = [code(before), code(after)]
            rows.append([code(c.path if c.group else c.where), status_badge(c.kind), *values, esc(c.note)])
        rows_table = table(["path", "change", *self._label_headers(), "note"], rows)
        return f"<div class='psnb-diff'>{head}{rows_table}</div>"

    def _label_line(self) -> str:
        """``before → after`` for the head line: the telling parts, each whole in its tooltip."""
        shown = short_labels(*self.labels)
        a, b = (
            f"<code title='{esc(full)}'>{esc(short)}</code>" if short != full else code(full)
            for short, full in zip(shown, self.labels, strict=True)
        )
        return f"{a} → {b}"

    def _label_headers(self) -> list[str | Cell]:
        """The two value columns: what tells the labels apart, the whole label as the tooltip."""
        shown = short_labels(*self.labels)
        return [
            Cell(f"<span style='white-space:nowrap'>{esc(short)}</span>", title=full) if short != full else full
            for short, full in zip(shown, self.labels, strict=True)
        ]


_ADDED = css("background", tint("good", 22))
_REMOVED = css("background", tint("bad", 22))


def _diff_line_html(line: str) -> str:
    text = esc(line)
    if line.startswith("+") and not line.startswith("+++"):
        return f"<span style='{_ADDED}'>{text}</span>\n"
    if line.startswith("-") and not line.startswith("---"):
        return f"<span style='{_REMOVED}'>{text}</span>\n"
    if line.startswith("@@"):
        return f"<span style='color:{TONES['info']}'>{text}</span>\n"
    return text + "\n"
