"""StorageBrowser: a core-ipywidgets browser of backends, sessions, targets and keys.

The widget tree lives in :mod:`.browser_view`, listing and paging in :mod:`.browser_nav`, the pure helpers
in :mod:`.browser_helpers`; this module adds what the browser does with a key: preview, inspect, diff,
delete and load. Previews go into ``widgets.HTML.value`` (never into an ``Output``), which keeps nbval
comparisons stable.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping
from typing import Any

from ..base import BaseStorage, KeyInfo
from ..diff import diff_keys, load_kind
from ..display import code, esc, preview_html, preview_text
from ..display.html import TEXT_BLOCK
from .browser_helpers import filter_keys, page_of, pane, snapshot_html, var_name_for
from .browser_nav import MAX_DIFF_OPTIONS, BrowserNavigation
from .browser_view import guarded

__all__ = ["StorageBrowser", "filter_keys", "page_of", "snapshot_html", "var_name_for"]

PAGE_SIZE = 200  # options per page of the key list: big enough to scroll, small enough to sync instantly
MAX_PREVIEW_BYTES = 1_000_000  # larger values are not fetched for the preview; "Load" still gets them
MAX_RAW_CHARS = 20_000  # characters of the "Raw" tab
SNAPSHOT_KEYS = 50  # keys listed in the static text/html snapshot


#: the one live browser of this kernel (ipywidgets#3995: every open browser keeps its comms alive)
_live: StorageBrowser | None = None
#: what a browser shows once a newer one has replaced it (its other widgets are closed)
REPLACED = "closed: a newer StorageBrowser is open (one live browser per kernel); run this cell again to browse here"


class StorageBrowser(BrowserNavigation):
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
            _live._replaced()  # one live browser per kernel; the old one leaves a line saying so
        if isinstance(storage, Mapping):
            storages: dict[str, BaseStorage] = dict(storage)
        else:
            storages = {storage.backend_name or type(storage).__name__: storage}
        if not storages:
            raise ValueError("StorageBrowser needs at least one storage")
        self._max_preview_bytes = int(max_preview_bytes)
        self._callbacks: list[Callable[[StorageBrowser], Any]] = []
        self._close_callbacks: list[Callable[[], Any]] = []
        #: the value fetched by the last "Load into variable" (also the only place it goes without a shell)
        self.loaded: Any = None
        super().__init__(storages, page_size, **kwargs)
        self._keys.observe(self._on_keys_change, names="value")
        self._diff_session.observe(self._on_diff_session_change, names="value")
        self._diff_target.observe(self._on_diff_target_change, names="value")
        self._diff_run.on_click(self._on_diff_run_click)
        self._delete.on_click(self._on_delete_click)
        self._confirm_yes.on_click(self._on_confirm_yes_click)
        self._confirm_no.on_click(self._on_confirm_no_click)
        self._load.on_click(self._on_load_click)
        _live = self
        self._open_backend(next(iter(self._storages)))

    # ---- public API (ipyfilechooser style) -----------------------------------------------------------
    @property
    def value(self) -> Any:
        """The stored value of the selected key (loaded now), or None."""
        if self.selected is None:
            return None
        return self.storage.load_any(self._keys.value)

    def register_callback(self, callback: Callable[[StorageBrowser], Any]) -> None:
        """Call ``callback(browser)`` whenever a key is selected."""
        self._callbacks.append(callback)

    def compare_sessions(self, baseline: str, candidate: str | None = None, **options: Any) -> Any:
        """The "compare sessions" view (:mod:`.browser_compare`) of this backend; candidate: the browsed session."""
        from .browser_compare import open_compare

        storage = self._storages[self._backend.value]
        return open_compare(storage, baseline, candidate or self._session.value, **options)

    def on_close(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once when the browser closes (e.g. to close the storage it browsed)."""
        self._close_callbacks.append(callback)

    def close(self) -> None:
        """Close the browser and every child widget (their comms are released)."""
        super().close()
        self._closed()

    def _replaced(self) -> None:
        """A newer browser opened: close every part but a visible line where this one was."""
        self.retire(REPLACED)
        self._closed()

    def _closed(self) -> None:
        global _live
        if _live is self:
            _live = None
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            callback()

    def __repr__(self) -> str:
        backend = self._backend.value if hasattr(self, "_backend") else "?"
        return f"StorageBrowser(backend={backend!r}, sessions={len(getattr(self, '_sessions', ()))})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
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
        self._meta.value = pane(self._meta_html(storage, info))
        if info.size > self._max_preview_bytes:
            note = (
                f"<i>{info.size:,} bytes: too large to preview here (limit {self._max_preview_bytes:,}); "
                "use “Load into variable”.</i>"
            )
            self._preview.value = self._raw.value = pane(note)
            return
        value = load_kind(storage, key, info.kind, _VANISHED)  # the kind's own loader: one read
        if value is _VANISHED:
            self._vanished(key)
            return
        self._preview.value = pane(preview_html(info.kind, value, key, max_bytes=self._max_preview_bytes))
        raw = preview_text(info.kind, value, key, max_chars=MAX_RAW_CHARS, source=True)  # "Raw" shows the markup
        self._raw.value = pane(f"<pre class='psnb-raw' style='{TEXT_BLOCK}'>{esc(raw)}</pre>")

    @staticmethod
    def _meta_html(storage: BaseStorage, info: KeyInfo) -> str:
        return info._repr_html_() + f"<p><small>in {code(storage.describe())}</small></p>"

    def _vanished(self, key: str) -> None:
        """The key was deleted meanwhile (elsewhere): say so, and drop it from the list."""
        self._preview.value = self._raw.value = self._meta.value = ""
        self._all_keys = [k for k in self._all_keys if k != key]
        self._apply_filter(page=self._page)
        self._show_message(f"key {key!r} no longer exists (deleted meanwhile?); the list was refreshed", error=True)

    @guarded
    def _on_keys_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._clear_status()
        self._show_selection(change["new"])
        if change["new"] is not None:
            for callback in list(self._callbacks):
                callback(self)

    # ---- the Diff tab -------------------------------------------------------------------------------------
    @guarded
    def _on_diff_session_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        targets = self._storages[self._backend.value].targets(change["new"])
        with self._quiet():
            self._diff_target.options = targets
            keep = self._target.value if self._target.value in targets else None
            self._diff_target.value = keep or (targets[0] if targets else None)
        self._fill_diff_keys()

    @guarded
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

    @guarded
    def _on_diff_run_click(self, _button: Any) -> None:
        self._clear_status()
        if self.selected is None:
            self._show_message("select a key first", error=True)
            return
        if self._diff_session.value is None or self._diff_target.value is None or not self._diff_key.value.strip():
            self._show_message("choose the session, target and key to compare with", error=True)
            return
        result = diff_keys(self.storage, self._keys.value, self._diff_storage(), self._diff_key.value.strip())
        self._diff_view.value = pane(result._repr_html_())
        self._tabs.selected_index = 3

    # ---- delete and load ----------------------------------------------------------------------------------
    @guarded
    def _on_delete_click(self, _button: Any) -> None:
        if self.selected is None:
            return
        session, target, key = self.selected
        self._confirm_text.value = f"delete {code(key)} from {code(f'{session}/{target}')}?"
        self._confirm.layout.display = "flex"

    @guarded
    def _on_confirm_yes_click(self, _button: Any) -> None:
        self._hide_confirm()
        if self.selected is None:
            return
        key = self._keys.value
        existed = self.storage.delete(key)
        self._all_keys = [k for k in self._all_keys if k != key]
        self._apply_filter(page=self._page)
        self._show_message(f"deleted {key!r}" if existed else f"{key!r} was already gone", error=not existed)

    @guarded
    def _on_confirm_no_click(self, _button: Any) -> None:
        self._hide_confirm()

    @guarded
    def _on_load_click(self, _button: Any) -> None:
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
