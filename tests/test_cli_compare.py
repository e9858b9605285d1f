"""``perf-storage compare``: analysis.compare's verdicts from the command line; exit 1 on any 'worse' (a CI gate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import cli

from perf_storage_nb import LocalStorage

pytest.importorskip("perf_storage_nb.analysis", reason="needs perf_storage_nb.analysis (the analysis branch)")
pytest.importorskip("scipy", reason="needs the analysis extra: pip install -e '.[analysis]'")

KEY = "results/timings.json"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "perf_results"
    for target, (base, fast, slow) in {"item_001": (10.0, 10.1, 14.0), "item_002": (20.0, 20.2, 20.1)}.items():
        for session, mid in (("baseline", base), ("same", fast), ("slower", slow)):
            samples = [mid, mid + 0.2, mid - 0.1, mid + 0.1, mid - 0.2]  # 5 a side: a U test can be significant
            LocalStorage(session, target, root=root).save(KEY, {"latency_ms": samples})
    return tmp_path


def test_compare_exit_codes_gate_ci(work: Path) -> None:
    ok = cli("compare", "baseline", "same", KEY, "--tol", "5%", cwd=work)
    assert ok.code == 0, ok.err
    worse = cli("compare", "baseline", "slower", KEY, "--tol", "5%", cwd=work)
    assert worse.code == 1 and "worse" in worse.out and "item_001" in worse.out


def test_compare_json_matches_the_python_api(work: Path) -> None:
    import dataclasses

    from perf_storage_nb.analysis import compare

    storage = LocalStorage("x", "x", root=work / "perf_results")
    expected = compare(storage, "baseline", "slower", KEY, tol="5%")
    got = cli("compare", "baseline", "slower", KEY, "--tol", "5%", "--json", cwd=work).json()
    assert got["regressions"] == len(expected.regressions) >= 1
    assert got["key"] == KEY and got["baseline"] == "baseline" and got["candidate"] == "slower"
    assert got["counts"] == expected.counts()
    assert [(r["target"], r["field"], r["verdict"]) for r in got["rows"]] == [
        (r.target, r.field, r.verdict) for r in expected.rows
    ]
    assert set(got["rows"][0]) == {f.name for f in dataclasses.fields(expected.rows[0])}


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["compare", "baseline", "baseline", KEY], "compare two different sessions"),
        (["compare", "baseline", "same", "../x"], "invalid key"),
        (["compare", "base line", "same", KEY], "write SESSION"),
        (["compare", "baseline", "same", KEY, "--tol", "lots"], "lots"),
    ],
)
def test_compare_bad_input_exits_2(work: Path, args: list[str], expect: str) -> None:
    run = cli(*args, cwd=work)
    assert run.code == 2 and run.err.count("\n") == 1 and expect in run.err, run.err
