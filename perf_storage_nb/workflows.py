"""The seed's common workflows as plain-Python helpers: batch, resume, before/after diff, cross-session comparison.

Every helper takes a storage (any backend) and works the same on memory, local and the cache service::

    from perf_storage_nb import create_storage
    from perf_storage_nb.workflows import run_batch, compare_sessions

    storage = create_storage({"backend": "local", "root": "./data", "session_id": "batch_001", "target_id": "setup"})
    result = run_batch(storage, urls, process)          # one session per batch, one target per item
    result                                              # per-item status table; failures say why
    run_batch(storage, urls, process)                   # after an interruption: redoes only what is missing
    compare_sessions(storage, baseline_session="batch_000")   # metrics regressions with tolerances
"""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

from .base import BaseStorage
from .errors import StorageError, StorageKeyError
from .names import check_id, check_key, target_id_from_text

if TYPE_CHECKING:
    from .diff import DiffResult, Snapshot

__all__ = [
    "BatchInterrupted",
    "BatchResult",
    "BeforeAfter",
    "ItemResult",
    "MetricRow",
    "SessionComparison",
    "before_after",
    "diff_saved_snapshots",
    "compare_sessions",
    "default_target_id",
    "flatten_metrics",
    "run_batch",
]

ItemStatus = Literal["done", "skipped", "failed", "not_run"]

_CSS = (
    "<style>.psnb-wf{border-collapse:collapse;font-family:var(--jp-ui-font-family,sans-serif);font-size:13px}"
    ".psnb-wf th,.psnb-wf td{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}"
    ".psnb-wf th{background:#f5f5f5}.psnb-badge{display:inline-block;border-radius:8px;padding:0 7px;margin-right:4px;"
    "font-size:12px;color:#fff}.psnb-ok{background:#2e7d32}.psnb-skip{background:#757575}.psnb-bad{background:#c62828}"
    ".psnb-warn{background:#ef6c00}.psnb-good{background:#1565c0}</style>"
)
_BADGE = {
    "done": "psnb-ok",
    "skipped": "psnb-skip",
    "failed": "psnb-bad",
    "not_run": "psnb-warn",
    "regressed": "psnb-bad",
    "improved": "psnb-good",
    "within": "psnb-ok",
    "same": "psnb-skip",
    "changed": "psnb-warn",
    "added": "psnb-warn",
    "removed": "psnb-warn",
    "missing_baseline": "psnb-warn",
    "missing_current": "psnb-bad",
}


def _badge(label: str, count: int | None = None) -> str:
    text = label if count is None else f"{count} {label}"
    return f"<span class='psnb-badge {_BADGE.get(label, 'psnb-skip')}'>{html.escape(text)}</span>"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ---- batch + resume --------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    """Outcome of one batch item: its target, status, the process() return value or the error."""

    index: int
    item: Any
    target_id: str | None
    status: ItemStatus
    value: Any = None
    error: BaseException | None = None
    note: str = ""

    @property
    def error_text(self) -> str:
        """``"Type: message"`` of the error, or ''."""
        return _error_text(self.error) if self.error is not None else ""

    def __repr__(self) -> str:
        extra = f", error={self.error_text!r}" if self.error is not None else ""
        return f"ItemResult({self.index}, target_id={self.target_id!r}, status={self.status!r}{extra})"


@dataclass
class BatchResult:
    """Per-item outcome of :func:`run_batch`; failures are listed with their reason, never dropped."""

    session_id: str
    items: list[ItemResult] = field(default_factory=list)
    interrupted: bool = False

    def _with(self, status: ItemStatus) -> list[ItemResult]:
        return [r for r in self.items if r.status == status]

    @property
    def done(self) -> list[ItemResult]:
        """Items processed in this run."""
        return self._with("done")

    @property
    def skipped(self) -> list[ItemResult]:
        """Items skipped because their outputs already existed (resume) or they repeated an earlier item."""
        return self._with("skipped")

    @property
    def failed(self) -> list[ItemResult]:
        """Items whose processing raised (or did not write the done key)."""
        return self._with("failed")

    @property
    def not_run(self) -> list[ItemResult]:
        """Items never reached (stop_on_error, or an interrupt)."""
        return self._with("not_run")

    @property
    def ok(self) -> bool:
        """True when every item is done or skipped."""
        return not self.failed and not self.not_run and not self.interrupted

    def __bool__(self) -> bool:
        return self.ok

    @property
    def errors(self) -> dict[str, BaseException]:
        """target_id (or ``#index`` when none could be derived) -> exception, for failed items."""
        return {(r.target_id or f"#{r.index}"): r.error for r in self.failed if r.error is not None}

    def retry_items(self) -> list[Any]:
        """The items to run again: failed and not-run ones, in input order."""
        return [r.item for r in self.items if r.status in ("failed", "not_run")]

    def raise_for_errors(self) -> BatchResult:
        """Raise a StorageError listing every failed item; return self when none failed."""
        if not self.ok:
            raise StorageError(self.to_text())
        return self

    def counts(self) -> dict[str, int]:
        """Number of items per status."""
        return {s: len(self._with(s)) for s in ("done", "skipped", "failed", "not_run")}

    def __repr__(self) -> str:
        c = self.counts()
        tail = ", interrupted=True" if self.interrupted else ""
        return (
            f"BatchResult(session_id={self.session_id!r}, done={c['done']}, skipped={c['skipped']}, "
            f"failed={c['failed']}, not_run={c['not_run']}{tail})"
        )

    def to_text(self) -> str:
        """Plain-text summary with one line per failed or not-run item."""
        lines = [repr(self)]
        for r in self.items:
            if r.status in ("failed", "not_run"):
                why = r.error_text or r.note
                lines.append(f"  {r.status:8} #{r.index} {r.target_id or '-'} ({_short(r.item, 60)}): {why}")
        if not self.ok:
            lines.append("  re-run the same batch to redo only these items")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        c = self.counts()
        badges = "".join(_badge(s, n) for s, n in c.items() if n or s in ("done", "failed"))
        if self.interrupted:
            badges += _badge("interrupted")
        rows = "".join(
            f"<tr><td>{r.index}</td><td><code>{html.escape(r.target_id or '-')}</code></td>"
            f"<td>{html.escape(_short(r.item))}</td><td>{_badge(r.status)}</td>"
            f"<td>{html.escape(r.error_text or r.note)}</td></tr>"
            for r in self.items
        )
        return (
            f"{_CSS}<div class='psnb-batch'><b>batch</b> <code>{html.escape(self.session_id)}</code> {badges}"
            f"<table class='psnb-wf'><tr><th>#</th><th>target</th><th>item</th><th>status</th><th>detail</th></tr>"
            f"{rows}</table></div>"
        )


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C / kernel interrupt during :func:`run_batch`; ``.result`` holds what finished before it."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(f"batch {result.session_id!r} interrupted; re-run it to resume. {result!r}")
        self.result = result


def default_target_id(item: Any) -> str:
    """Target id of a batch item: ``target_id_from_text`` of a str item (e.g. a URL)."""
    if isinstance(item, str):
        return target_id_from_text(item)
    raise StorageError(
        f"cannot derive a target id from a {type(item).__name__} item; pass target_id=callable(item) -> str"
    )


class _NoProgress:
    """Stands in for a progress bar when progress=False."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def set_postfix_str(self, text: str) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    # tqdm.auto picks the ipywidgets bar in a kernel and a text bar (stderr) elsewhere.
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item", file=sys.stderr, leave=True)


def _as_storage(storage: BaseStorage | Mapping[str, Any] | str, session_id: str | None) -> BaseStorage:
    if isinstance(storage, BaseStorage):
        return storage
    from .factory import create_storage

    overrides: dict[str, Any] = {}
    if isinstance(storage, str) or "target_id" not in storage:
        overrides["target_id"] = "batch"
    if session_id is not None and (isinstance(storage, str) or "session_id" not in storage):
        overrides["session_id"] = session_id
    return create_storage(storage, **overrides)


def _error_report(item: Any, target: str, exc: BaseException) -> str:
    # No traceback: it carries absolute paths and would make stored reports differ between machines.
    return f"# errors\n\n- item: `{_short(item, 200)}`\n- target: `{target}`\n- error: `{_error_text(exc)}`\n"


def run_batch(
    storage: BaseStorage | Mapping[str, Any] | str,
    items: Iterable[Any],
    process: Callable[[Any, BaseStorage], Any],
    *,
    session_id: str | None = None,
    target_id: Callable[[Any], str] = default_target_id,
    done_key: str | Sequence[str] | None = "output/rendered.html",
    resume: bool = True,
    error_key: str | None = "reports/errors.md",
    stop_on_error: bool = False,
    progress: bool = True,
    desc: str | None = None,
) -> BatchResult:
    """Run ``process(item, target_storage)`` once per item: one session per batch, one target per item.

    - ``storage``: any storage (or config dict / URL) of the backend to use; the batch writes to session
      ``session_id`` (default: the storage's own session), one sibling target per item.
    - ``target_id(item)``: the item's target (default: ``target_id_from_text`` of a URL or other text).
      An item equal to an earlier one is skipped; a different item mapped to a target already used
      fails ("target id collision") rather than overwrite or hide it.
    - ``done_key``: key(s) whose presence marks an item as finished. With ``resume=True`` such items are
      skipped, so an interrupted batch re-run redoes only the rest; ``process`` must write them (an item
      that returns without them is reported as failed, since a re-run could not tell it is done).
    - Errors are caught per item, reported in the result (and saved under ``error_key`` in the item's
      target, removed again once the item succeeds); the batch goes on unless ``stop_on_error``. An item
      whose error record exists is not done, even when ``process`` wrote the done keys before raising;
      when no error record could be written, the done keys of a failed item are deleted instead.
    """
    base = _as_storage(storage, session_id)
    session = check_id(session_id if session_id is not None else base.session_id, "session_id")
    done_keys = [] if done_key is None else [done_key] if isinstance(done_key, str) else list(done_key)
    done_keys = [check_key(k) for k in done_keys]
    if error_key is not None:
        check_key(error_key)
    todo = list(items)
    result = BatchResult(session_id=session)
    seen: dict[str, tuple[int, Any]] = {}
    failed = 0  # counted here: BatchResult.failed rebuilds its list, which per item would cost O(n^2)
    bar = _progress_bar(len(todo), desc or session, progress)
    try:
        for index, item in enumerate(todo):
            result.items.append(
                _run_item(base, session, index, item, process, target_id, done_keys, resume, error_key, seen)
            )
            bar.update(1)
            if result.items[-1].status == "failed":
                failed += 1
                bar.set_postfix_str(f"{failed} failed")
            if stop_on_error and result.items[-1].status == "failed":
                result.items.extend(
                    ItemResult(i, it, None, "not_run", note="stopped after an earlier failure (stop_on_error)")
                    for i, it in enumerate(todo[index + 1 :], start=index + 1)
                )
                break
    except KeyboardInterrupt as exc:
        result.interrupted = True
        start = len(result.items)
        result.items.extend(
            ItemResult(i, it, None, "not_run", note="interrupted") for i, it in enumerate(todo[start:], start=start)
        )
        raise BatchInterrupted(result) from exc
    finally:
        bar.close()
    return result


def _run_item(
    base: BaseStorage,
    session: str,
    index: int,
    item: Any,
    process: Callable[[Any, BaseStorage], Any],
    target_id: Callable[[Any], str],
    done_keys: list[str],
    resume: bool,
    error_key: str | None,
    seen: dict[str, tuple[int, Any]],
) -> ItemResult:
    try:
        target = check_id(target_id(item), "target_id")
    except Exception as exc:  # noqa: BLE001 - a bad item is reported, the batch goes on
        return ItemResult(index, item, None, "failed", error=exc)
    if target in seen:
        first, earlier = seen[target]
        if _same_item(item, earlier):
            return ItemResult(index, item, target, "skipped", note=f"duplicate of item #{first}")
        # Running it would overwrite item #first's outputs; skipping it would lose it silently.
        error = StorageError(f"target id collision with item #{first}: both map to target {target!r}")
        return ItemResult(index, item, target, "failed", error=error)
    seen[target] = (index, item)
    try:
        store = base.for_session(session, target)
        if (
            resume
            and done_keys
            and all(store.exists(k) for k in done_keys)
            and not (
                error_key is not None and store.exists(error_key)  # wrote its outputs, then raised: not done
            )
        ):
            return ItemResult(index, item, target, "skipped", note="outputs exist (resume)")
        value = process(item, store)
        missing = [k for k in done_keys if not store.exists(k)]
        if missing:
            raise StorageError(
                f"process() returned without writing {', '.join(map(repr, missing))}; "
                "a re-run could not tell this item is done"
            )
    except Exception as exc:  # noqa: BLE001 - per-item outcome, reported, never swallowed
        note = ""
        recorded = False
        if error_key is not None:
            try:
                base.for_session(session, target).save_string(error_key, _error_report(item, target, exc))
                recorded = True
            except Exception as save_exc:  # noqa: BLE001 - the item error matters more; say both
                note = f"(could not save {error_key}: {_error_text(save_exc)})"
        if not recorded:
            note = _forget_done(base.for_session(session, target), done_keys, note)
        return ItemResult(index, item, target, "failed", error=exc, note=note)
    if error_key is not None and store.exists(error_key):
        store.delete(error_key)  # a stale report from an earlier failed run would mislead
    return ItemResult(index, item, target, "done", value=value)


def _same_item(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an item without a usable == is not a duplicate
        return a is b


def _forget_done(store: BaseStorage, done_keys: list[str], note: str) -> str:
    """Delete the done keys of a failed item that has no error record, so a resume does not skip it."""
    try:
        for key in done_keys:
            store.delete(key)
    except Exception as exc:  # noqa: BLE001 - reported with the item's own error
        return f"{note} (could not delete the done keys: {_error_text(exc)}; a resume may skip this item)".strip()
    return note


# ---- cross-session comparison ----------------------------------------------------------------------------
MetricStatus = Literal[
    "regressed", "improved", "within", "same", "changed", "added", "removed", "missing_baseline", "missing_current"
]


def flatten_metrics(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": leaf}``; lists and scalars are leaves."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k in sorted(value, key=str):
            out.update(flatten_metrics(value[k], f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "value": value}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class MetricRow:
    """One metric of one target, baseline vs current."""

    target_id: str
    metric: str
    baseline: Any
    current: Any
    status: MetricStatus
    change: float | None = None  # relative change (current - baseline) / |baseline|, when numeric

    def change_text(self) -> str:
        """``+12.5%`` style relative change, or ''."""
        if self.change is None:
            return ""
        if math.isinf(self.change):
            return "+inf%" if self.change > 0 else "-inf%"
        return f"{self.change * 100:+.1f}%"


@dataclass
class SessionComparison:
    """Metrics of one session against a baseline session, per target; regressions beyond tolerance flagged."""

    session_id: str
    baseline_session: str
    key: str
    rows: list[MetricRow] = field(default_factory=list)

    def _with(self, *status: str) -> list[MetricRow]:
        return [r for r in self.rows if r.status in status]

    @property
    def regressions(self) -> list[MetricRow]:
        """Metrics worse than the baseline by more than their tolerance (and targets missing now)."""
        return self._with("regressed", "missing_current")

    @property
    def improvements(self) -> list[MetricRow]:
        """Metrics better than the baseline by more than their tolerance."""
        return self._with("improved")

    @property
    def ok(self) -> bool:
        """True when nothing regressed."""
        return not self.regressions

    def __bool__(self) -> bool:
        return self.ok

    def targets(self) -> list[str]:
        """Targets compared, sorted."""
        return sorted({r.target_id for r in self.rows})

    def counts(self) -> dict[str, int]:
        """Rows per status (only statuses that occur), in a fixed order."""
        order = list(_BADGE)
        found = {r.status for r in self.rows}
        return {s: len(self._with(s)) for s in order if s in found}

    def raise_for_regressions(self) -> SessionComparison:
        """Raise a StorageError listing every regression; return self when none."""
        if not self.ok:
            raise StorageError(self.to_text())
        return self

    def __repr__(self) -> str:
        return (
            f"SessionComparison(session_id={self.session_id!r}, baseline={self.baseline_session!r}, "
            f"targets={len(self.targets())}, regressions={len(self.regressions)}, "
            f"improvements={len(self.improvements)})"
        )

    def to_text(self) -> str:
        """Plain-text table of every metric that is not unchanged."""
        lines = [repr(self)]
        for r in self.rows:
            if r.status != "same":
                lines.append(
                    f"  {r.status:16} {r.target_id} {r.metric}: {_short(r.baseline, 30)} -> "
                    f"{_short(r.current, 30)} {r.change_text()}".rstrip()
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        badges = "".join(_badge(s, n) for s, n in self.counts().items())
        rows = "".join(
            f"<tr><td><code>{html.escape(r.target_id)}</code></td><td>{html.escape(r.metric)}</td>"
            f"<td>{html.escape(_short(r.baseline))}</td><td>{html.escape(_short(r.current))}</td>"
            f"<td>{html.escape(r.change_text())}</td><td>{_badge(r.status)}</td></tr>"
            for r in self.rows
        )
        return (
            f"{_CSS}<div class='psnb-compare'><b>{html.escape(self.key)}</b>: "
            f"<code>{html.escape(self.session_id)}</code>"
            f" vs baseline <code>{html.escape(self.baseline_session)}</code> {badges}"
            f"<table class='psnb-wf'><tr><th>target</th><th>metric</th><th>baseline</th><th>current</th>"
            f"<th>change</th><th>status</th></tr>{rows}</table></div>"
        )


def _compare_value(target: str, metric: str, base: Any, cur: Any, tol: float, higher_better: bool) -> MetricRow:
    if _is_number(base) and _is_number(cur):
        if base == cur:
            return MetricRow(target, metric, base, cur, "same", 0.0)
        delta = cur - base
        # A zero baseline has no relative scale: compare the absolute difference with the tolerance.
        change = delta / abs(base) if base != 0 else math.copysign(math.inf, delta)
        size = abs(delta / base) if base != 0 else abs(delta)
        if size <= tol:
            return MetricRow(target, metric, base, cur, "within", change)
        better = delta > 0 if higher_better else delta < 0
        return MetricRow(target, metric, base, cur, "improved" if better else "regressed", change)
    return MetricRow(target, metric, base, cur, "same" if base == cur else "changed")


def compare_sessions(
    storage: BaseStorage,
    baseline_session: str,
    *,
    session_id: str | None = None,
    key: str = "results/metrics.json",
    targets: Iterable[str] | None = None,
    tolerance: float = 0.05,
    tolerances: Mapping[str, float] | None = None,
    higher_is_better: Iterable[str] = (),
) -> SessionComparison:
    """Compare the JSON metrics under ``key`` of each target with the same target in ``baseline_session``.

    Numbers are compared relatively: a change within ``tolerance`` (per metric: ``tolerances``) is
    "within"; beyond it, "improved" or "regressed" — lower is better unless the metric (dotted path for
    nested dicts) is in ``higher_is_better``. Targets default to those of either session.
    """
    session = check_id(session_id if session_id is not None else storage.session_id, "session_id")
    baseline = check_id(baseline_session, "session_id")
    check_key(key)
    per_metric = dict(tolerances or {})
    higher = set(higher_is_better)
    names = (
        sorted(set(targets))
        if targets is not None
        else sorted(set(storage.targets(session)) | set(storage.targets(baseline)))
    )
    comparison = SessionComparison(session, baseline, key)
    for target in names:
        cur_raw = storage.for_session(session, target).load(key)
        base_raw = storage.for_session(baseline, target).load(key)
        if cur_raw is None and base_raw is None:
            continue  # a target without metrics in either session (e.g. an infrastructure target)
        if base_raw is None:
            comparison.rows.append(MetricRow(target, "*", None, "present", "missing_baseline"))
            continue
        if cur_raw is None:
            comparison.rows.append(MetricRow(target, "*", "present", None, "missing_current"))
            continue
        cur, base = flatten_metrics(cur_raw), flatten_metrics(base_raw)
        for metric in sorted(set(cur) | set(base)):
            if metric not in base:
                comparison.rows.append(MetricRow(target, metric, None, cur[metric], "added"))
            elif metric not in cur:
                comparison.rows.append(MetricRow(target, metric, base[metric], None, "removed"))
            else:
                tol = per_metric.get(metric, tolerance)
                comparison.rows.append(_compare_value(target, metric, base[metric], cur[metric], tol, metric in higher))
    return comparison


# ---- before/after ----------------------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body>{body}</body></html>\n"
    )


class BeforeAfter:
    """Named before/after snapshots of one or more targets, saved next to the data and diffed.

    ``before_after(storage, "transform")`` snapshots the target into ``snapshots/before_transform.json``,
    the code under the ``with`` block changes it, and on success ``snapshots/after_transform.json`` is
    written and :attr:`diff` holds the :class:`~perf_storage_nb.diff.DiffResult` (optionally also saved as
    HTML under ``diff_key``, the seed's ``output/diff.html``). The snapshot folder itself is left out of
    the snapshots, so saving them does not show up as a change.
    """

    def __init__(
        self,
        storage: BaseStorage | Iterable[BaseStorage],
        name: str = "transform",
        *,
        folder: str = "snapshots",
        save: bool = True,
        diff_key: str | None = None,
        rel_tol: float | str | None = None,
        abs_tol: float | None = None,
        exclude_paths: Sequence[str] = (),
    ) -> None:
        self.storages = [storage] if isinstance(storage, BaseStorage) else list(storage)
        if not self.storages:
            raise StorageError("before_after needs at least one storage (target) to snapshot")
        check_key(f"{folder}/before_{name}.json")
        self.name = name
        self.folder = folder
        self.save = save
        self.diff_key = check_key(diff_key) if diff_key is not None else None
        self.options: dict[str, Any] = {"rel_tol": rel_tol, "abs_tol": abs_tol, "exclude_paths": tuple(exclude_paths)}
        self.before: Snapshot | None = None
        self.after: Snapshot | None = None
        self.diff: DiffResult | None = None

    @property
    def labels(self) -> tuple[str, str]:
        """The two snapshot names, e.g. ``("before_transform", "after_transform")``."""
        return f"before_{self.name}", f"after_{self.name}"

    def _take(self, label: str) -> Snapshot:
        from .diff import snapshot

        # Our own snapshot files are never read: they would show up as changes and cost a load each.
        snap = snapshot(self.storages, exclude_prefixes=(f"{self.folder}/",))
        if self.save:
            # One snapshot file per target, holding that target's part only.
            for storage in self.storages:
                part = {storage.session_id: {storage.target_id: snap[storage.session_id][storage.target_id]}}
                storage.save(f"{self.folder}/{label}.json", part)
        return snap

    def take_before(self) -> Snapshot:
        """Snapshot the targets now, as ``before_<name>``."""
        self.before = self._take(self.labels[0])
        return self.before

    def take_after(self) -> DiffResult:
        """Snapshot the targets now, as ``after_<name>``, and diff against the before snapshot."""
        from .diff import diff_snapshots

        if self.before is None:
            raise StorageError(f"take_before() was not called for {self.labels[0]!r}")
        self.after = self._take(self.labels[1])
        self.diff = diff_snapshots(self.before, self.after, labels=self.labels, **self.options)
        if self.diff_key is not None:
            body = self.diff._repr_html_()
            for storage in self.storages:
                storage.save_string(self.diff_key, _page(f"{self.labels[0]} -> {self.labels[1]}", body))
        return self.diff

    def __enter__(self) -> Self:
        self.take_before()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        # A failed step leaves no after_ snapshot: it would present a half-done state as the result.
        if exc_type is None:
            self.take_after()

    def __repr__(self) -> str:
        state = (
            repr(self.diff) if self.diff is not None else "before taken" if self.before is not None else "not started"
        )
        return f"BeforeAfter({self.labels[0]!r} -> {self.labels[1]!r}, targets={len(self.storages)}, {state})"

    def _repr_html_(self) -> str:
        if self.diff is not None:
            return self.diff._repr_html_()
        return f"<code>{html.escape(repr(self))}</code>"


def before_after(storage: BaseStorage | Iterable[BaseStorage], name: str = "transform", **options: Any) -> BeforeAfter:
    """Context manager: ``with before_after(storage, "transform") as ba: ...`` then ``ba.diff``."""
    return BeforeAfter(storage, name, **options)


def diff_saved_snapshots(
    storage: BaseStorage, before: str, after: str, *, folder: str = "snapshots", **options: Any
) -> DiffResult:
    """Diff two snapshots saved by :class:`BeforeAfter` (e.g. ``before_transform`` / ``after_transform``)."""
    from .diff import diff_snapshots

    snaps = []
    for name in (before, after):
        key = f"{folder}/{name}.json"
        snap = storage.load(key)
        if snap is None:
            found = [k.removeprefix(f"{folder}/").removesuffix(".json") for k in storage.list_keys(f"{folder}/")]
            raise StorageKeyError(f"no snapshot {key!r} in {storage.describe()}; saved snapshots: {found or 'none'}")
        snaps.append(snap)
    options.setdefault("labels", (before, after))
    return diff_snapshots(snaps[0], snaps[1], **options)
