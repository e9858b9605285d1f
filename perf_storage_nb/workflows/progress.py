"""The batch progress bar: tqdm that advances as items complete, with running done / failed counts.

Outside a kernel it is tqdm's text bar on stderr. In a kernel it is tqdm's ipywidgets bar while the batch
runs; when the batch ends, that live widget is replaced by a static :class:`ProgressSummary` (text twin and
HTML) so the *saved* output shows the final state — a reopened notebook, nbconvert, nbval and ``make tour``
cannot show a widget's live state (its model is gone) and used to show a bar frozen at 0 %.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..display import DisplayObject, esc, head_line, muted, status_badge
from ..display.theme import BORDER, TONES, tone_of

__all__ = ["BatchProgress", "ProgressSummary"]

_STATUSES = ("done", "skipped", "failed", "not_run")
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@dataclass
class ProgressSummary(DisplayObject):
    """The final state of a batch's progress bar: share finished, counts per status, elapsed time."""

    desc: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def finished(self) -> int:
        """Items with an outcome (any status but not_run)."""
        return sum(n for s, n in self.counts.items() if s != "not_run")

    @property
    def percent(self) -> int:
        """Whole percent of items finished (100 for an empty batch)."""
        return 100 if not self.total else self.finished * 100 // self.total

    def _parts(self) -> list[tuple[str, int]]:
        return [(s, self.counts.get(s, 0)) for s in _STATUSES if self.counts.get(s, 0) or s in ("done", "failed")]

    def __repr__(self) -> str:
        return f"ProgressSummary(desc={self.desc!r}, total={self.total}, counts={self.counts!r})"

    def _text_twin(self) -> str:
        counts = " · ".join(f"{s} {n}" for s, n in self._parts())
        tail = " · interrupted" if self.interrupted else ""
        return (
            f"{self.desc}: {self.percent}% {self.finished}/{self.total} items | {counts}{tail} | {self.seconds:.2f} s"
        )

    def _html_body(self) -> str:
        badges = "".join(status_badge(s, n) for s, n in self._parts())
        if self.interrupted:
            badges += status_badge("interrupted")
        segments = "".join(
            f"<div title='{esc(s)}' style='width:{n * 100 / self.total:.3f}%;background:{TONES[tone_of(s)]}'></div>"
            for s, n in self._parts()
            if n and s != "not_run" and self.total
        )
        bar = (
            "<div class='psnb-progress-bar' style='display:flex;height:8px;width:min(420px,100%);"
            f"border:1px solid {BORDER};border-radius:4px;overflow:hidden;margin:2px 0'>{segments}</div>"
        )
        numbers = muted(esc(f"{self.percent}% · {self.finished}/{self.total} items · {self.seconds:.2f} s"))
        return f"<div class='psnb-progress'>{head_line(f'<b>{esc(self.desc)}</b>', badges, numbers)}{bar}</div>"


class BatchProgress:
    """Progress of one batch: ``advance(status)`` per finished item, ``close()`` once at the end."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self.total, self.desc, self.enabled = total, desc, enabled
        self.counts = dict.fromkeys(_STATUSES, 0)
        self._start = time.perf_counter()
        self._handle: Any = None
        self._bar: Any = None
        if not enabled:
            return
        if _in_kernel():
            self._bar = self._widget_bar()
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="item", file=sys.stderr, leave=True)

    def _widget_bar(self) -> Any:
        """tqdm's widget bar shown through a display handle (so ``close`` can replace it); None if unavailable."""
        try:
            from IPython.display import display
            from tqdm.notebook import tqdm as notebook_tqdm

            bar = notebook_tqdm(total=self.total, desc=self.desc, unit="item", leave=True, display=False)
            bundle = bar.container._repr_mimebundle_()
            # Only the widget view: its text/plain would be a frozen "0%" wherever the widget cannot render.
            self._handle = display(  # type: ignore[no-untyped-call]  # IPython's display() is unannotated
                {_WIDGET_MIME: bundle[_WIDGET_MIME]}, raw=True, display_id=True
            )
            return bar
        except Exception:  # noqa: BLE001 - no ipywidgets / no frontend support: the text bar instead
            return None

    def advance(self, status: str) -> None:
        """One more item finished with ``status``: move the bar and its running counts."""
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._bar is None:
            return
        counts = f"done={self.counts['done']}, failed={self.counts['failed']}"
        if self.counts["skipped"]:
            counts += f", skipped={self.counts['skipped']}"
        self._bar.set_postfix_str(counts, refresh=False)  # shown at the next (rate-limited) refresh
        self._bar.update(1)

    def close(self, counts: dict[str, int] | None = None, *, interrupted: bool = False) -> ProgressSummary:
        """Stop the bar; in a kernel, replace the live widget with the static final state. Returns that state.

        ``counts`` are the batch's final counts per status (items never run included); default: those seen.
        """
        final = dict(self.counts if counts is None else counts)
        summary = ProgressSummary(self.desc, self.total, final, time.perf_counter() - self._start, interrupted)
        if self._bar is None:
            return summary
        self._bar.close()
        if self._handle is not None:
            from IPython.display import display

            self._bar.container.close()  # the widget model goes: nothing stale is left in the notebook's state
            self._handle.update({}, raw=True)  # the live output empties; the static state follows it
            display(summary)  # type: ignore[no-untyped-call]  # IPython's display() is unannotated
        return summary


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (not a terminal IPython, not plain Python) — what tqdm.auto checks."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})
