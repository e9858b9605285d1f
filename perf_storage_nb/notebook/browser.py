"""StorageBrowser: a core-ipywidgets browser of backends, sessions, targets and keys.

Built from core widgets only (Dropdown, Select, Text, Combobox, HTML, Tab, Button, boxes), like
ipyfilechooser, so it works wherever ipywidgets does (JupyterLab, Notebook 7, VS Code, Colab). Each level is
listed lazily (sessions once, targets of the chosen session, keys of the chosen target) and the key list is
filtered and paged in Python, so a target of 10,000 keys costs one listing call and one small ``Select``.
Previews go into ``widgets.HTML.value`` (never into an ``Output``), which keeps nbval comparisons stable.
"""

from __future__ import annotations

import functools
import html
import keyword
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

import ipywidgets as widgets

from ..addressing import filter_keys  # one filter rule for this box and `%storage ls PATTERN`
from ..base import BaseStorage, KeyInfo
from ..diff import load_kind
from .render import preview_html, preview_text

__all__ = ["StorageBrowser", "filter_keys", "page_of", "snapshot_html", "var_name_for"]

PAGE_SIZE = 200  # options per page of the key list: big enough to scroll, small enough to sync instantly
MAX_PREVIEW_BYTES = 1_000_000  # larger values are not fetched for the preview; "Load" still gets them
MAX_RAW_CHARS = 20_000  # characters of the "Raw" tab
MAX_DIFF_OPTIONS = 1_000  # autocompletion options of the diff key box
SNAPSHOT_KEYS = 50  # keys listed in the static text/html snapshot


P = ParamSpec("P")
R = TypeVar("R")

#: the one live browser of this kernel (ipywidgets#3995: every open browser keeps its comms alive)
_live: StorageBrowser | None = None


# ---- pure helpers (tested without widgets) ------------------------------------------------------------
def page_of(items: Sequence[str], page: int, size: int) -> tuple[list[str], int, int]:
    """``(items of the page, clamped page index, page count)``; an empty list has one empty page."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    return list(items[page * size : (page + 1) * size]), page, pages


def var_name_for(key: str) -> str:
    """A Python identifier derived from ``key`` (``runs/a-1.json`` -> ``a_1``)."""
    stem = key.rsplit("/", 1)[-1].split(".", 1)[0]
    name = re.sub(r"\W+", "_", stem).strip("_") or "value"
    if name[0].isdigit():
        name = f"v_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


def snapshot_html(
    backend: str,
    sessions: Sequence[str],
    session: str | None,
    targets: Sequence[str],
    target: str | None,
    keys: Sequence[str],
    total: int,
    selected: str | None = None,
) -> str:
    """Static HTML listing shown where widgets cannot render (GitHub, nbviewer, nbconvert)."""
    esc = html.escape
    where = " / ".join(f"<code>{esc(p)}</code>" for p in (backend, session, target) if p)
    rows = "".join(
        f"<li>{'<b>' if k == selected else ''}<code>{esc(k)}</code>{'</b>' if k == selected else ''}</li>" for k in keys
    )
    more = f"<li>… {total - len(keys):,} more</li>" if total > len(keys) else ""
    return (
        "<div class='psnb-browser-snapshot'>"
        f"<p><b>StorageBrowser</b> {where} — {len(sessions):,} session(s), {len(targets):,} target(s) in this "
        f"session, {total:,} key(s) in this target</p>"
        f"<p>sessions: {esc(', '.join(sessions[:20]))}{' …' if len(sessions) > 20 else ''}</p>"
        f"<ul>{rows}{more}</ul>"
        "<p><i>Static snapshot; run the notebook to browse interactively.</i></p></div>"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


# Classic TypeVar/ParamSpec, not PEP 695 brackets: the repository's structure check parses with Python 3.11.
def _guarded(  # noqa: UP047
    method: Callable[Concatenate[StorageBrowser, P], R],
) -> Callable[Concatenate[StorageBrowser, P], R | None]:
    """Run a handler and turn any failure into the widget's one-line status (never a dead widget)."""

    @functools.wraps(method)
    def wrapper(self: StorageBrowser, *args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the user in the status line
            self._show_error(exc)
            return None

    return wrapper


class StorageBrowser(widgets.VBox):
    """Browse sessions, targets and keys of a storage; preview, inspect, diff, delete and load keys."""

    def __init__(
        self,
        storage: BaseStorage | Mapping[str, BaseStorage],
        *,
        page_size: int = PAGE_SIZE,
        max_preview_bytes: int = MAX_PREVIEW_BYTES,
        **kwargs: Any,
    ) -> None:
        global _live
        if _live is not None and _live is not self:
            _live.close()  # one live browser per kernel
        if isinstance(storage, Mapping):
            self._storages: dict[str, BaseStorage] = dict(storage)
        else:
            self._storages = {storage.backend_name or type(storage).__name__: storage}
        if not self._storages:
            raise ValueError("StorageBrowser needs at least one storage")
        self._page_size = max(1, int(page_size))
        self._max_preview_bytes = int(max_preview_bytes)
        self._callbacks: list[Callable[[StorageBrowser], Any]] = []
        self._close_callbacks: list[Callable[[], Any]] = []
        self._quiet_depth = 0
        self._sessions: list[str] = []
        self._targets: list[str] = []
        self._all_keys: list[str] = []
        self._matching: list[str] = []
        self._page = 0
        self._shown: tuple[str, str, str] | None = None  # what the preview panes show now
        #: the value fetched by the last "Load into variable" (also the only place it goes without a shell)
        self.loaded: Any = None
        self._build()
        super().__init__(children=self._layout_children(), **kwargs)
        self.add_class("psnb-browser")
        _live = self
        self._open_backend(next(iter(self._storages)))

    # ---- construction ---------------------------------------------------------------------------------
    def _build(self) -> None:
        names = list(self._storages)
        self._backend = widgets.Dropdown(
            options=names,
            value=names[0],
            description="backend",
            disabled=len(names) == 1,
            layout=widgets.Layout(width="220px"),
        )
        self._session = widgets.Dropdown(description="session", layout=widgets.Layout(width="260px"))
        self._target = widgets.Dropdown(description="target", layout=widgets.Layout(width="260px"))
        self._refresh = widgets.Button(
            description="Refresh",
            icon="refresh",
            tooltip="list sessions, targets and keys again",
            layout=widgets.Layout(width="100px"),
        )
        self._filter = widgets.Text(
            placeholder="filter keys: substring or glob (*.json)",
            continuous_update=True,
            layout=widgets.Layout(width="300px"),
        )
        self._prev = widgets.Button(description="◀", tooltip="previous page", layout=widgets.Layout(width="40px"))
        self._next = widgets.Button(description="▶", tooltip="next page", layout=widgets.Layout(width="40px"))
        self._page_info = widgets.HTML()
        self._keys = widgets.Select(rows=18, layout=widgets.Layout(width="320px"))
        self._keys.add_class("psnb-keys")
        self._preview = widgets.HTML(layout=widgets.Layout(width="100%"))
        self._preview.add_class("psnb-preview")
        self._raw = widgets.HTML()
        self._meta = widgets.HTML()
        self._diff_session = widgets.Dropdown(description="session", layout=widgets.Layout(width="260px"))
        self._diff_target = widgets.Dropdown(description="target", layout=widgets.Layout(width="260px"))
        self._diff_key = widgets.Combobox(description="key", ensure_option=False, layout=widgets.Layout(width="360px"))
        self._diff_run = widgets.Button(
            description="Diff", icon="columns", tooltip="diff the selected key with this one"
        )
        self._diff_view = widgets.HTML()
        self._tabs = widgets.Tab(
            children=[
                self._preview,
                self._raw,
                self._meta,
                widgets.VBox(
                    [
                        widgets.HTML("<small>compare the selected key with:</small>"),
                        widgets.HBox([self._diff_session, self._diff_target]),
                        widgets.HBox([self._diff_key, self._diff_run]),
                        self._diff_view,
                    ]
                ),
            ],
            layout=widgets.Layout(flex="1 1 auto", min_width="0"),
        )
        for i, title in enumerate(("Preview", "Raw", "Meta", "Diff")):
            self._tabs.set_title(i, title)  # set_title works on ipywidgets 7 and 8 alike
        self._delete = widgets.Button(description="Delete", icon="trash", button_style="danger", disabled=True)
        self._confirm_text = widgets.HTML()
        self._confirm_yes = widgets.Button(description="Yes, delete", button_style="danger")
        self._confirm_no = widgets.Button(description="Cancel")
        self._confirm = widgets.HBox(
            [self._confirm_text, self._confirm_yes, self._confirm_no], layout=widgets.Layout(display="none")
        )
        self._var_name = widgets.Text(placeholder="variable name", layout=widgets.Layout(width="180px"))
        self._load = widgets.Button(
            description="Load into variable", icon="download", disabled=True, layout=widgets.Layout(width="170px")
        )
        self._status = widgets.HTML(layout=widgets.Layout(width="100%"))
        self._status.add_class("psnb-status")

        self._backend.observe(self._on_backend_change, names="value")
        self._session.observe(self._on_session_change, names="value")
        self._target.observe(self._on_target_change, names="value")
        self._refresh.on_click(self._on_refresh_click)
        self._filter.observe(self._on_filter_change, names="value")
        self._prev.on_click(self._on_prev_click)
        self._next.on_click(self._on_next_click)
        self._keys.observe(self._on_keys_change, names="value")
        self._diff_session.observe(self._on_diff_session_change, names="value")
        self._diff_target.observe(self._on_diff_target_change, names="value")
        self._diff_run.on_click(self._on_diff_run_click)
        self._delete.on_click(self._on_delete_click)
        self._confirm_yes.on_click(self._on_confirm_yes_click)
        self._confirm_no.on_click(self._on_confirm_no_click)
        self._load.on_click(self._on_load_click)

    def _layout_children(self) -> list[widgets.Widget]:
        return [
            widgets.HBox([self._backend, self._session, self._target, self._refresh]),
            widgets.HBox([self._filter, self._prev, self._page_info, self._next]),
            widgets.HBox([self._keys, self._tabs]),
            widgets.HBox([self._delete, self._confirm, self._var_name, self._load]),
            self._status,
        ]

    # ---- public API (ipyfilechooser style) -----------------------------------------------------------
    @property
    def storage(self) -> BaseStorage:
        """The storage of the selected backend, session and target (a sibling sharing its resources)."""
        base = self._storages[self._backend.value]
        session, target = self._session.value, self._target.value
        if session is None or target is None:
            return base
        if (session, target) == (base.session_id, base.target_id):
            return base
        return base.for_session(session, target)

    @property
    def selected(self) -> tuple[str, str, str] | None:
        """``(session, target, key)`` of the selected key, or None."""
        if self._keys.value is None or self._session.value is None or self._target.value is None:
            return None
        return (self._session.value, self._target.value, self._keys.value)

    @property
    def value(self) -> Any:
        """The stored value of the selected key (loaded now), or None."""
        if self.selected is None:
            return None
        return self.storage.load_any(self._keys.value)

    def refresh(self) -> None:
        """List sessions, targets and keys again, keeping the selection where it still exists."""
        self._shown = None  # the selected value may have changed too: fetch it again
        self._reload_sessions(keep=True)

    def reset(self) -> None:
        """Go back to the first backend's own session and target, filter cleared."""
        with self._quiet():
            self._filter.value = ""
            self._backend.value = next(iter(self._storages))
        self._open_backend(self._backend.value)

    def register_callback(self, callback: Callable[[StorageBrowser], Any]) -> None:
        """Call ``callback(browser)`` whenever a key is selected."""
        self._callbacks.append(callback)

    def on_close(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once when the browser closes (e.g. to close the storage it browsed)."""
        self._close_callbacks.append(callback)

    def close(self) -> None:
        """Close the browser and every child widget (their comms are released)."""
        global _live
        if _live is self:
            _live = None
        for child in list(self._walk()):
            # Layout and style are widgets with their own comms; close them too (ipywidgets#3995).
            for part in (getattr(child, "layout", None), getattr(child, "style", None), child):
                if isinstance(part, widgets.Widget):
                    part.close()
        super().close()
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            callback()

    def __repr__(self) -> str:
        backend = self._backend.value if hasattr(self, "_backend") else "?"
        return f"StorageBrowser(backend={backend!r}, sessions={len(getattr(self, '_sessions', ()))})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/html"] = self.snapshot()  # after the widget view: live front ends prefer the widget
        return bundle

    def snapshot(self) -> str:
        """The static HTML listing of what the browser shows now (no I/O)."""
        keys = self._matching[:SNAPSHOT_KEYS]
        # The backend's name, not its describe(): no absolute paths, so the snapshot is stable under nbval.
        return snapshot_html(
            self._backend.value,
            self._sessions,
            self._session.value,
            self._targets,
            self._target.value,
            keys,
            len(self._matching),
            self._keys.value,
        )

    # ---- loading levels ---------------------------------------------------------------------------------
    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Programmatic changes inside do not fire our own handlers."""
        self._quiet_depth += 1
        try:
            yield
        finally:
            self._quiet_depth -= 1

    def _walk(self, widget: widgets.Widget | None = None) -> Iterator[widgets.Widget]:
        for child in getattr(widget or self, "children", ()):
            yield from self._walk(child)
            yield child

    @_guarded
    def _open_backend(self, name: str) -> None:
        base = self._storages[name]
        with self._quiet():
            self._session.value = None
            self._target.value = None
        self._reload_sessions(keep=False, prefer=(base.session_id, base.target_id))

    def _reload_sessions(self, keep: bool, prefer: tuple[str, str] | None = None) -> None:
        self._clear_status()
        base = self._storages[self._backend.value]
        old = (self._session.value, self._target.value, self._keys.value) if keep else (None, None, None)
        if prefer is None:
            prefer = (base.session_id, base.target_id)
        try:
            self._sessions = base.sessions()
        except Exception as exc:  # noqa: BLE001 - an unreachable backend leaves an empty, working widget
            self._sessions, self._targets, self._all_keys, self._matching = [], [], [], []
            with self._quiet():
                self._session.options, self._target.options, self._keys.options = (), (), ()
                self._diff_session.options, self._diff_target.options = (), ()
            self._show_selection(None)
            self._show_error(exc)
            return
        session = old[0] if old[0] in self._sessions else prefer[0] if prefer[0] in self._sessions else None
        session = session or (self._sessions[0] if self._sessions else None)
        with self._quiet():
            self._session.options = self._sessions
            self._session.value = session
            self._diff_session.options = self._sessions
        self._load_targets(session, old[1] if old[1] else prefer[1], old[2])

    def _load_targets(self, session: str | None, want: str | None, key: str | None = None) -> None:
        base = self._storages[self._backend.value]
        try:
            self._targets = base.targets(session) if session else []
        except Exception:
            self._targets = []  # never leave the keys of another session on screen under this one
            with self._quiet():
                self._target.options = ()
            self._all_keys = []
            self._apply_filter()
            raise
        target = want if want in self._targets else (self._targets[0] if self._targets else None)
        with self._quiet():
            self._target.options = self._targets
            self._target.value = target
        self._load_keys(key)

    def _load_keys(self, key: str | None = None) -> None:
        session, target = self._session.value, self._target.value
        try:
            self._all_keys = self.storage.list_keys() if session and target else []
        except Exception:
            self._all_keys = []  # never leave the keys of another target on screen under this one
            self._apply_filter()
            raise
        self._sync_diff_defaults()
        self._apply_filter(keep=key)

    def _apply_filter(self, keep: str | None = None, page: int = 0) -> None:
        self._matching = filter_keys(self._all_keys, self._filter.value)
        if keep in self._matching:
            page = self._matching.index(keep) // self._page_size
        self._show_page(page, keep)

    def _show_page(self, page: int, keep: str | None = None) -> None:
        keep = keep or self._keys.value  # the selection survives when it is still on the page shown
        shown, self._page, pages = page_of(self._matching, page, self._page_size)
        with self._quiet(), self._keys.hold_sync():  # options and selection reach the front end in one message
            self._keys.options = shown
            self._keys.value = keep if keep in shown else None
        first = self._page * self._page_size + 1 if shown else 0
        of = f" of {len(self._all_keys):,}" if len(self._matching) != len(self._all_keys) else ""
        self._page_info.value = (
            f"<span class='psnb-page'>{first:,}–{first + len(shown) - 1 if shown else 0:,} of "
            f"{len(self._matching):,} key(s){of} · page {self._page + 1}/{pages}</span>"
        )
        self._prev.disabled = self._page == 0
        self._next.disabled = self._page >= pages - 1
        if self.selected is None or self.selected != self._shown:
            # Filtering or paging around the same selection must not fetch it again (one request less per step).
            self._show_selection(self._keys.value)

    def _sync_diff_defaults(self) -> None:
        """Point the diff pane at the current session/target; the user then changes what differs."""
        with self._quiet():
            self._diff_session.options = self._sessions
            self._diff_session.value = self._session.value
            self._diff_target.options = self._targets
            self._diff_target.value = self._target.value
            self._diff_key.options = tuple(self._all_keys[:MAX_DIFF_OPTIONS])

    # ---- showing a key -----------------------------------------------------------------------------------
    def _show_selection(self, key: str | None) -> None:
        self._shown = self.selected
        self._hide_confirm()
        self._delete.disabled = self._load.disabled = key is None
        self._diff_view.value = ""
        if key is None:
            self._preview.value = "<i>select a key</i>" if self._matching else "<i>no keys here</i>"
            self._raw.value = self._meta.value = ""
            return
        self._var_name.value = var_name_for(key)
        with self._quiet():
            self._diff_key.value = key
        storage = self.storage
        info = storage.info(key)
        if info is None:
            self._vanished(key)
            return
        self._meta.value = self._meta_html(storage, info)
        if info.size > self._max_preview_bytes:
            note = (
                f"<i>{info.size:,} bytes: too large to preview here (limit {self._max_preview_bytes:,}); "
                "use “Load into variable”.</i>"
            )
            self._preview.value = self._raw.value = note
            return
        value = load_kind(storage, key, info.kind, _VANISHED)  # the kind's own loader: one read
        if value is _VANISHED:
            self._vanished(key)
            return
        self._preview.value = preview_html(info.kind, value, key, max_bytes=self._max_preview_bytes)
        raw = preview_text(info.kind, value, key, max_chars=MAX_RAW_CHARS, source=True)  # "Raw" shows the markup
        self._raw.value = f"<pre class='psnb-raw'>{html.escape(raw)}</pre>"

    @staticmethod
    def _meta_html(storage: BaseStorage, info: KeyInfo) -> str:
        where = f"<p><small>in <code>{html.escape(storage.describe())}</code></small></p>"
        return info._repr_html_() + where

    def _vanished(self, key: str) -> None:
        """The key was deleted meanwhile (elsewhere): say so, and drop it from the list."""
        self._preview.value = self._raw.value = self._meta.value = ""
        self._all_keys = [k for k in self._all_keys if k != key]
        self._apply_filter(page=self._page)
        self._show_message(f"key {key!r} no longer exists (deleted meanwhile?); the list was refreshed", error=True)

    # ---- status line ---------------------------------------------------------------------------------------
    def _show_error(self, exc: BaseException) -> None:
        self._show_message(_one_line(exc), error=True)

    def _show_message(self, text: str, *, error: bool = False) -> None:
        color = "#b00020" if error else "#555"
        mark = "⚠ " if error else ""
        self._status.value = (
            f"<div style='color:{color};white-space:nowrap;overflow:hidden;text-overflow:ellipsis' "
            f"title='{html.escape(text)}'>{mark}{html.escape(text)}</div>"
        )

    def _clear_status(self) -> None:
        self._status.value = ""

    def _hide_confirm(self) -> None:
        self._confirm.layout.display = "none"

    # ---- handlers -----------------------------------------------------------------------------------------
    @_guarded
    def _on_backend_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._open_backend(change["new"])

    @_guarded
    def _on_session_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        self._clear_status()
        self._load_targets(change["new"], self._target.value)

    @_guarded
    def _on_target_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        self._clear_status()
        self._load_keys()

    @_guarded
    def _on_refresh_click(self, _button: widgets.Button) -> None:
        self.refresh()

    @_guarded
    def _on_filter_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._apply_filter(keep=self._keys.value)

    @_guarded
    def _on_prev_click(self, _button: widgets.Button) -> None:
        self._show_page(self._page - 1)

    @_guarded
    def _on_next_click(self, _button: widgets.Button) -> None:
        self._show_page(self._page + 1)

    @_guarded
    def _on_keys_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._clear_status()
        self._show_selection(change["new"])
        if change["new"] is not None:
            for callback in list(self._callbacks):
                callback(self)

    @_guarded
    def _on_diff_session_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        targets = self._storages[self._backend.value].targets(change["new"])
        with self._quiet():
            self._diff_target.options = targets
            keep = self._target.value if self._target.value in targets else None
            self._diff_target.value = keep or (targets[0] if targets else None)
        self._fill_diff_keys()

    @_guarded
    def _on_diff_target_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        self._fill_diff_keys()

    def _diff_storage(self) -> BaseStorage:
        base = self._storages[self._backend.value]
        return base.for_session(self._diff_session.value, self._diff_target.value)

    def _fill_diff_keys(self) -> None:
        keys = self._diff_storage().list_keys() if self._diff_target.value else []
        self._diff_key.options = tuple(keys[:MAX_DIFF_OPTIONS])

    @_guarded
    def _on_diff_run_click(self, _button: widgets.Button) -> None:
        from ..diff import diff_keys

        self._clear_status()
        if self.selected is None:
            self._show_message("select a key first", error=True)
            return
        if self._diff_session.value is None or self._diff_target.value is None or not self._diff_key.value.strip():
            self._show_message("choose the session, target and key to compare with", error=True)
            return
        result = diff_keys(self.storage, self._keys.value, self._diff_storage(), self._diff_key.value.strip())
        self._diff_view.value = result._repr_html_()
        self._tabs.selected_index = 3

    @_guarded
    def _on_delete_click(self, _button: widgets.Button) -> None:
        if self.selected is None:
            return
        session, target, key = self.selected
        self._confirm_text.value = (
            f"delete <code>{html.escape(key)}</code> from <code>{html.escape(session)}/{html.escape(target)}</code>?"
        )
        self._confirm.layout.display = "flex"

    @_guarded
    def _on_confirm_yes_click(self, _button: widgets.Button) -> None:
        self._hide_confirm()
        if self.selected is None:
            return
        key = self._keys.value
        existed = self.storage.delete(key)
        self._all_keys = [k for k in self._all_keys if k != key]
        self._apply_filter(page=self._page)
        self._show_message(f"deleted {key!r}" if existed else f"{key!r} was already gone", error=not existed)

    @_guarded
    def _on_confirm_no_click(self, _button: widgets.Button) -> None:
        self._hide_confirm()

    @_guarded
    def _on_load_click(self, _button: widgets.Button) -> None:
        if self.selected is None:
            return
        name = self._var_name.value.strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            self._show_message(f"{name!r} is not a valid Python variable name", error=True)
            return
        key = self._keys.value
        value = self.storage.load_any(key, _VANISHED)
        if value is _VANISHED:
            self._vanished(key)
            return
        self.loaded = value
        shell = _shell()
        if shell is None:
            self._show_message(f"no IPython shell: the value of {key!r} is in browser.loaded")
            return
        shell.user_ns[name] = value
        self._show_message(f"loaded {key!r} into variable {name} ({type(value).__name__})")


_VANISHED: Any = object()


def _shell() -> Any:
    """The running IPython shell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()
