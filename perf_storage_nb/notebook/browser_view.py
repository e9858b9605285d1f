"""The storage browser's widget tree and status line: built from core ipywidgets only, no storage I/O here.

Core widgets only (Dropdown, Select, Text, Combobox, HTML, Tab, Button, boxes), like ipyfilechooser, so it
works wherever ipywidgets does (JupyterLab, Notebook 7, VS Code, Colab).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import ipywidgets as widgets

from ..display import esc
from ..display.theme import TEXT_MUTED, TONES, css
from .browser_helpers import one_line

__all__ = ["BrowserView", "guarded"]

Layout = widgets.Layout
_CLOSED_RULE = css("border-left", f"3px solid {TONES['muted']}")


class BrowserView(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any to mypy
    """Every widget of the browser, laid out; the status line; quiet programmatic changes; closing all parts."""

    def __init__(self, backends: list[str], **kwargs: Any) -> None:
        self._quiet_depth = 0
        self._build(backends)
        super().__init__(children=self._layout_children(), **kwargs)
        self.add_class("psnb-browser")

    def _build(self, names: list[str]) -> None:
        # Widths are flexible bases, not fixed sizes, and every row wraps: the browser fits a narrow notebook
        # (~500 px) and uses the room of a wide one.
        label = {"description_width": "initial"}
        self._backend = widgets.Dropdown(
            options=names,
            value=names[0],
            description="backend",
            disabled=len(names) == 1,
            style=label,
            layout=_flex("1 1 160px", max_width="240px"),
        )
        self._session = widgets.Dropdown(description="session", style=label, layout=_flex("1 1 200px", "300px"))
        self._target = widgets.Dropdown(description="target", style=label, layout=_flex("1 1 200px", "300px"))
        self._refresh = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="list sessions, targets and keys again",
            layout=Layout(width="auto", flex="0 0 auto"),
        )
        self._filter = widgets.Text(
            placeholder="filter keys: substring or glob (*.json)",
            continuous_update=True,
            layout=_flex("1 1 220px", max_width="360px"),
        )
        self._prev = widgets.Button(description="◀", tooltip="previous page", layout=Layout(width="40px"))
        self._next = widgets.Button(description="▶", tooltip="next page", layout=Layout(width="40px"))
        self._page_info = widgets.HTML(layout=Layout(width="auto", flex="0 1 auto", min_width="0"))
        self._keys = widgets.Select(rows=14, layout=_flex("1 1 240px", max_width="360px"))
        self._keys.add_class("psnb-keys")
        # Previews scroll inside their pane (a wide table or a long line never pushes the browser wider).
        self._preview = widgets.HTML(layout=Layout(width="100%", overflow="auto"))
        self._preview.add_class("psnb-preview")
        self._raw = widgets.HTML(layout=Layout(width="100%", overflow="auto"))
        self._meta = widgets.HTML(layout=Layout(width="100%", overflow="auto"))
        self._diff_session = widgets.Dropdown(description="session", style=label, layout=_flex("1 1 200px", "300px"))
        self._diff_target = widgets.Dropdown(description="target", style=label, layout=_flex("1 1 200px", "300px"))
        self._diff_key = widgets.Combobox(
            description="key", ensure_option=False, style=label, layout=_flex("1 1 220px", "400px")
        )
        self._diff_run = widgets.Button(
            description="Diff",
            icon="columns",
            tooltip="diff the selected key with this one",
            layout=Layout(width="auto", flex="0 0 auto"),
        )
        self._diff_view = widgets.HTML(layout=Layout(width="100%", overflow="auto"))
        for widget, name in (
            (self._diff_target, "psnb-diff-target"),
            (self._diff_key, "psnb-diff-key"),
            (self._diff_run, "psnb-diff-run"),
            (self._diff_view, "psnb-diff-view"),
        ):
            widget.add_class(name)  # stable handles for tests and user CSS
        diff_tab = widgets.VBox(
            [
                widgets.HTML("<small>compare the selected key with:</small>"),
                _row([self._diff_session, self._diff_target]),
                _row([self._diff_key, self._diff_run]),
                self._diff_view,
            ],
            layout=Layout(width="100%", min_width="0"),
        )
        self._tabs = widgets.Tab(
            children=[self._preview, self._raw, self._meta, diff_tab], layout=_flex("3 1 320px", min_width="0")
        )
        for i, title in enumerate(("Preview", "Raw", "Meta", "Diff")):
            self._tabs.set_title(i, title)  # set_title works on ipywidgets 7 and 8 alike
        self._delete = widgets.Button(
            description="Delete",
            icon="trash",
            button_style="danger",
            disabled=True,
            layout=Layout(width="auto", flex="0 0 auto"),
        )
        self._confirm_text = widgets.HTML()
        self._confirm_yes = widgets.Button(
            description="Yes, delete", button_style="danger", layout=Layout(width="auto")
        )
        self._confirm_no = widgets.Button(description="Cancel", layout=Layout(width="auto"))
        self._confirm = widgets.HBox(
            [self._confirm_text, self._confirm_yes, self._confirm_no],
            layout=Layout(display="none", flex_flow="row wrap", align_items="center"),
        )
        self._var_name = widgets.Text(placeholder="variable name", layout=_flex("1 1 140px", max_width="220px"))
        self._load = widgets.Button(
            description="Load into variable",
            icon="download",
            disabled=True,
            layout=Layout(width="auto", flex="0 0 auto"),
        )
        self._status = widgets.HTML(layout=Layout(width="100%"))
        self._status.add_class("psnb-status")

    def _layout_children(self) -> list[Any]:
        return [
            _row([self._backend, self._session, self._target, self._refresh]),
            _row([self._filter, self._prev, self._page_info, self._next]),
            _row([self._keys, self._tabs], align_items="flex-start"),
            _row([self._delete, self._confirm, self._var_name, self._load]),
            self._status,
        ]

    # ---- status line ---------------------------------------------------------------------------------------
    def _show_error(self, exc: BaseException) -> None:
        self._show_message(one_line(exc), error=True)

    def _show_message(self, text: str, *, error: bool = False) -> None:
        color = TONES["bad"] if error else TEXT_MUTED
        mark = "⚠ " if error else ""
        self._status.value = (
            f"<div style='color:{color};white-space:nowrap;overflow:hidden;text-overflow:ellipsis' "
            f"title='{esc(text)}'>{mark}{esc(text)}</div>"
        )

    def _clear_status(self) -> None:
        self._status.value = ""

    def _hide_confirm(self) -> None:
        self._confirm.layout.display = "none"

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Programmatic changes inside do not fire our own handlers."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _walk(self, widget: Any = None) -> Iterator[Any]:
        for child in getattr(widget or self, "children", ()):
            yield from self._walk(child)
            yield child

    def retire(self, message: str) -> None:
        """Close every part but the status line, which stays where the browser was and says ``message``."""
        keep = self._status
        keep.value = (
            f"<div class='psnb-closed' style='color:{TEXT_MUTED};font-style:italic;padding:4px 6px;line-height:1.4;"
            f"{_CLOSED_RULE}'>{esc(message)}</div>"
        )
        parts = [child for child in self._walk() if child is not keep]
        self.children = (keep,)  # the front end redraws the box with the placeholder first
        self._close_parts(parts)

    def _close_parts(self, parts: list[Any]) -> None:
        for child in parts:
            # Layout and style are widgets with their own comms; close them too (ipywidgets#3995).
            for part in (getattr(child, "layout", None), getattr(child, "style", None), child):
                if isinstance(part, widgets.Widget):
                    part.close()

    def close(self) -> None:
        """Close the browser and every child widget (their comms are released)."""
        self._close_parts(list(self._walk()))
        layout = self.layout
        super().close()
        if isinstance(layout, widgets.Widget):
            layout.close()  # the box's own layout has a comm too


def _flex(flex: str, max_width: str = "none", min_width: str = "120px") -> Any:
    """A layout that grows and shrinks from the ``flex`` basis, between the two widths."""
    return Layout(width="auto", flex=flex, min_width=min_width, max_width=max_width)


def _row(children: list[Any], align_items: str = "center") -> Any:
    """A row that wraps onto more lines when the notebook is narrow (nothing is cut off)."""
    return widgets.HBox(children, layout=Layout(flex_flow="row wrap", align_items=align_items, width="100%"))


V = TypeVar("V", bound="BrowserView")
P = ParamSpec("P")
R = TypeVar("R")


# Classic TypeVar/ParamSpec, not PEP 695 brackets: the repository's structure check parses with Python 3.11.
def guarded(method: Callable[Concatenate[V, P], R]) -> Callable[Concatenate[V, P], R | None]:  # noqa: UP047
    """Run a handler and turn any failure into the widget's one-line status (never a dead widget)."""

    def wrapper(self: V, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user in the status line
            self._show_error(exc)
            return None

    functools.update_wrapper(wrapper, method)
    return wrapper
