"""The browser's "compare sessions" view: a grid of a :class:`~perf_storage_nb.analysis.Matrix`, one button per
differing key; clicking one shows that key's deep diff (baseline vs candidate) under the grid.

Core ipywidgets only (GridBox, Button, HTML), like the browser. The diff goes into ``widgets.HTML.value`` (never
into an ``Output``), and the view also carries the matrix's static HTML, so nbval and static renderings see
something stable. Opened by ``StorageBrowser.compare_sessions(...)`` or ``%storage matrix BASELINE --browse``.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..analysis import Matrix, matrix
from ..analysis.matrix_result import MAX_KEYS, MAX_TARGETS, SYMBOLS, MatrixCell
from ..base import BaseStorage
from ..diff import diff_keys
from ..display import TONES, code, esc
from .browser_helpers import one_line

__all__ = ["SessionCompareView", "open_compare"]

_STYLES = {"changed": "warning", "added": "success", "removed": "danger"}


def open_compare(storage: BaseStorage, baseline: str, candidate: str, **options: Any) -> SessionCompareView:
    """The view of ``candidate`` against ``baseline`` on ``storage``'s backend (``options``: those of ``matrix``)."""
    return SessionCompareView(storage, matrix(storage, baseline, candidate, **options))


class SessionCompareView(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any to mypy
    """A matrix as a grid of buttons (differing keys of differing targets); a click shows that key's deep diff."""

    def __init__(self, storage: BaseStorage, result: Matrix, **kwargs: Any) -> None:
        self.storage = storage
        self.matrix = result
        self.selected: tuple[str, str] | None = None
        targets = result.differing_targets()[:MAX_TARGETS]
        self.columns = sorted({c.key for c in result.cells if c.status != "same"})[:MAX_KEYS]
        #: (target, key) -> the button of that cell, for differing cells
        self.buttons: dict[tuple[str, str], Any] = {}
        self._status = widgets.HTML()
        self._diff = widgets.HTML("<i>click a changed cell to see what changed</i>")
        self._diff.add_class("psnb-compare-diff")
        header = widgets.HTML(result._html_body() if not targets else _head(result))
        children = [header]
        if targets:
            children.append(self._grid(targets))
        children += [self._status, self._diff]
        super().__init__(children=children, **kwargs)
        self.add_class("psnb-compare-view")

    def _grid(self, targets: list[str]) -> Any:
        cells: list[Any] = [widgets.HTML("<b>target</b>")]
        cells += [widgets.HTML(f"<b>{code(k)}</b>", layout=widgets.Layout(overflow="hidden")) for k in self.columns]
        for target in targets:
            cells.append(widgets.HTML(code(target)))
            for key in self.columns:
                cells.append(self._cell(self.matrix.cell(target, key)))
        columns = f"max-content repeat({len(self.columns)}, max-content)"
        grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns=columns, grid_gap="2px 6px"))
        grid.add_class("psnb-compare-grid")
        return grid

    def _cell(self, cell: MatrixCell | None) -> Any:
        if cell is None:
            return widgets.HTML("")
        if cell.status == "same":
            return widgets.HTML(f"<span title='same'>{esc(SYMBOLS['same'])}</span>")
        label = SYMBOLS[cell.status] + (f" {cell.summary}" if cell.summary else f" {cell.status}")
        button = widgets.Button(
            description=label,
            button_style=_STYLES[cell.status],
            tooltip=f"{cell.target} {cell.key}: {cell.status} - click for the deep diff",
            layout=widgets.Layout(width="auto"),
        )
        button.on_click(lambda _b, t=cell.target, k=cell.key: self._on_click(t, k))
        self.buttons[(cell.target, cell.key)] = button
        return button

    def _on_click(self, target: str, key: str) -> None:
        try:
            self.show_diff(target, key)
        except Exception as exc:  # noqa: BLE001 - shown in the view's status line: never a dead widget
            self._status.value = f"<span style='color:{TONES['bad']}'>⚠ {esc(one_line(exc))}</span>"

    def show_diff(self, target: str, key: str) -> None:
        """Show the deep diff of ``key`` in ``target``: baseline session against candidate session."""
        m = self.matrix
        before = self.storage.for_session(m.baseline, target)
        after = self.storage.for_session(m.candidate, target)
        labels = (f"{m.baseline}/{target}:{key}", f"{m.candidate}/{target}:{key}")
        result = diff_keys(before, key, after, key, labels=labels)
        self.selected = (target, key)
        self._diff.value = result._repr_html_()
        self._status.value = f"<small>diff of {code(key)} in {code(target)}</small>"

    def close(self) -> None:
        """Close the view and every child widget (their comms are released)."""
        for child in [*self.children, *getattr(self.children[1], "children", ())]:
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"SessionCompareView({self.matrix!r})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = repr(self)
            bundle["text/html"] = self.matrix._html_body()  # static renderings (GitHub, nbconvert) see the grid
        return bundle


def _head(result: Matrix) -> str:
    """The matrix's head line only (its grid is drawn by the buttons below)."""
    body = result._html_body()
    cut = body.find("<table")
    return body if cut < 0 else body[:cut] + "</div>"
