"""A session as a static, self-contained HTML report: no server, no Jupyter, no network (``perf-storage export``).

Example::

    from perf_storage_nb.export import export_report
    result = export_report(storage, "exp1", "build/report", against="baseline")
    result.index   # build/report/index.html: open it in any browser

An index of targets (key counts, sizes), a page per target and one per key (rendered as ``%storage show``
renders it: stored HTML in a sandboxed iframe), and against a baseline the comparison, the per-target matrix
and a diff page for each key that differs. Pages read well in light and dark (``prefers-color-scheme``).
"""

from __future__ import annotations

from .build import export_report
from .result import ExportResult

__all__ = ["ExportResult", "export_report"]
