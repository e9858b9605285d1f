"""Before/after: named snapshots of targets around a step, saved next to the data and diffed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Self

from ..base import BaseStorage
from ..diff import DiffResult, Snapshot, diff_snapshots, snapshot
from ..display import DisplayObject, code, html_page
from ..errors import StorageError, StorageKeyError
from ..names import check_key

__all__ = ["BeforeAfter", "before_after", "diff_saved_snapshots"]


class BeforeAfter(DisplayObject):
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
        if self.before is None:
            raise StorageError(f"take_before() was not called for {self.labels[0]!r}")
        self.after = self._take(self.labels[1])
        self.diff = diff_snapshots(self.before, self.after, labels=self.labels, **self.options)
        if self.diff_key is not None:
            page = html_page(f"{self.labels[0]} -> {self.labels[1]}", self.diff._repr_html_())
            for storage in self.storages:
                storage.save_string(self.diff_key, page)
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

    def _text_twin(self) -> str:
        return repr(self)  # text/plain has always been the one-line summary; .diff holds the full diff

    def _html_body(self) -> str:
        if self.diff is not None:
            return self.diff._repr_html_()
        return code(repr(self))


def before_after(storage: BaseStorage | Iterable[BaseStorage], name: str = "transform", **options: Any) -> BeforeAfter:
    """Context manager: ``with before_after(storage, "transform") as ba: ...`` then ``ba.diff``."""
    return BeforeAfter(storage, name, **options)


def diff_saved_snapshots(
    storage: BaseStorage, before: str, after: str, *, folder: str = "snapshots", **options: Any
) -> DiffResult:
    """Diff two snapshots saved by :class:`BeforeAfter` (e.g. ``before_transform`` / ``after_transform``)."""
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
