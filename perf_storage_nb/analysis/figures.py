"""``plot``: one field per target across sessions as a static matplotlib figure (Agg, headless, deterministic PNG).

Figures are built without pyplot: nothing global, no GUI backend, no figure left open, and no automatic
display by the inline backend. :class:`AnalysisFigure` renders itself as PNG in Jupyter (``_repr_png_``), so
it shows in nbconvert, GitHub and the tour; its PNG carries no version or date metadata, so the same data give
the same bytes. (nbval skips ``image/png`` unless run with ``--nbdime``; it compares the ``text/plain`` repr,
``<AnalysisFigure size WxH with N Axes>``, which depends only on the layout chosen.)
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..base import BaseStorage
from ..errors import StorageValueError
from .collect import collect_rows
from .compare import numeric_only
from .fields import parse_field
from .plan import plan_sessions

__all__ = ["KINDS", "POINTS_MAX", "AnalysisFigure", "PlotKind", "plot"]

PlotKind = Literal["auto", "points", "strip"]
KINDS: tuple[PlotKind, ...] = ("auto", "points", "strip")
#: the most targets "auto" draws one labelled column each for; beyond it, the compact strip view
POINTS_MAX = 40
DPI = 100
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


class AnalysisFigure(Figure):
    """A matplotlib Figure on the Agg canvas that displays itself as a deterministic PNG."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)  # headless, whatever matplotlib backend the session has chosen

    def png(self, dpi: int = DPI) -> bytes:
        """The figure as PNG bytes; the same figure gives the same bytes (no version or date metadata)."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()


Samples = dict[str, dict[str, list[float]]]  # target -> session -> values


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (float(ordered[mid - 1]) + float(ordered[mid])) / 2


def plot(
    storage: BaseStorage,
    key: str,
    field: str,
    *,
    sessions: str | Iterable[str] | None = None,
    targets: str | Iterable[str] | None = None,
    kind: PlotKind = "auto",
) -> AnalysisFigure:
    """``field`` of ``key`` per target across sessions (in the order given): points with their sample spread.

    ``kind``: ``"points"`` (one labelled column per target: every sample, the median, the min-max range),
    ``"strip"`` (compact, for many targets: targets sorted by their median in the first session, one mark per
    target and session, plus the distribution of the medians per session), ``"auto"`` (points up to 40
    targets). Needs at least 2 sessions.
    """
    if kind not in KINDS:
        raise StorageValueError(f"unknown plot kind {kind!r}; kinds: {', '.join(KINDS)}")
    parse_field(field)
    order = plan_sessions(storage, sessions)
    if len(order) < 2:
        raise StorageValueError(
            f"a plot compares sessions: it needs at least 2, got {len(order)} ({', '.join(order)}); "
            "pass sessions=['baseline', 'candidate']"
        )
    found = collect_rows(storage, key, fields=[field], sessions=order, targets=targets)
    numeric_only(found.rows, "plot")
    names = sorted({r.field for r in found.rows})
    if names != [field]:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise StorageValueError(f"plot draws one numeric field; {field!r} holds several ({shown}): name one of them")
    data: Samples = {}
    for r in found.rows:
        data.setdefault(r.target, {}).setdefault(r.session, []).append(float(r.value))
    chosen = kind if kind != "auto" else ("points" if len(data) <= POINTS_MAX else "strip")
    title = f"{key} · {field}"
    if chosen == "points":
        return _points(data, found.sessions, field, title)
    return _strip(data, found.sessions, field, title)


def _points(data: Samples, sessions: Sequence[str], field: str, title: str) -> AnalysisFigure:
    targets = sorted(data)
    width = min(16.0, max(6.0, 0.42 * len(targets) + 2.5))
    fig = AnalysisFigure(figsize=(width, 4.4), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    step = 0.8 / len(sessions)
    for k, session in enumerate(sessions):
        colour, offset = _COLOURS[k % len(_COLOURS)], (k - (len(sessions) - 1) / 2) * step
        xs, meds, lows, highs, dots_x, dots_y = [], [], [], [], [], []
        for i, target in enumerate(targets):
            values = data[target].get(session)
            if not values:
                continue
            x = i + offset
            xs.append(x)
            meds.append(_median(values))
            lows.append(min(values))
            highs.append(max(values))
            dots_x += [x] * len(values)
            dots_y += values
        ax.vlines(xs, lows, highs, colors=colour, linewidth=1.2, alpha=0.6)
        ax.scatter(dots_x, dots_y, s=9, color=colour, alpha=0.35, linewidths=0)
        ax.scatter(xs, meds, s=34, color=colour, marker="D", label=session, zorder=3)
    ax.set_xticks(range(len(targets)), targets, rotation=60, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(targets) - 0.4)
    _finish(ax, field, title, "dots: samples · diamond: median · bar: min-max")
    ax.legend(title="session", fontsize=8, title_fontsize=8, loc="best")
    return fig


def _strip(data: Samples, sessions: Sequence[str], field: str, title: str) -> AnalysisFigure:
    first = sessions[0]

    def rank(target: str) -> tuple[int, float, str]:
        values = data[target].get(first)
        if values:
            return (0, _median(values), target)
        other = next(v for v in data[target].values() if v)
        return (1, _median(other), target)  # targets without a value in the first session go last

    targets = sorted(data, key=rank)
    fig = AnalysisFigure(figsize=(11.0, 6.6), dpi=DPI, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(3, 2))
    ax = fig.add_subplot(grid[0, 0])
    box = fig.add_subplot(grid[0, 1], sharey=ax)
    delta = fig.add_subplot(grid[1, 0], sharex=ax)
    delta_box = fig.add_subplot(grid[1, 1], sharey=delta)
    size = 12 if len(targets) <= 200 else 4
    medians: dict[str, dict[str, float]] = {s: {} for s in sessions}
    for k, session in enumerate(sessions):
        colour = _COLOURS[k % len(_COLOURS)]
        xs, meds, segments = [], [], []
        for i, target in enumerate(targets):
            values = data[target].get(session)
            if not values:
                continue
            xs.append(i)
            meds.append(medians[session].setdefault(target, _median(values)))
            if len(values) > 1:
                segments.append([(i, min(values)), (i, max(values))])
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=0.8, alpha=0.25))
        ax.scatter(xs, meds, s=size, color=colour, label=session, linewidths=0, zorder=3)
    ax.set_xlim(-1, len(targets))
    ax.tick_params(axis="x", labelbottom=False, bottom=False)
    _finish(ax, field, title, "mark: median per target · line: min-max of its samples")
    ax.legend(title="session", fontsize=8, title_fontsize=8, loc="upper left", markerscale=2)
    _boxes(box, [list(medians[s].values()) for s in sessions], sessions, "medians per session")
    # The change of each target's median against the first session: regressions stand out above 0.
    changes: list[list[float]] = []
    for k, session in enumerate(sessions[1:], start=1):
        xs, ys = [], []
        for i, target in enumerate(targets):
            b, c = medians[first].get(target), medians[session].get(target)
            if b is not None and c is not None and b != 0:
                xs.append(i)
                ys.append(100 * (c - b) / abs(b))
        delta.scatter(xs, ys, s=size, color=_COLOURS[k % len(_COLOURS)], linewidths=0, zorder=3)
        changes.append(ys)
    delta.axhline(0, color="black", linewidth=0.8)
    delta.set_ylabel(f"change vs {first} (%)")
    delta.set_xticks([])
    delta.set_xlabel(f"{len(targets):,} targets, sorted by their median in {first}", fontsize=9)
    delta.grid(axis="y", alpha=0.3)
    _boxes(delta_box, changes, sessions[1:], f"change vs {first}", first=1)
    return fig


def _boxes(ax: Any, values: Sequence[Sequence[float]], sessions: Sequence[str], title: str, first: int = 0) -> None:
    """Box plots of ``values`` per session (same colours as the points), on a shared y axis."""
    parts = ax.boxplot(values, widths=0.6, showfliers=False, patch_artist=True, medianprops={"color": "black"})
    for k, patch in enumerate(parts["boxes"], start=first):
        patch.set_facecolor(_COLOURS[k % len(_COLOURS)])
        patch.set_alpha(0.45)
    ax.set_xticks(range(1, len(sessions) + 1), list(sessions), rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="y", labelleft=False)
    ax.grid(axis="y", alpha=0.3)


def _finish(ax: Any, field: str, title: str, legend_note: str) -> None:
    ax.set_ylabel(field)
    ax.set_title(f"{title}\n{legend_note}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.08)
