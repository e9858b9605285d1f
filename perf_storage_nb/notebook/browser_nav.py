"""Navigation of the storage browser: backends -> sessions -> targets -> keys, listed lazily, filtered and paged.

Each level is listed lazily (sessions once, targets of the chosen session, keys of the chosen target) and
the key list is filtered and paged in Python, so a target of 10,000 keys costs one listing call and one
small ``Select``.
"""

from __future__ import annotations

from typing import Any

from ..base import BaseStorage
from .browser_helpers import filter_keys, page_of
from .browser_view import BrowserView, guarded

__all__ = ["BrowserNavigation", "MAX_DIFF_OPTIONS"]

MAX_DIFF_OPTIONS = 1_000  # autocompletion options of the diff key box


class BrowserNavigation(BrowserView):
    """The levels of the browser and the key list; what to show for a key is left to :meth:`_show_selection`."""

    def __init__(self, storages: dict[str, BaseStorage], page_size: int, **kwargs: Any) -> None:
        self._storages = storages
        self._page_size = max(1, int(page_size))
        self._sessions: list[str] = []
        self._targets: list[str] = []
        self._all_keys: list[str] = []
        self._matching: list[str] = []
        self._page = 0
        self._shown: tuple[str, str, str] | None = None  # what the preview panes show now
        super().__init__(list(storages), **kwargs)
        self._backend.observe(self._on_backend_change, names="value")
        self._session.observe(self._on_session_change, names="value")
        self._target.observe(self._on_target_change, names="value")
        self._refresh.on_click(self._on_refresh_click)
        self._filter.observe(self._on_filter_change, names="value")
        self._prev.on_click(self._on_prev_click)
        self._next.on_click(self._on_next_click)

    def _show_selection(self, key: str | None) -> None:
        """Fill the panes for ``key`` (None: nothing selected)."""
        raise NotImplementedError

    # ---- where we are ---------------------------------------------------------------------------------------
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

    # ---- loading levels -------------------------------------------------------------------------------------
    @guarded
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

    # ---- handlers -------------------------------------------------------------------------------------------
    @guarded
    def _on_backend_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._open_backend(change["new"])

    @guarded
    def _on_session_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        self._clear_status()
        self._load_targets(change["new"], self._target.value)

    @guarded
    def _on_target_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth or change["new"] is None:
            return
        self._clear_status()
        self._load_keys()

    @guarded
    def _on_refresh_click(self, _button: Any) -> None:
        self.refresh()

    @guarded
    def _on_filter_change(self, change: dict[str, Any]) -> None:
        if self._quiet_depth:
            return
        self._apply_filter(keep=self._keys.value)

    @guarded
    def _on_prev_click(self, _button: Any) -> None:
        self._show_page(self._page - 1)

    @guarded
    def _on_next_click(self, _button: Any) -> None:
        self._show_page(self._page + 1)
