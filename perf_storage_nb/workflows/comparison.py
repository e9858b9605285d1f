"""Cross-session comparison: each target's metrics against a baseline session, with per-metric tolerances."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ..base import BaseStorage
from ..codec import is_number
from ..display import DisplayObject, code, esc, head_line, short, status_badge, table
from ..errors import StorageError
from ..names import check_id, check_key

__all__ = ["MetricRow", "MetricStatus", "SessionComparison", "compare_sessions", "flatten_metrics"]

#: the statuses of a metric, in the order their counts are shown
MetricStatus = Literal[
    "regressed", "improved", "within", "same", "changed", "added", "removed", "missing_baseline", "missing_current"
]


def flatten_metrics(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": leaf}``; lists and scalars are leaves."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            out.update(flatten_metrics(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "value": value}


@dataclass(frozen=True)
class MetricRow:
    """One metric of one target, baseline vs current."""

    target_id: str
    metric: str
    baseline: Any
    current: Any
    status: MetricStatus
    change: float | None = None  # relative change (current - baseline) / |baseline|, when numeric

    def change_text(self) -> str:
        """``+12.5%`` style relative change, or ''."""
        if self.change is None:
            return ""
        if math.isinf(self.change):
            return "+inf%" if self.change > 0 else "-inf%"
        return f"{self.change * 100:+.1f}%"


@dataclass
class SessionComparison(DisplayObject):
    """Metrics of one session against a baseline session, per target; regressions beyond tolerance flagged."""

    session_id: str
    baseline_session: str
    key: str
    rows: list[MetricRow] = field(default_factory=list)

    def _with(self, *status: str) -> list[MetricRow]:
        return [r for r in self.rows if r.status in status]

    @property
    def regressions(self) -> list[MetricRow]:
        """Metrics worse than the baseline by more than their tolerance (and targets missing now)."""
        return self._with("regressed", "missing_current")

    @property
    def improvements(self) -> list[MetricRow]:
        """Metrics better than the baseline by more than their tolerance."""
        return self._with("improved")

    @property
    def ok(self) -> bool:
        """True when nothing regressed."""
        return not self.regressions

    def __bool__(self) -> bool:
        return self.ok

    def targets(self) -> list[str]:
        """Targets compared, sorted."""
        return sorted({r.target_id for r in self.rows})

    def counts(self) -> dict[str, int]:
        """Rows per status (only statuses that occur), in a fixed order."""
        found = {r.status for r in self.rows}
        return {s: len(self._with(s)) for s in get_args(MetricStatus) if s in found}

    def raise_for_regressions(self) -> SessionComparison:
        """Raise a StorageError listing every regression; return self when none."""
        if not self.ok:
            raise StorageError(self.to_text())
        return self

    def __repr__(self) -> str:
        return (
            f"SessionComparison(session_id={self.session_id!r}, baseline={self.baseline_session!r}, "
            f"targets={len(self.targets())}, regressions={len(self.regressions)}, "
            f"improvements={len(self.improvements)})"
        )

    def to_text(self) -> str:
        """Plain-text table of every metric that is not unchanged."""
        lines = [repr(self)]
        for r in self.rows:
            if r.status != "same":
                lines.append(
                    f"  {r.status:16} {r.target_id} {r.metric}: {short(r.baseline, 30)} -> "
                    f"{short(r.current, 30)} {r.change_text()}".rstrip()
                )
        return "\n".join(lines)

    def _text_twin(self) -> str:
        return repr(self)  # text/plain has always been the one-line summary; to_text() is the long form

    def _html_body(self) -> str:
        badges = "".join(status_badge(s, n) for s, n in self.counts().items())
        rows = [
            [
                code(r.target_id),
                esc(r.metric),
                esc(short(r.baseline)),
                esc(short(r.current)),
                esc(r.change_text()),
                status_badge(r.status),
            ]
            for r in self.rows
        ]
        title = f"<b>{esc(self.key)}</b>: {code(self.session_id)} vs baseline {code(self.baseline_session)}"
        listing = table(["target", "metric", "baseline", "current", "change", "status"], rows, right=[4])
        return f"<div class='psnb-compare'>{head_line(title, badges)}{listing}</div>"


def _finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def _compare_value(target: str, metric: str, base: Any, cur: Any, tol: float, higher_better: bool) -> MetricRow:
    if _finite(base) and _finite(cur):
        if base == cur:
            return MetricRow(target, metric, base, cur, "same", 0.0)
        delta = cur - base
        # A zero baseline has no relative scale: compare the absolute difference with the tolerance.
        change = delta / abs(base) if base != 0 else math.copysign(math.inf, delta)
        size = abs(delta / base) if base != 0 else abs(delta)
        if size <= tol:
            return MetricRow(target, metric, base, cur, "within", change)
        better = delta > 0 if higher_better else delta < 0
        return MetricRow(target, metric, base, cur, "improved" if better else "regressed", change)
    return MetricRow(target, metric, base, cur, "same" if base == cur else "changed")


def compare_sessions(
    storage: BaseStorage,
    baseline_session: str,
    *,
    session_id: str | None = None,
    key: str = "results/metrics.json",
    targets: Iterable[str] | None = None,
    tolerance: float = 0.05,
    tolerances: Mapping[str, float] | None = None,
    higher_is_better: Iterable[str] = (),
) -> SessionComparison:
    """Compare the JSON metrics under ``key`` of each target with the same target in ``baseline_session``.

    Numbers are compared relatively: a change within ``tolerance`` (per metric: ``tolerances``) is
    "within"; beyond it, "improved" or "regressed" — lower is better unless the metric (dotted path for
    nested dicts) is in ``higher_is_better``. Targets default to those of either session.
    """
    session = check_id(session_id if session_id is not None else storage.session_id, "session_id")
    baseline = check_id(baseline_session, "session_id")
    check_key(key)
    per_metric = dict(tolerances or {})
    higher = set(higher_is_better)
    names = (
        sorted(set(targets))
        if targets is not None
        else sorted(set(storage.targets(session)) | set(storage.targets(baseline)))
    )
    comparison = SessionComparison(session, baseline, key)
    for target in names:
        cur_raw = storage.for_session(session, target).load(key)
        base_raw = storage.for_session(baseline, target).load(key)
        if cur_raw is None and base_raw is None:
            continue  # a target without metrics in either session (e.g. an infrastructure target)
        if base_raw is None:
            comparison.rows.append(MetricRow(target, "*", None, "present", "missing_baseline"))
            continue
        if cur_raw is None:
            comparison.rows.append(MetricRow(target, "*", "present", None, "missing_current"))
            continue
        cur, base = flatten_metrics(cur_raw), flatten_metrics(base_raw)
        for metric in sorted(set(cur) | set(base)):
            if metric not in base:
                comparison.rows.append(MetricRow(target, metric, None, cur[metric], "added"))
            elif metric not in cur:
                comparison.rows.append(MetricRow(target, metric, base[metric], None, "removed"))
            else:
                tol = per_metric.get(metric, tolerance)
                comparison.rows.append(_compare_value(target, metric, base[metric], cur[metric], tol, metric in higher))
    return comparison
