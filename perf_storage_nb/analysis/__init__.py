"""From stored results to a decision: collect, compare (noise-aware verdicts), plot and matrix across sessions.

Needs the ``analysis`` extra (``pip install 'perf_storage_nb[analysis]'``: pandas, scipy, matplotlib). They
are imported only when used: ``import perf_storage_nb`` and ``import perf_storage_nb.analysis`` stay light,
and :func:`plot` loads matplotlib on first use. Example::

    from perf_storage_nb.analysis import collect, compare, plot, matrix

    frame = collect(storage, "results/timings.json", fields=["latency_ms"])       # tidy DataFrame
    result = compare(storage, "run_a", "run_b", "results/timings.json", tol="5%")  # verdicts per target x field
    result.raise_for_regressions()                                                  # a CI gate
    plot(storage, "results/timings.json", "latency_ms", sessions=["run_a", "run_b"])
    matrix(storage, "run_a", "run_b", stages=("source/", "graphs/", "output/"))

The package by job: :mod:`.fields` (field paths), :mod:`.loading` and :mod:`.cache_loading` (bulk loads),
:mod:`.collect`, :mod:`.stats` (verdicts), :mod:`.compare` and :mod:`.comparison` (its result),
:mod:`.figures` (plot), :mod:`.matrix` and :mod:`.matrix_result`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .collect import collect, collect_rows
from .compare import compare
from .comparison import Comparison, ComparisonRow
from .matrix import matrix
from .matrix_result import Matrix, MatrixCell
from .stats import VERDICTS, Tolerance, judge

if TYPE_CHECKING:
    from .figures import AnalysisFigure, plot

__all__ = [
    "VERDICTS",
    "AnalysisFigure",
    "Comparison",
    "ComparisonRow",
    "Matrix",
    "MatrixCell",
    "Tolerance",
    "collect",
    "collect_rows",
    "compare",
    "judge",
    "matrix",
    "plot",
]


def __getattr__(name: str) -> Any:
    # figures.py imports matplotlib at module level (its Figure subclass): load it on first use only.
    if name in ("plot", "AnalysisFigure"):
        from . import figures as module

        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perf_storage_nb.analysis' has no attribute {name!r}")
