"""The report's baseline part: the comparison table(s), the per-target matrix and one diff page per differing key.

Statuses come from ``analysis.matrix`` (by content hash), verdicts from ``analysis.compare``, diffs from
``diff.diff_keys``; each is drawn by its own renderer and only linked here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..display import code, esc, muted, status_badge, table
from ..errors import StorageError
from .site import diff_path, index_path, link, target_path

if TYPE_CHECKING:
    from ..analysis import Matrix
    from ..base import BaseStorage
    from .writer import Target, Writer

__all__ = ["MATRIX_KEYS", "Baseline", "diff_link", "status_cell"]

MATRIX_KEYS = 40  # key columns of the matrix on the start page (every key is on its target's page)


def status_cell(here: str, target: str, key: str, status: str) -> str:
    """A status badge; for a key that differs, a link to its diff page."""
    if status == "same":
        return muted("same")
    return f"<a href='{esc(link(here, diff_path(target, key)))}'>{status_badge(status)}</a>"


def diff_link(here: str, target: str, key: str, status: str | None) -> str:
    """On a key's page: its status against the baseline, linked to the diff when it differs."""
    if status is None:
        return ""
    return f"<p>against the baseline: {status_cell(here, target, key, status)}</p>"


class Baseline:
    """The exported session against a baseline session of the same backend."""

    def __init__(self, storage: BaseStorage, baseline: str, session: str, targets: list[Target], writer: Writer):
        self.storage = storage
        self.baseline = baseline
        self.session = session
        self.targets = {t.name: t for t in targets}
        self.writer = writer

    def sections(self, compare_keys: list[str] | None, options: dict[str, Any]) -> tuple[str, int, list[str]]:
        """HTML of the comparison and matrix sections, the number of regressions, and notes for the result."""
        from ..analysis import compare, matrix  # pandas/scipy: only for a report against a baseline

        found = matrix(self.storage, self.baseline, self.session, stages=options.pop("stages", None), details=False)
        for cell in found.cells:
            target = self.targets.get(cell.target)
            if target is not None:
                target.status[cell.key] = cell.status
            if cell.status != "same":
                self._diff_page(cell.target, cell.key, cell.status, options)
        notes: list[str] = []
        parts: list[str] = []
        regressions = 0
        for key in compare_keys if compare_keys is not None else self._json_keys():
            try:
                result = compare(self.storage, self.baseline, self.session, key, **options)
            except StorageError as exc:
                notes.append(f"{key}: not compared ({exc})")
                continue
            if not result.rows:
                continue
            regressions += len(result.regressions)
            parts.append(f"<div class='psnb-export-comparison' style='margin-bottom:12px'>{result._repr_html_()}</div>")
        if not parts:
            parts.append(muted("no JSON key with numbers in both sessions", "p"))
        matrix_html = self._matrix_html(found)
        return "<h2>Comparison</h2>" + "".join(parts) + matrix_html, regressions, notes

    def _json_keys(self) -> list[str]:
        """JSON keys of the exported session that the baseline also holds (in any target)."""
        keys = {
            i.key
            for t in self.targets.values()
            for i in t.infos
            if i.kind == "json" and t.status.get(i.key) in ("same", "changed")
        }
        return sorted(keys)

    def _diff_page(self, target: str, key: str, status: str, options: dict[str, Any]) -> None:
        from ..diff import diff_keys

        here = diff_path(target, key)
        a = f"{self.baseline}/{target}:{key}"
        b = f"{self.session}/{target}:{key}"
        base = self.storage.for_session(self.baseline, target)
        cand = self.storage.for_session(self.session, target)
        tolerances = {"rel_tol": options.get("tol"), "abs_tol": options.get("abs_tol") or None}
        result = diff_keys(base, key, cand, key, labels=(a, b), **tolerances)
        crumbs = [("report", index_path())]
        if target in self.targets:
            crumbs.append((target, target_path(target)))
        crumbs.append((f"diff {key}", ""))
        self.writer.write(here, f"{key}: {self.baseline} → {self.session}", result._repr_html_(), crumbs)

    def _matrix_html(self, found: Matrix) -> str:
        here = index_path()
        keys = found.keys[:MATRIX_KEYS]
        headers = ["target", *keys, *(["first divergent stage"] if found.stages else [])]
        rows = []
        for target in found.targets:
            name = target
            if target in self.targets:
                name = f"<a href='{esc(link(here, target_path(target)))}'>{esc(target)}</a>"
            cells = [name]
            for key in keys:
                cell = found.cell(target, key)
                cells.append("" if cell is None else status_cell(here, target, key, cell.status))
            if found.stages:
                cells.append(code(found.first_divergent(target) or "-"))
            rows.append(cells)
        more = len(found.keys) - len(keys)
        tail = muted(f"… {more} more keys: see each target's page", "p") if more > 0 else ""
        counts = ", ".join(f"{n} {status}" for status, n in found.counts().items())
        head = muted(esc(f"{self.baseline} → {self.session}: {counts}"), "p")
        return f"<h2>Matrix against {esc(self.baseline)}</h2>{head}{table(headers, rows)}{tail}"
