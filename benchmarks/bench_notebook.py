"""Notebook layer: cost of %load_ext over a bare IPython start, import cost of the package, diff speed.

Run alone: ``.venv/bin/python -m benchmarks --only notebook``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .harness import Report

ROOT = Path(__file__).resolve().parents[1]
SECTION = "notebook"

_BARE_IPYTHON = "from IPython.core.interactiveshell import InteractiveShell; ip = InteractiveShell.instance()"
# Each child prints how long its measured step took (in-process), so interpreter start/teardown noise stays out.
_WITH_EXT = (
    _BARE_IPYTHON + "; import time; t = time.perf_counter(); ip.run_line_magic('load_ext', 'perf_storage_nb'); "
    "print((time.perf_counter() - t) * 1000)"
)
_IMPORT = (
    "import sys, time; t = time.perf_counter(); import perf_storage_nb; ms = (time.perf_counter() - t) * 1000; "
    "assert 'perf_storage_nb.notebook.magics' not in sys.modules and 'IPython' not in sys.modules; print(ms)"
)


def _child_ms(code: str, rounds: int, ipython_dir: str) -> tuple[float, float]:
    """Median (wall ms of a fresh interpreter running ``code``, ms the child printed for its measured step)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IPYTHONDIR": ipython_dir}
    walls, inner = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, env=env, cwd=ROOT, capture_output=True, text=True
        ).stdout
        walls.append((time.perf_counter() - start) * 1000)
        inner.append(float(out.strip() or "nan"))
    return statistics.median(walls), statistics.median(inner)


def _doc(n_nodes: int, bump: int) -> dict[str, Any]:
    """A JSON document of about ``n_nodes`` nodes (6 per entry); every ``bump``-th entry differs."""
    entries = n_nodes // 6
    return {
        f"k{i:05d}": {"a": i + (1 if bump and i % bump == 0 else 0), "b": [i, i * 0.5], "c": f"s{i}"}
        for i in range(entries)
    }


def _best_ms(fn: Any, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def run(report: Report) -> None:
    """Add the notebook figures to ``report``."""
    import tempfile

    from perf_storage_nb.diff import diff_values

    rounds = 3 if report.quick else 7
    with tempfile.TemporaryDirectory() as ipython_dir:
        python, _ = _child_ms("print(0)", rounds, ipython_dir)
        bare, _ = _child_ms(_BARE_IPYTHON + "; print(0)", rounds, ipython_dir)
        with_ext, load_ms = _child_ms(_WITH_EXT, rounds, ipython_dir)
        imported, import_ms = _child_ms(_IMPORT, rounds, ipython_dir)
    report.add(
        SECTION,
        "%load_ext perf_storage_nb (in the child)",
        load_ms,
        "ms",
        anchor_name="bare IPython start",
        anchor_value=bare,
        aim="< 300 ms",
    )
    report.add(
        SECTION, "%load_ext: wall over bare IPython start", with_ext - bare, "ms", note="noisy: two process medians"
    )
    report.add(
        SECTION,
        "import perf_storage_nb (in the child)",
        import_ms,
        "ms",
        anchor_name="bare python start",
        anchor_value=python,
        aim="< 100 ms",
        note="notebook layer and IPython not imported (asserted)",
    )
    report.add(
        SECTION, "import: wall over bare python start", imported - python, "ms", note="noisy: two process medians"
    )

    from deepdiff import DeepDiff

    # Diff cost against document size: 10,000 nodes is the aim; the sweep shows how it scales.
    sizes = (1_000, 10_000) if report.quick else (1_000, 10_000, 50_000)
    for n in sizes:
        before, after = _doc(n, 0), _doc(n, 20)
        result = diff_values(before, after)
        diff_rounds = rounds if n <= 10_000 else 2
        ours = _best_ms(lambda: diff_values(before, after), diff_rounds)  # noqa: B023 - called in this iteration
        raw = _best_ms(lambda: DeepDiff(before, after, view="tree", threshold_to_diff_deeper=0), diff_rounds)  # noqa: B023
        report.add(
            SECTION,
            f"diff_values, two {n:,}-node JSON docs",
            ours,
            "ms",
            anchor_name="raw DeepDiff tree",
            anchor_value=raw,
            aim="< 1000 ms" if n == 10_000 else "",
            note=f"{result.changed} changed rows",
        )
        text_ms = _best_ms(lambda: (result.to_text(), result._repr_html_()), rounds)  # noqa: B023
        report.add(SECTION, f"render that diff (text + HTML), {n:,} nodes", text_ms, "ms")
