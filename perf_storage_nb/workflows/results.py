"""Outcome of a batch: one :class:`ItemResult` per item, gathered in a :class:`BatchResult` that displays itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..display import DisplayObject, code, esc, head_line, short, status_badge, table
from ..errors import StorageError

__all__ = ["BatchInterrupted", "BatchResult", "ItemResult", "ItemStatus", "error_text"]

ItemStatus = Literal["done", "skipped", "failed", "not_run"]


def error_text(exc: BaseException) -> str:
    """``"Type: message"`` of an exception."""
    return f"{type(exc).__name__}: {exc}"


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
        return error_text(self.error) if self.error is not None else ""

    def __repr__(self) -> str:
        extra = f", error={self.error_text!r}" if self.error is not None else ""
        return f"ItemResult({self.index}, target_id={self.target_id!r}, status={self.status!r}{extra})"


@dataclass
class BatchResult(DisplayObject):
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
                lines.append(f"  {r.status:8} #{r.index} {r.target_id or '-'} ({short(r.item, 60)}): {why}")
        if not self.ok:
            lines.append("  re-run the same batch to redo only these items")
        return "\n".join(lines)

    def _text_twin(self) -> str:
        return repr(self)  # text/plain has always been the one-line summary; to_text() is the long form

    def _html_body(self) -> str:
        badges = "".join(status_badge(s, n) for s, n in self.counts().items() if n or s in ("done", "failed"))
        if self.interrupted:
            badges += status_badge("interrupted")
        rows = [
            [
                str(r.index),
                code(r.target_id or "-"),
                esc(short(r.item)),
                status_badge(r.status),
                esc(r.error_text or r.note),
            ]
            for r in self.items
        ]
        listing = table(["#", "target", "item", "status", "detail"], rows, right=[0])
        return f"<div class='psnb-batch'>{head_line('<b>batch</b>', code(self.session_id), badges)}{listing}</div>"


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C / kernel interrupt during :func:`run_batch`; ``.result`` holds what finished before it."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(f"batch {result.session_id!r} interrupted; re-run it to resume. {result!r}")
        self.result = result
