"""Noise-aware verdicts: baseline samples against candidate samples of one field.

With at least ``MIN_SAMPLES`` samples on each side the verdict rests on a two-sided Mann-Whitney U test
(``scipy.stats.mannwhitneyu``) at ``alpha``: a change that is not significant is ``noise`` whatever its size;
a significant change inside the tolerances is ``same``; otherwise ``better`` or ``worse``. With fewer samples
the tolerances alone decide. Medians never move: equal medians are ``same``. Tolerances follow
``math.isclose``: a change is inside them when ``|candidate - baseline| <= max(rel_tol * |baseline|, abs_tol)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..diff import parse_tolerance
from ..errors import StorageValueError, StorageValueTypeError

__all__ = [
    "MIN_SAMPLES",
    "METHODS",
    "VERDICTS",
    "Judgement",
    "Method",
    "Tolerance",
    "Verdict",
    "check_alpha",
    "judge",
    "min_p_value",
    "relative_change",
]

Verdict = Literal["worse", "better", "noise", "added", "removed", "same"]
#: every verdict, in the order tables sort and count them (what needs attention first)
VERDICTS: tuple[Verdict, ...] = ("worse", "better", "noise", "added", "removed", "same")
Method = Literal["mann-whitney", "tolerance", "presence"]
METHODS: tuple[Method, ...] = ("mann-whitney", "tolerance", "presence")
#: samples needed on each side for the Mann-Whitney U test
MIN_SAMPLES = 3

Number = int | float


@dataclass(frozen=True)
class Tolerance:
    """Relative (``0.05`` = 5 %) and absolute tolerances of a change; ``math.isclose`` semantics."""

    rel: float = 0.0
    abs: float = 0.0

    @classmethod
    def of(cls, tol: float | str | None = "0%", abs_tol: float | str | None = 0) -> Tolerance:
        """From user input: ``tol`` as ``"5%"`` or ``0.05``, ``abs_tol`` a number >= 0 (in the field's unit)."""
        return cls(parse_tolerance(tol) or 0.0, _abs_tol(abs_tol))

    def inside(self, baseline: Number, candidate: Number) -> bool:
        """True when the change from ``baseline`` to ``candidate`` is within the tolerances."""
        return abs(candidate - baseline) <= max(self.rel * abs(baseline), self.abs)

    def label(self) -> str:
        """``5%`` / ``5% or ±0.5`` / ``0%``."""
        rel = f"{self.rel * 100:g}%"
        return f"{rel} or ±{self.abs:g}" if self.abs else rel


def _abs_tol(value: float | str | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise StorageValueTypeError(f"abs_tol must be a number >= 0 in the field's unit, e.g. 0.5, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise StorageValueError(f"abs_tol {value!r} is not a number; use a number >= 0 in the field's unit") from None
    if not math.isfinite(number) or number < 0:
        raise StorageValueError(f"abs_tol {value!r} must be a finite number >= 0 in the field's unit")
    return number


def check_alpha(alpha: object) -> float:
    """The significance level, a number strictly between 0 and 1 (e.g. 0.05)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, str)):
        raise StorageValueTypeError(f"alpha must be a number between 0 and 1, e.g. 0.05, not {alpha!r}")
    try:
        value = float(alpha)
    except ValueError:
        raise StorageValueError(f"alpha {alpha!r} is not a number; use a number between 0 and 1, e.g. 0.05") from None
    if not 0 < value < 1:
        raise StorageValueError(f"alpha {alpha!r} must be strictly between 0 and 1, e.g. 0.05")
    return value


def relative_change(baseline: Number, candidate: Number) -> float:
    """``(candidate - baseline) / |baseline|``; from a zero baseline any change is infinite (0 when none)."""
    delta = candidate - baseline
    if baseline == 0:
        return 0.0 if delta == 0 else math.copysign(math.inf, delta)
    return float(delta / abs(baseline))


def min_p_value(n_baseline: int, n_candidate: int) -> float:
    """The smallest two-sided p-value the exact Mann-Whitney U test can give with these sample counts."""
    return min(1.0, 2.0 / math.comb(n_baseline + n_candidate, n_baseline))


@dataclass(frozen=True)
class Judgement:
    """The verdict on one field of one target, and what it rests on."""

    verdict: Verdict
    method: Method
    baseline: Number | None  # median of the baseline samples
    candidate: Number | None  # median of the candidate samples
    change: float | None  # relative change of the medians
    p_value: float | None = None  # Mann-Whitney U, two-sided


def _twice_median(values: Sequence[Number]) -> Number:
    """Twice the median: exact for ints (the sum of the two middle values), so ints past 2**53 compare exactly."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return 2 * ordered[mid]
    return ordered[mid - 1] + ordered[mid]


def _half(twice: Number) -> Number:
    """A median from :func:`_twice_median`: an int when it is one, else a float."""
    if isinstance(twice, int) and twice % 2 == 0:
        return twice // 2
    return twice / 2


def judge(
    baseline: Sequence[Number],
    candidate: Sequence[Number],
    *,
    tolerance: Tolerance,
    alpha: float,
    higher_is_better: bool = False,
) -> Judgement:
    """The verdict on one field: ``baseline`` and ``candidate`` are its samples (one value = one sample)."""
    if not baseline or not candidate:
        if not baseline and not candidate:
            raise StorageValueError("judge needs samples on at least one side")
        median = _half(_twice_median(candidate if candidate else baseline))
        if not baseline:
            return Judgement("added", "presence", None, median, None)
        return Judgement("removed", "presence", median, None, None)
    # Decided on twice the medians: exact for ints (and the ratio of two ints is correctly rounded).
    b2, c2 = _twice_median(baseline), _twice_median(candidate)
    b, c = _half(b2), _half(c2)
    change = relative_change(b2, c2)
    tested = len(baseline) >= MIN_SAMPLES and len(candidate) >= MIN_SAMPLES
    method: Method = "mann-whitney" if tested else "tolerance"
    p_value = _mann_whitney(baseline, candidate) if tested else None
    if b2 == c2:
        return Judgement("same", method, b, c, change, p_value)
    if p_value is not None and p_value >= alpha:
        return Judgement("noise", method, b, c, change, p_value)
    if Tolerance(tolerance.rel, 2 * tolerance.abs).inside(b2, c2):
        return Judgement("same", method, b, c, change, p_value)
    better = c2 > b2 if higher_is_better else c2 < b2
    return Judgement("better" if better else "worse", method, b, c, change, p_value)


def _mann_whitney(baseline: Sequence[Number], candidate: Sequence[Number]) -> float:
    from scipy.stats import mannwhitneyu  # scipy is imported only when a test runs

    ranks = _ranks([*baseline, *candidate])
    if len(set(ranks)) == 1:
        return 1.0  # every sample equal: no evidence of any difference (scipy would warn and give nan)
    # The test depends on the ranks only: ranking the exact values first keeps ints past 2**53 apart.
    result = mannwhitneyu(ranks[: len(baseline)], ranks[len(baseline) :], alternative="two-sided")
    return float(result.pvalue)


def _ranks(values: Sequence[Number]) -> list[float]:
    """Average ranks (1-based, ties share their mean rank) by exact comparison of the values."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks
