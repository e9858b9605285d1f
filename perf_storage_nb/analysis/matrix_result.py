"""``Matrix``: the per target x key status of two sessions, shown as a compact grid with counts and a text twin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ..display import Cell, DisplayObject, Tone, badge, code, esc, head_line, muted, note, plural, status_badge, table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATUSES", "SYMBOLS", "CellStatus", "Matrix", "MatrixCell"]

CellStatus = Literal["changed", "added", "removed", "same"]
#: statuses in the order they are counted and shown
STATUSES: tuple[CellStatus, ...] = ("changed", "added", "removed", "same")
#: one character per status in the grid
SYMBOLS: dict[CellStatus, str] = {"changed": "~", "added": "+", "removed": "-", "same": "="}
_TONES: dict[CellStatus, Tone] = {"changed": "warn", "added": "good", "removed": "bad", "same": "muted"}
MAX_TARGETS = 40  # rows of the grid (targets with a difference); the rest are counted
MAX_KEYS = 16  # columns of the grid (keys with a difference); the rest are counted


@dataclass(frozen=True)
class MatrixCell:
    """One key of one target: its status, both content hashes when on both sides, how much changed."""

    target: str
    key: str
    status: CellStatus
    baseline_hash: str | None = None
    candidate_hash: str | None = None
    summary: str = ""  # e.g. "3 changes" (changed cells, when the values were diffed)

    def with_summary(self, summary: str) -> MatrixCell:
        """The same cell with a change summary."""
        return replace(self, summary=summary)


@dataclass
class Matrix(DisplayObject):
    """Per target x key status (changed / added / removed / same) of ``candidate`` against ``baseline``."""

    baseline: str
    candidate: str
    prefix: str
    stages: tuple[str, ...] | None
    targets: list[str]
    cells: list[MatrixCell]
    loads: int = 0  # values loaded to diff the changed cells (both sides); unchanged ones never are
    _index: dict[tuple[str, str], MatrixCell] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {(c.target, c.key): c for c in self.cells}

    # ---- the result --------------------------------------------------------------------------------------------
    @property
    def keys(self) -> list[str]:
        """Every key on either side, sorted."""
        return sorted({c.key for c in self.cells})

    def cell(self, target: str, key: str) -> MatrixCell | None:
        """The cell of ``key`` in ``target``, or None when neither side has it."""
        return self._index.get((target, key))

    def of(self, *statuses: CellStatus) -> list[MatrixCell]:
        """The cells with one of ``statuses``."""
        return [c for c in self.cells if c.status in statuses]

    def counts(self) -> dict[str, int]:
        """Cells per status, in :data:`STATUSES` order (statuses that occur only)."""
        found = [c.status for c in self.cells]
        return {s: found.count(s) for s in STATUSES if s in found}

    def differing_targets(self) -> list[str]:
        """Targets with at least one key that is not ``same``, sorted."""
        return sorted({c.target for c in self.cells if c.status != "same"})

    def first_divergent(self, target: str) -> str | None:
        """The earliest of ``stages`` whose keys in ``target`` are not all ``same`` (None: none, or no stages)."""
        for stage in self.stages or ():
            if any(c.status != "same" for c in self.cells if c.target == target and c.key.startswith(stage)):
                return stage
        return None

    def to_frame(self) -> pd.DataFrame:
        """Every cell as a pandas DataFrame: target, key, status, both hashes, summary."""
        import pandas as pd

        columns = ["target", "key", "status", "baseline_hash", "candidate_hash", "summary"]
        return pd.DataFrame([[getattr(c, n) for n in columns] for c in self.cells], columns=columns, dtype="object")

    # ---- display -----------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={n}" for s, n in self.counts().items())
        return (
            f"Matrix(baseline={self.baseline!r}, candidate={self.candidate!r}, targets={len(self.targets)}, "
            f"keys={len(self.keys)}{', ' + counts if counts else ''})"
        )

    def _layout(self) -> tuple[list[str], list[str], int, int]:
        """Rows (differing targets) and columns (keys with a difference) shown, and how many of each are left out."""
        rows = self.differing_targets()
        keys = sorted({c.key for c in self.cells if c.status != "same"})
        return rows[:MAX_TARGETS], keys[:MAX_KEYS], len(rows) - MAX_TARGETS, len(keys) - MAX_KEYS

    def _headline(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items()) or "no keys"
        scope = f" under {self.prefix!r}" if self.prefix else ""
        return (
            f"{self.candidate} against {self.baseline}{scope}: {plural(len(self.targets), 'target')} x "
            f"{plural(len(self.keys), 'key')}: {counts}"
        )

    def _tail(self, more_rows: int, more_keys: int) -> list[str]:
        same = len(self.targets) - len(self.differing_targets())
        out = [f"{plural(same, 'target')} unchanged (every key same)"] if same else []
        if more_rows > 0:
            out.append(f"{plural(more_rows, 'more target')} with differences (to_frame() has them all)")
        if more_keys > 0:
            out.append(f"{plural(more_keys, 'more key')} with differences not shown")
        return out

    def _text_twin(self) -> str:
        rows, keys, more_rows, more_keys = self._layout()
        lines = [self._headline(), "  legend: ~ changed  + added  - removed  = same  (blank: on neither side)"]
        if rows:
            head = ["target"] + (["first divergent"] if self.stages else []) + [f"[{i + 1}]" for i in range(len(keys))]
            body = []
            for t in rows:
                marks = [SYMBOLS[c.status] if (c := self.cell(t, k)) else "" for k in keys]
                body.append([t] + ([self.first_divergent(t) or "-"] if self.stages else []) + marks)
            widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
            for r in [head, *body]:
                lines.append(
                    "  "
                    + "  ".join(
                        c.center(w) if c in SYMBOLS.values() else c.ljust(w) for c, w in zip(r, widths, strict=True)
                    ).rstrip()
                )
            lines.append("  keys: " + "  ".join(f"[{i + 1}] {k}" for i, k in enumerate(keys)))
            changed = [c for c in self.of("changed") if c.summary and c.target in rows]
            lines += [f"  ~ {c.target} {c.key}: {c.summary}" for c in changed[:20]]
        lines += [f"  {line}" for line in self._tail(more_rows, more_keys)]
        return "\n".join(lines)

    def _mark(self, cell: MatrixCell | None) -> str | Cell:
        if cell is None:
            return ""
        text = SYMBOLS[cell.status] + (f" {cell.summary}" if cell.summary else "")
        return badge(text, _TONES[cell.status]) if cell.status != "same" else muted(esc(SYMBOLS["same"]))

    def _html_body(self) -> str:
        rows, keys, more_rows, more_keys = self._layout()
        badges = "".join(status_badge(s, n) for s, n in self.counts().items())
        scope = f" under {code(self.prefix)}" if self.prefix else ""
        title = f"<b>matrix</b>: {code(self.candidate)} against {code(self.baseline)}{scope}"
        size = muted(esc(f"{plural(len(self.targets), 'target')} x {plural(len(self.keys), 'key')}"))
        parts = [head_line(title, badges, size)]
        if rows:
            headers = ["target"] + (["first divergent"] if self.stages else []) + keys
            grid: list[Sequence[str | Cell]] = [
                [code(t)]
                + ([esc(self.first_divergent(t) or "–")] if self.stages else [])
                + [self._mark(self.cell(t, k)) for k in keys]
                for t in rows
            ]
            parts.append(table(headers, grid, mono=True))
        parts += [note(line) for line in self._tail(more_rows, more_keys)]
        return f"<div class='psnb-matrix'>{''.join(parts)}</div>"
