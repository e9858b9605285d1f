"""``Comparison``: the verdicts of a candidate session against a baseline, one row per target x field.

A plain result object (``compare`` computes it): sorted rows, counts per verdict, ``.regressions``,
``.raise_for_regressions()``, ``.to_frame()``; it displays through the display base as a sorted table with
verdict badges and a plain-text twin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..display import Cell, DisplayObject, Tone, badge, code, esc, head_line, muted, note, plural, table
from ..errors import StorageRegressionError
from .stats import MIN_SAMPLES, VERDICTS, Judgement, Method, Tolerance, Verdict, min_p_value

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["VERDICT_TONES", "Comparison", "ComparisonRow", "format_change", "format_number"]

#: verdict -> tone of its badge (the display palette's tones)
VERDICT_TONES: dict[Verdict, Tone] = {
    "worse": "bad",
    "better": "good",
    "noise": "warn",
    "added": "info",
    "removed": "warn",
    "same": "muted",
}
MAX_ROWS = 60  # rows shown in the table (to_frame() has them all)
_COLUMNS = ["target", "field", "baseline", "candidate", "change", "n", "p", "verdict"]


def format_number(value: Any) -> str:
    """An int as it is (exact), a float in 6 significant digits, None as ''."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def format_change(change: float | None) -> str:
    """``+12.5%`` / ``-3.0%`` / ``+inf%``; '' when there is none."""
    if change is None:
        return ""
    if math.isinf(change):
        return "+inf%" if change > 0 else "-inf%"
    return f"{change * 100:+.1f}%"


@dataclass(frozen=True)
class ComparisonRow:
    """The verdict on one field of one target, with the medians, the change and the test behind it."""

    target: str
    field: str
    verdict: Verdict
    method: Method
    baseline: Any  # median of the baseline samples (None for an added field)
    candidate: Any  # median of the candidate samples (None for a removed field)
    change: float | None
    p_value: float | None
    n_baseline: int
    n_candidate: int

    @classmethod
    def of(cls, target: str, field: str, judgement: Judgement, n_baseline: int, n_candidate: int) -> ComparisonRow:
        """A row from a :class:`~.stats.Judgement`."""
        j = judgement
        return cls(
            target, field, j.verdict, j.method, j.baseline, j.candidate, j.change, j.p_value, n_baseline, n_candidate
        )

    def sort_key(self) -> tuple[int, float, str, str]:
        """Verdicts in :data:`VERDICTS` order, the largest change first, then target and field."""
        size = abs(self.change) if self.change is not None else -1.0
        return (VERDICTS.index(self.verdict), -size, self.target, self.field)

    def cells(self) -> list[str]:
        """The row as text cells, in the table's column order."""
        p = "" if self.p_value is None else f"{self.p_value:.2g}"
        n = f"{self.n_baseline}/{self.n_candidate}"
        return [
            self.target,
            self.field,
            format_number(self.baseline),
            format_number(self.candidate),
            format_change(self.change),
            n,
            p,
            self.verdict,
        ]

    def line(self) -> str:
        """One line: ``worse  t03 latency_ms: 12.1 -> 15.2 (+25.6%, p=0.0002)``."""
        detail = ", ".join(p for p in (format_change(self.change), self._p_text()) if p)
        values = f"{format_number(self.baseline) or '-'} -> {format_number(self.candidate) or '-'}"
        return f"{self.verdict} {self.target} {self.field}: {values}" + (f" ({detail})" if detail else "")

    def _p_text(self) -> str:
        return "" if self.p_value is None else f"p={self.p_value:.2g}"


@dataclass
class Comparison(DisplayObject):
    """Verdicts of ``candidate`` against ``baseline`` for ``key``, one row per target x field, sorted."""

    key: str
    baseline: str
    candidate: str
    rows: list[ComparisonRow]
    tolerance: Tolerance = field(default_factory=Tolerance)
    alpha: float = 0.05
    higher_is_better: tuple[str, ...] = ()
    max_rows: int = MAX_ROWS

    def __post_init__(self) -> None:
        self.rows = sorted(self.rows, key=ComparisonRow.sort_key)

    # ---- the result --------------------------------------------------------------------------------------------
    def of(self, *verdicts: Verdict) -> list[ComparisonRow]:
        """The rows with one of ``verdicts``."""
        return [r for r in self.rows if r.verdict in verdicts]

    @property
    def regressions(self) -> list[ComparisonRow]:
        """Rows whose verdict is ``worse``."""
        return self.of("worse")

    @property
    def improvements(self) -> list[ComparisonRow]:
        """Rows whose verdict is ``better``."""
        return self.of("better")

    @property
    def ok(self) -> bool:
        """True when nothing is worse."""
        return not self.regressions

    def __bool__(self) -> bool:
        return self.ok

    def counts(self) -> dict[Verdict, int]:
        """Rows per verdict, in :data:`VERDICTS` order (verdicts that occur only)."""
        found = [r.verdict for r in self.rows]
        return {v: found.count(v) for v in VERDICTS if v in found}

    def methods(self) -> dict[str, int]:
        """Rows per method (``mann-whitney``, ``tolerance``, ``presence``)."""
        found = [r.method for r in self.rows]
        return {m: found.count(m) for m in ("mann-whitney", "tolerance", "presence") if m in found}

    def raise_for_regressions(self) -> Comparison:
        """Raise StorageRegressionError listing every ``worse`` row; return self when there is none."""
        worse = self.regressions
        if worse:
            lines = [r.line() for r in worse[:20]] + ([f"... and {len(worse) - 20} more"] if len(worse) > 20 else [])
            raise StorageRegressionError(
                f"{plural(len(worse), 'regression')} in {self.candidate} against {self.baseline} ({self.key!r}): "
                + "; ".join(lines),
                tuple(worse),
            )
        return self

    def to_frame(self) -> pd.DataFrame:
        """Every row as a pandas DataFrame (medians exact: object dtype where ints and floats mix)."""
        import pandas as pd

        columns = [
            "target", "field", "verdict", "method", "baseline", "candidate", "change", "p_value", "n_baseline",
            "n_candidate",
        ]  # fmt: skip
        data = {c: pd.Series([getattr(r, c) for r in self.rows], dtype="object") for c in columns}
        for c in ("change", "p_value"):
            data[c] = pd.Series([getattr(r, c) for r in self.rows], dtype="float64")
        for c in ("n_baseline", "n_candidate"):
            data[c] = pd.Series([getattr(r, c) for r in self.rows], dtype="int64")
        return pd.DataFrame(data, columns=columns)

    # ---- display -----------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = ", ".join(f"{v}={n}" for v, n in self.counts().items())
        return (
            f"Comparison(key={self.key!r}, baseline={self.baseline!r}, candidate={self.candidate!r}, "
            f"rows={len(self.rows)}{', ' + counts if counts else ''})"
        )

    def method_text(self) -> str:
        """How the verdicts were reached: which test, at which alpha, with which tolerances."""
        parts = []
        methods = self.methods()
        if "mann-whitney" in methods:
            parts.append(
                f"{plural(methods['mann-whitney'], 'row')} by a two-sided Mann-Whitney U test at alpha {self.alpha:g} "
                f"(>= {MIN_SAMPLES} samples per side; not significant = noise)"
            )
        if "tolerance" in methods:
            parts.append(
                f"{plural(methods['tolerance'], 'row')} by tolerances alone (< {MIN_SAMPLES} samples per side)"
            )
        text = "; ".join(parts) + f"; tolerance {self.tolerance.label()}"
        blind = [r for r in self.of("noise") if r.method == "mann-whitney" and self._blind(r)]
        if blind:
            text += (
                f"; {plural(len(blind), 'noise row')} cannot reach significance at alpha {self.alpha:g} with "
                "so few samples (take more)"
            )
        better = "higher is better for " + ", ".join(self.higher_is_better) if self.higher_is_better else ""
        return text + ("; " + better if better else "; lower is better")

    def _blind(self, row: ComparisonRow) -> bool:
        return min_p_value(row.n_baseline, row.n_candidate) >= self.alpha

    def _shown(self) -> tuple[list[ComparisonRow], int]:
        return self.rows[: self.max_rows], max(0, len(self.rows) - self.max_rows)

    def _text_twin(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in self.counts().items()) or "no rows"
        lines = [f"{self.key}: {self.candidate} against {self.baseline}: {counts}", f"  ({self.method_text()})"]
        shown, more = self._shown()
        cells = [_COLUMNS] + [r.cells() for r in shown]
        widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
        right = {2, 3, 4, 5, 6}
        for row in cells:
            text = "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            lines.append("  " + text.rstrip())
        if more:
            lines.append(f"  ... {plural(more, 'more row')} (to_frame() has them all)")
        return "\n".join(lines)

    def _html_body(self) -> str:
        badges = "".join(badge(f"{n} {v}", VERDICT_TONES[v]) for v, n in self.counts().items())
        title = f"<b>{esc(self.key)}</b>: {code(self.candidate)} against {code(self.baseline)}"
        shown, more = self._shown()
        rows: list[Sequence[str | Cell]] = []
        for r in shown:
            c = r.cells()
            rows.append([code(c[0]), esc(c[1]), *(esc(x) for x in c[2:7]), badge(r.verdict, VERDICT_TONES[r.verdict])])
        listing = table(_COLUMNS, rows, right=[2, 3, 4, 5, 6])
        tail = note(f"… {plural(more, 'more row')}: to_frame() has them all") if more else ""
        how = muted(esc(self.method_text()), "div")
        return f"<div class='psnb-comparison'>{head_line(title, badges)}{how}{listing}{tail}</div>"
