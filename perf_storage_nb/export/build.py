"""``export_report``: write a session as a static, self-contained HTML report (optionally against a baseline).

Layout of the folder::

    index.html                               targets with key counts and sizes (+ comparison and matrix)
    targets/<target>/index.html              the target's keys: kind, size, hash (+ status against the baseline)
    targets/<target>/keys/<key>.html         one key, rendered as ``%storage show`` renders it
    targets/<target>/diff/<key>.html         the key's diff against the baseline (with ``against``)

Previews, diffs, comparisons and the matrix are drawn by their own renderers (display layer, DiffResult,
analysis); this module only lays pages out and links them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display import Cell, code, esc, fields_table, human_size, muted, preview_html, table
from ..errors import StorageKeyError, StorageValueError
from ..kinds import LOAD_METHOD
from ..names import check_id
from .against import diff_link, status_cell
from .result import ExportResult
from .site import index_path, key_path, link, target_path
from .writer import Target, Writer, prepare

if TYPE_CHECKING:
    from ..base import BaseStorage, KeyInfo

__all__ = ["export_report"]

PREVIEW_MAX_BYTES = 1_000_000  # as %storage show by default (StorageMagics.preview_max_bytes)


def export_report(
    storage: BaseStorage,
    session: str,
    folder: str | os.PathLike[str],
    *,
    against: str | None = None,
    compare_keys: list[str] | None = None,
    compare_options: dict[str, Any] | None = None,
    location: str = "",
    force: bool = False,
) -> ExportResult:
    """Write ``session`` of ``storage``'s backend as a static HTML report in ``folder`` (see the module notes).

    With ``against`` (a baseline session): a comparison of each JSON key in ``compare_keys`` (default: every JSON
    key both sessions hold; options as ``analysis.compare`` takes them), the per-target matrix, and one diff page
    per key that differs. ``location`` names where the data came from in the footer (no secrets: pass a label).
    """
    session = check_id(session, "session")
    baseline = None if against is None else check_id(against, "baseline session")
    if baseline == session:
        raise StorageValueError(f"--against {baseline!r} is the exported session itself; name another session")
    names = storage.targets(session)
    if not names:
        raise StorageKeyError(f"no session {session!r} (or no targets in it) at {location or storage.describe()}")
    if baseline is not None:
        from .. import analysis  # noqa: F401 - pandas/scipy missing must fail before anything is written

        if not storage.targets(baseline):
            raise StorageKeyError(
                f"no baseline session {baseline!r} (or no targets in it) at {location or 'the source'}"
            )

    out = Path(folder)
    prepare(out, force=force)
    from .. import __version__

    generator = f"perf_storage_nb {__version__} · perf-storage export" + (f" · {location}" if location else "")
    writer = Writer(out, generator)
    targets = [Target(name, _infos(storage.for_session(session, name))) for name in names]
    extra = ""
    result_notes: list[str] = []
    regressions = 0
    if baseline is not None:
        from .against import Baseline

        base = Baseline(storage, baseline, session, targets, writer)
        extra, regressions, result_notes = base.sections(compare_keys, compare_options or {})
    for target in targets:
        _target_pages(storage.for_session(session, target.name), session, target, writer, baseline)
    _index(session, baseline, targets, writer, extra)
    return ExportResult(
        str(out),
        session,
        baseline,
        targets=len(targets),
        keys=sum(len(t.infos) for t in targets),
        pages=writer.pages,
        regressions=regressions,
        notes=tuple(result_notes),
    )


def _infos(storage: BaseStorage) -> list[KeyInfo]:
    infos = [storage.info(k) for k in storage.list_keys()]
    return [i for i in infos if i is not None]


def _index(session: str, baseline: str | None, targets: list[Target], writer: Writer, extra: str) -> None:
    here = index_path()
    rows: list[list[str | Cell]] = [
        [
            f"<a href='{esc(link(here, target_path(t.name)))}'>{esc(t.name)}</a>",
            Cell(f"{len(t.infos):,}", align="right"),
            Cell(esc(human_size(t.size)), align="right"),
        ]
        for t in targets
    ]
    total = sum(len(t.infos) for t in targets)
    size = human_size(sum(t.size for t in targets))
    head = muted(f"{len(targets):,} targets · {total:,} keys · {esc(size)}", "p")
    body = f"{head}<h2>Targets</h2>{table(['target', 'keys', 'size'], rows)}{extra}"
    title = f"Session {session}" + (f" against {baseline}" if baseline else "")
    writer.write(here, title, body, [("report", "")])


def _target_pages(storage: BaseStorage, session: str, target: Target, writer: Writer, baseline: str | None) -> None:
    here = target_path(target.name)
    headers = ["key", "kind", "size", "hash", *(["against " + baseline] if baseline else [])]
    rows: list[list[str | Cell]] = []
    for info in target.infos:
        page_path = key_path(target.name, info.key)
        cells: list[str | Cell] = [
            f"<a href='{esc(link(here, page_path))}'>{code(info.key)}</a>",
            esc(info.kind),
            Cell(esc(human_size(info.size)), align="right"),
            code(info.hash[:12]),
        ]
        if baseline:
            cells.append(status_cell(here, target.name, info.key, target.status.get(info.key, "added")))
        rows.append(cells)
        status = target.status.get(info.key, "added") if baseline else None
        _key_page(storage, session, target.name, info, writer, status)
    removed = sorted(k for k, s in target.status.items() if s == "removed")
    gone = ""
    if removed:
        items = "".join(f"<li>{status_cell(here, target.name, k, 'removed')} {code(k)}</li>" for k in removed)
        gone = f"<h2>Only in {esc(baseline)}</h2><ul>{items}</ul>"
    body = muted(f"{len(target.infos):,} keys · {esc(human_size(target.size))}", "p") + table(headers, rows) + gone
    writer.write(here, f"{session} / {target.name}", body, [("report", index_path()), (target.name, "")])


def _key_page(
    storage: BaseStorage, session: str, target: str, info: KeyInfo, writer: Writer, status: str | None
) -> None:
    here = key_path(target, info.key)
    value = getattr(storage, LOAD_METHOD[info.kind])(info.key)
    facts = [
        ("kind", esc(info.kind)),
        ("size", esc(f"{info.size:,} B")),
        ("hash", code(info.hash)),
        ("modified", esc(info.modified.isoformat() if info.modified else "-")),
    ]
    preview = preview_html(info.kind, value, info.key, max_bytes=PREVIEW_MAX_BYTES)
    body = fields_table(facts) + diff_link(here, target, info.key, status) + f"<h2>Value</h2>{preview}"
    crumbs = [("report", index_path()), (target, target_path(target)), (info.key, "")]
    writer.write(here, f"{session}/{target}:{info.key}", body, crumbs)
