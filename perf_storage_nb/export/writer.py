"""The report folder: preparing it (new, empty or an earlier report), writing linked pages, and per-target data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StorageValueError
from .site import MARKER, link, page

if TYPE_CHECKING:
    from ..base import KeyInfo

__all__ = ["Target", "Writer", "prepare"]


@dataclass
class Target:
    """One target of the exported session: its keys' metadata (and, with a baseline, their status)."""

    name: str
    infos: list[KeyInfo]
    status: dict[str, str] = field(default_factory=dict)  # key -> added/removed/changed/same (with a baseline)

    @property
    def size(self) -> int:
        """Sum of the canonical sizes of the keys."""
        return sum(i.size for i in self.infos)


class Writer:
    """Writes pages under the report folder and counts them."""

    def __init__(self, folder: Path, generator: str) -> None:
        self.folder = folder
        self.generator = generator
        self.pages = 0

    def write(self, path: str, title: str, body: str, crumbs: list[tuple[str, str]]) -> None:
        """One page at the report-relative ``path``; crumbs are ``(text, report-relative path or '')``."""
        linked = [(text, link(path, href) if href else "") for text, href in crumbs]
        target = self.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page(title, body, crumbs=linked, generator=self.generator), encoding="utf-8")
        self.pages += 1


def prepare(folder: Path, *, force: bool) -> None:
    """Make ``folder`` ready: new or empty, or an earlier report (replaced); anything else needs ``force``."""
    if folder.exists() and not folder.is_dir():
        raise StorageValueError(f"report folder {str(folder)!r} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).exists() and not force:
            raise StorageValueError(
                f"report folder {str(folder)!r} is not empty and holds no earlier report; give a new or empty "
                "folder, or --force to write into it"
            )
        for old in ("index.html", "targets", MARKER):
            path = folder / old
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("written by perf-storage export; a later export may replace this folder\n")
