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
from ..display.theme import TEXT_MUTED, TONES
from .browser_helpers import one_line

__all__ = ["BrowserView", "guarded"]

Layout = widgets.Layout


class BrowserView(widgets.VBox):  # type: ignore[misc]  # ipywidgets ships no types: VBox is Any to mypy
    """Every widget of the browser, laid out; the status line; quiet programmatic changes; closing all parts."""

    def __init__(self, backends: list[str], **kwargs: Any) -> None:
        self._quiet_depth = 0
        self._build(backends)
        super().__init__(children=self._layout_children(), **kwargs)
        self.add_class("psnb-browser")

    def _build(self, names: list[str]) -> None:
        self._backend = widgets.Dropdown(
            options=names, value=names[0], description="backend", disabled=len(names) == 1, layout=Layout(width="220px")
        )
        self._session = widgets.Dropdown(description="session", layout=Layout(width="260px"))
        self._target = widgets.Dropdown(description="target", layout=Layout(width="260px"))
        self._refresh = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="list sessions, targets and keys again",
            layout=Layout(width="100px"),
        )
        self._filter = widgets.Text(
            placeholder="filter keys: substring or glob (*.json)", continuous_update=True, layout=Layout(width="300px")
        )
        self._prev = widgets.Button(description="◀", tooltip="previous page", layout=Layout(width="40px"))
        self._next = widgets.Button(description="▶", tooltip="next page", layout=Layout(width="40px"))
        self._page_info = widgets.HTML()
        self._keys = widgets.Select(rows=18, layout=Layout(width="320px"))
        self._keys.add_class("psnb-keys")
        self._preview = widgets.HTML(layout=Layout(width="100%"))
        self._preview.add_class("psnb-preview")
        self._raw = widgets.HTML()
        self._meta = widgets.HTML()
        self._diff_session = widgets.Dropdown(description="session", layout=Layout(width="260px"))
        self._diff_target = widgets.Dropdown(description="target", layout=Layout(width="260px"))
        self._diff_key = widgets.Combobox(description="key", ensure_option=False, layout=Layout(width="360px"))
        self._diff_run = widgets.Button(
            description="Diff", icon="columns", tooltip="diff the selected key with this one"
        )
        self._diff_view = widgets.HTML()
        diff_tab = widgets.VBox(
            [
                widgets.HTML("<small>compare the selected key with:</small>"),
                widgets.HBox([self._diff_session, self._diff_target]),
                widgets.HBox([self._diff_key, self._diff_run]),
                self._diff_view,
            ]
        )
        self._tabs = widgets.Tab(
            children=[self._preview, self._raw, self._meta, diff_tab], layout=Layout(flex="1 1 auto", min_width="0")
        )
        for i, title in enumerate(("Preview", "Raw", "Meta", "Diff")):
            self._tabs.set_title(i, title)  # set_title works on ipywidgets 7 and 8 alike
        self._delete = widgets.Button(description="Delete", icon="trash", button_style="danger", disabled=True)
        self._confirm_text = widgets.HTML()
        self._confirm_yes = widgets.Button(description="Yes, delete", button_style="danger")
        self._confirm_no = widgets.Button(description="Cancel")
        self._confirm = widgets.HBox(
            [self._confirm_text, self._confirm_yes, self._confirm_no], layout=Layout(display="none")
        )
        self._var_name = widgets.Text(placeholder="variable name", layout=Layout(width="180px"))
        self._load = widgets.Button(
            description="Load into variable", icon="download", disabled=True, layout=Layout(width="170px")
        )
        self._status = widgets.HTML(layout=Layout(width="100%"))
        self._status.add_class("psnb-status")

    def _layout_children(self) -> list[Any]:
        return [
            widgets.HBox([self._backend, self._session, self._target, self._refresh]),
            widgets.HBox([self._filter, self._prev, self._page_info, self._next]),
            widgets.HBox([self._keys, self._tabs]),
            widgets.HBox([self._delete, self._confirm, self._var_name, self._load]),
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

    def close(self) -> None:
        """Close the browser and every child widget (their comms are released)."""
        for child in list(self._walk()):
            # Layout and style are widgets with their own comms; close them too (ipywidgets#3995).
            for part in (getattr(child, "layout", None), getattr(child, "style", None), child):
                if isinstance(part, widgets.Widget):
                    part.close()
        super().close()


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
