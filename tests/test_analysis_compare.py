"""compare(): noise-aware verdicts per target x field, their statistics, the Comparison result and its display."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy", reason="the analysis extra is not installed (pip install -e '.[analysis]')")
np = pytest.importorskip("numpy")

from scipy.stats import binom  # noqa: E402

from perf_storage_nb import BaseStorage, StorageError, StorageKeyError, StorageValueError  # noqa: E402
from perf_storage_nb.analysis import Comparison, ComparisonRow, Tolerance, compare, judge  # noqa: E402
from perf_storage_nb.analysis.stats import min_p_value, relative_change  # noqa: E402
from perf_storage_nb.errors import StorageRegressionError, StorageValueTypeError  # noqa: E402

KEY = "results/timings.json"
NO_TOL = Tolerance()


# ---- the statistics ------------------------------------------------------------------------------------------------
def _trials(shift: float, *, n: int, trials: int, seed: int) -> dict[str, int]:
    """Verdicts of ``trials`` comparisons of n vs n normal samples, the candidate shifted by ``shift`` sigmas."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(trials):
        base = [float(x) for x in rng.normal(100.0, 1.0, n)]
        cand = [float(x) for x in rng.normal(100.0 + shift, 1.0, n)]
        verdict = judge(base, cand, tolerance=NO_TOL, alpha=0.05).verdict
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def test_no_shift_false_regression_rate_stays_near_alpha() -> None:
    """With no shift, significant verdicts stay within a binomial bound around alpha (seeded: not flaky)."""
    trials = 2000
    counts = _trials(0.0, n=10, trials=trials, seed=20261202)
    significant = counts.get("worse", 0) + counts.get("better", 0)
    # Under H0 the two-sided exact test rejects with probability <= alpha; a count above the binomial 1-in-a-million
    # quantile at p = alpha would mean the test is anti-conservative. The lower bound shows it is not dead either
    # (the exact size for 10 vs 10 at 0.05 is 0.043).
    assert significant <= binom.ppf(1 - 1e-6, trials, 0.05), counts
    assert significant >= binom.ppf(1e-6, trials, 0.03), counts
    # a false *regression* is one direction: about alpha / 2
    assert counts.get("worse", 0) <= binom.ppf(1 - 1e-6, trials, 0.025), counts
    assert set(counts) <= {"noise", "worse", "better"}  # no shift, no tolerance: a change is noise or significant


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_known_shift_is_found(seed: int) -> None:
    trials = 300
    counts = _trials(2.0, n=10, trials=trials, seed=seed)  # +2 sigma slower: a real regression
    # power of the test for this shift is ~0.98: far above the 0.9 bound below
    assert counts.get("worse", 0) >= binom.ppf(1e-6, trials, 0.9), counts
    assert counts.get("better", 0) == 0


def test_verdict_rules() -> None:
    tol5 = Tolerance.of("5%")
    base, slower, same = [10.0, 10.1, 9.9, 10.0, 10.2], [12.0, 12.1, 11.9, 12.2, 12.0], [10.0, 10.1, 9.9, 10.0, 10.2]
    assert judge(base, slower, tolerance=tol5, alpha=0.05).verdict == "worse"
    assert judge(base, slower, tolerance=tol5, alpha=0.05, higher_is_better=True).verdict == "better"
    assert judge(base, same, tolerance=tol5, alpha=0.05).verdict == "same"  # equal medians
    # significant but inside the tolerance: same
    assert judge(base, [10.3, 10.4, 10.35, 10.3, 10.45], tolerance=tol5, alpha=0.05).verdict == "same"
    # a big but insignificant change: noise, whatever its size
    noisy = judge(base, [5.0, 30.0, 9.0, 25.0, 8.0], tolerance=tol5, alpha=0.05)
    assert (noisy.verdict, noisy.method) == ("noise", "mann-whitney") and noisy.p_value is not None
    # fewer than 3 samples on a side: tolerances alone
    assert judge([10.0], [10.4], tolerance=tol5, alpha=0.05).verdict == "same"
    few = judge([10.0, 10.2], [11.0], tolerance=tol5, alpha=0.05)
    assert (few.verdict, few.method, few.p_value) == ("worse", "tolerance", None)
    assert judge([10.0], [10.4], tolerance=Tolerance.of(0, 0.5), alpha=0.05).verdict == "same"  # abs_tol
    assert judge([], [1.0], tolerance=tol5, alpha=0.05).verdict == "added"
    assert judge([1.0], [], tolerance=tol5, alpha=0.05).verdict == "removed"
    assert judge([3, 3, 3], [3, 3, 3], tolerance=NO_TOL, alpha=0.05).p_value == 1.0  # all equal: no scipy warning


def test_big_ints_are_ranked_exactly() -> None:
    big = 2**60
    base = [big + i for i in range(8)]
    cand = [big + i for i in range(100, 108)]  # all larger, but equal to base as floats
    result = judge(base, cand, tolerance=NO_TOL, alpha=0.05)
    assert result.verdict == "worse" and result.p_value is not None and result.p_value < 0.001
    assert result.baseline == big + 3 or result.baseline == big + 3.5  # exact median, no float rounding of 2**60
    assert judge([big, big + 2], [big], tolerance=NO_TOL, alpha=0.05).baseline == big + 1  # int median stays int


def test_helpers() -> None:
    assert relative_change(10, 12) == pytest.approx(0.2) and relative_change(0, 0) == 0.0
    assert relative_change(0, -1) == float("-inf")
    assert min_p_value(3, 3) == pytest.approx(0.1) and min_p_value(10, 10) < 1e-4
    assert Tolerance.of("5%") == Tolerance(0.05, 0.0) and Tolerance.of(0.05, "0.5").label() == "5% or ±0.5"
    for bad in ("fast", -1, "nan"):
        with pytest.raises(StorageValueError):
            Tolerance.of(bad)
    with pytest.raises(StorageValueError):
        Tolerance.of("5%", -1)


samples = st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_swapping_sides_swaps_better_and_worse(base: list[int], cand: list[int]) -> None:
    one = judge(base, cand, tolerance=NO_TOL, alpha=0.05)
    other = judge(cand, base, tolerance=NO_TOL, alpha=0.05)
    mirror = {"better": "worse", "worse": "better", "noise": "noise", "same": "same"}
    assert other.verdict == mirror[one.verdict]
    assert one.p_value == other.p_value


@settings(max_examples=100, deadline=None)
@given(samples, samples, st.integers(min_value=2, max_value=1000))
def test_verdicts_do_not_depend_on_the_unit(base: list[int], cand: list[int], k: int) -> None:
    tol = Tolerance.of("5%")
    a = judge(base, cand, tolerance=tol, alpha=0.05)
    b = judge([v * k for v in base], [v * k for v in cand], tolerance=tol, alpha=0.05)
    assert (a.verdict, a.p_value) == (b.verdict, b.p_value)


# ---- compare() on every backend --------------------------------------------------------------------------------------
def _experiment(storage: BaseStorage, a: str, b: str) -> None:
    rng = np.random.default_rng(7)
    for session, is_candidate in ((a, False), (b, True)):
        for i in range(6):
            base_ms = 10.0 + i
            if is_candidate and i == 1:
                ms = rng.normal(base_ms * 1.3, 0.1, 8)  # a real regression
            elif is_candidate and i == 2:
                ms = rng.normal(base_ms * 1.2, 6.0, 8)  # a big, noisy change
            else:
                ms = rng.normal(base_ms, 0.1, 8)
            doc: dict[str, Any] = {"latency_ms": [round(float(x), 4) for x in ms], "nodes": 100 + i}
            if is_candidate and i == 3:
                doc["nodes"] = 80  # one number, no samples: tolerances alone
                doc["throughput"] = 5
            if is_candidate and i == 4:
                del doc["nodes"]
            if not (is_candidate and i == 5):
                storage.for_session(session, f"t{i}").save(KEY, doc)
    storage.for_session(b, "t6").save(KEY, {"latency_ms": [1.0, 1.0, 1.0]})  # a new target


def test_compare_on_every_backend(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    a, b = f"{storage.session_id}a", f"{storage.session_id}b"
    _experiment(storage, a, b)
    result = compare(storage, a, b, KEY, tol="5%")
    verdicts = {(r.target, r.field): r.verdict for r in result.rows}
    assert verdicts[("t1", "latency_ms")] == "worse"
    assert verdicts[("t2", "latency_ms")] == "noise"
    assert verdicts[("t3", "nodes")] == "better"  # 101 -> 80, lower is better
    assert verdicts[("t3", "throughput")] == "added"
    assert verdicts[("t4", "nodes")] == "removed"
    assert verdicts[("t5", "latency_ms")] == "removed" and verdicts[("t6", "latency_ms")] == "added"
    assert verdicts[("t0", "nodes")] == "same"
    assert [r.target for r in result.regressions] == ["t1"]
    assert result.rows[0].verdict == "worse"  # sorted: what needs attention first
    assert {r.method for r in result.rows if r.field == "nodes" and r.verdict in ("same", "better")} == {"tolerance"}
    higher = compare(storage, a, b, KEY, tol="5%", higher_is_better=["nodes"], fields=["nodes"])
    assert {(r.target, r.verdict) for r in higher.rows if r.target == "t3"} == {("t3", "worse")}
    with pytest.raises(StorageRegressionError) as info:
        result.raise_for_regressions()
    assert isinstance(info.value, AssertionError) and "t1 latency_ms" in str(info.value)
    assert [r.target for r in info.value.regressions] == ["t1"]  # type: ignore[attr-defined]
    assert compare(storage, a, b, KEY, tol="50%", fields="latency_ms").raise_for_regressions().ok


def test_bad_input(make_storage: Callable[..., BaseStorage]) -> None:
    storage = make_storage()
    a, b = f"{storage.session_id}a", f"{storage.session_id}b"
    for s in (a, b):
        storage.for_session(s, "t1").save(KEY, {"ms": [1, 2, 3], "name": "x", "flags": [True, False]})
    with pytest.raises(StorageValueTypeError, match="compare needs numbers: 'name' holds str"):
        compare(storage, a, b, KEY, fields=["name"])
    with pytest.raises(StorageValueTypeError, match="'flags.0' holds bool"):
        compare(storage, a, b, KEY, fields=["flags.0"])
    with pytest.raises(StorageKeyError, match="unknown session 'nope'"):
        compare(storage, a, "nope", KEY)
    with pytest.raises(StorageKeyError, match="'nope' found in no value"):
        compare(storage, a, b, KEY, fields="nope")
    with pytest.raises(StorageValueError, match="both"):
        compare(storage, a, a, KEY)
    with pytest.raises(StorageValueError, match="alpha"):
        compare(storage, a, b, KEY, alpha=1.5)
    with pytest.raises(StorageValueError, match="tolerance"):
        compare(storage, a, b, KEY, tol="lots")
    with pytest.raises(StorageValueTypeError, match="higher_is_better"):
        compare(storage, a, b, KEY, higher_is_better=[3])  # type: ignore[list-item]


# ---- the result --------------------------------------------------------------------------------------------------
def _row(target: str, verdict: Any, change: float | None, p: float | None = 0.01) -> ComparisonRow:
    method = "mann-whitney" if p is not None else "tolerance"
    return ComparisonRow(target, "ms", verdict, method, 10, 10 * (1 + (change or 0)), change, p, 7, 7)


def test_comparison_display_is_sorted_counted_and_deterministic() -> None:
    rows = [_row("a", "same", 0.0), _row("b", "noise", 0.3, 0.4), _row("c", "worse", 0.1), _row("d", "worse", 0.5)]
    cmp = Comparison(KEY, "base", "cand", rows, Tolerance.of("5%"), 0.05)
    assert [r.target for r in cmp.rows] == ["d", "c", "b", "a"]
    assert cmp.counts() == {"worse": 2, "noise": 1, "same": 1} and not cmp
    text = cmp._text_twin()
    assert text.splitlines()[0] == f"{KEY}: cand against base: 2 worse, 1 noise, 1 same"
    assert "Mann-Whitney U" in text and "tolerance 5%" in text and "+50.0%" in text
    html = cmp._repr_html_()
    assert "psnb-comparison" in html and "2 worse" in html and "psnb-bad" in html and "<script" not in html
    assert cmp._repr_html_() == html and cmp._text_twin() == text
    assert (
        repr(cmp)
        == "Comparison(key='results/timings.json', baseline='base', candidate='cand', rows=4, worse=2, noise=1, same=1)"
    )
    frame = cmp.to_frame()
    assert list(frame["target"]) == ["d", "c", "b", "a"] and frame["change"].dtype == "float64"
    many = Comparison(KEY, "base", "cand", [_row(f"t{i:03d}", "same", 0.0) for i in range(100)], max_rows=10)
    assert "90 more rows" in many._text_twin() and "90 more rows" in many._repr_html_()


def test_blind_tests_are_explained() -> None:
    row = ComparisonRow("t", "ms", "noise", "mann-whitney", 10, 12, 0.2, 0.1, 3, 3)
    text = Comparison(KEY, "a", "b", [row])._text_twin()
    assert "cannot reach significance" in text  # 3 vs 3 samples: the smallest possible p-value is 0.1


def test_regression_error_pickles_and_is_in_the_tree() -> None:
    err = StorageRegressionError("1 regression", ("row",))
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, StorageError) and isinstance(again, AssertionError) and again.regressions == ("row",)
