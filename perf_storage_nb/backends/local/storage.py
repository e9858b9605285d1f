"""LocalStorage: human-readable files under ``<root>/<session>/<target>/<key>``, written atomically."""

from __future__ import annotations

import copy
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from ...base import BaseStorage, KeyInfo
from ...errors import (
    StorageBackendError,
    StorageConfigTypeError,
    StorageKeyError,
    StorageKindError,
    StorageNameError,
    StorageValueError,
)
from ...kinds import Kind
from .files import (
    O_PATH,
    PROC_FD,
    check_root,
    classify,
    fsync_dir,
    iter_file,
    mark,
    marker,
    parent_is_key,
    read_all,
    subfolders,
    walk,
)

__all__ = ["DEFAULT_ROOT", "LocalStorage"]

DEFAULT_ROOT = "./perf_results"
_RETRIES = 20  # a concurrent delete may remove a folder between our mkdir and our create


class LocalStorage(BaseStorage):
    """Files on disk: JSON pretty-printed, text verbatim, bytes raw; atomic writes (temp file + rename).

    The kind of each file (json/text/bytes) rides in an extended attribute set before the rename, so
    content and kind change together; files without it (copied in by hand) are classified by content.
    """

    backend_name: ClassVar[str] = "local"
    pretty_json: ClassVar[bool] = True

    def __init__(
        self, session_id: str, target_id: str, *, root: str | os.PathLike[str] = DEFAULT_ROOT, fsync: bool = False
    ) -> None:
        super().__init__(session_id, target_id)
        self._root = check_root(root)
        if fsync not in (True, False):  # 1 and 0 pass too
            raise StorageConfigTypeError(f"fsync must be True or False, not {fsync!r}"[:200])
        self._fsync = bool(fsync)
        self._real_root = os.path.realpath(self._root)
        self._target_dir = os.path.join(self._root, self.session_id, self.target_id)

    @property
    def root(self) -> Path:
        """The folder that holds every session."""
        return self._root

    def to_config(self) -> dict[str, Any]:
        """Config dict: backend, ids, root and fsync."""
        return {
            "backend": "local",
            "session_id": self.session_id,
            "target_id": self.target_id,
            "root": str(self._root),
            "fsync": self._fsync,
        }

    def describe(self) -> str:
        """Short location string for messages (no secrets)."""
        return f"file://{self._root}/{self.session_id}/{self.target_id}"

    def __repr__(self) -> str:
        return f"LocalStorage(session_id={self.session_id!r}, target_id={self.target_id!r}, root={str(self._root)!r})"

    # ---- paths and the OSError seam ----------------------------------------------------------------
    def _path(self, key: str) -> str:
        return os.path.join(self._target_dir, key)

    def _check_inside(self, folder: str) -> None:
        """Refuse folders that resolve outside the root (a symlink planted inside the tree)."""
        real = self._real_folder(folder) if PROC_FD else None
        self._check_real(real if real is not None else os.path.realpath(folder), folder)

    def _real_folder(self, folder: str) -> str | None:
        """Where ``folder`` resolves, from its deepest existing folder below the root: one open + one readlink.

        What lies below that folder does not exist yet, so it is plain names (keys and ids never hold '.' or
        '..' segments) and cannot redirect anything: the deepest existing folder decides, as it does for
        ``os.path.realpath``, which costs an lstat per component of the whole path. None: use realpath.
        """
        root, probe, rest = str(self._root), folder, []
        while probe == root or probe.startswith(root + os.sep):
            try:
                fd = os.open(probe, O_PATH | os.O_DIRECTORY)  # follows links: where it leads is the question
            except (FileNotFoundError, NotADirectoryError):
                if self._is_link(probe):
                    return None  # a dangling link, or a link to a file: realpath resolves it as before
                probe, name = os.path.split(probe)
                rest.append(name)
                continue
            except OSError:
                return None  # a link loop, no permission...: realpath decides as before
            try:
                real = os.readlink(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
            return os.path.join(real, *reversed(rest))
        return None  # not even the root exists yet

    @staticmethod
    def _is_link(path: str) -> bool:
        try:
            return stat.S_ISLNK(os.lstat(path).st_mode)
        except OSError:
            return False

    def _check_real(self, real: str, shown: str) -> None:
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise StorageNameError(
                f"refusing {shown!r}: it resolves to {real!r}, outside the storage root {self._real_root!r}"
            )

    def _check_fd_inside(self, fd: int, path: str) -> None:
        """Containment check of an opened file: one readlink of /proc/self/fd instead of a realpath walk."""
        if PROC_FD:
            self._check_real(os.readlink(f"/proc/self/fd/{fd}"), path)
        else:
            self._check_inside(os.path.dirname(path))

    @contextmanager
    def _os_errors(self, action: str, key: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if isinstance(exc, StorageBackendError):
                raise
            raise StorageBackendError(f"cannot {action} {key!r} in {self.describe()}: {exc.strerror or exc}") from exc

    # ---- primitives --------------------------------------------------------------------------------
    def _write(self, key: str, kind: Kind, payload: bytes) -> None:
        self._write_stream(key, (payload,), kind)

    def _write_stream(self, key: str, chunks: Iterable[bytes], kind: Kind = "bytes") -> int:
        path = self._path(key)
        folder, name = os.path.split(path)
        with self._os_errors("save", key):
            fd, tmp = self._create_temp(key, folder, name)
            written = 0
            try:
                with os.fdopen(fd, "wb") as fh:
                    mark(fh.fileno(), kind)
                    for chunk in chunks:
                        fh.write(chunk)
                        written += len(chunk)
                    if self._fsync:
                        fh.flush()
                        os.fsync(fh.fileno())
                try:
                    os.replace(tmp, path)  # atomic on POSIX: readers see the old or the new file, never half
                except IsADirectoryError:
                    raise StorageValueError(
                        f"cannot save {key!r}: it is already a folder of other keys ({key}/...); a key cannot be both"
                    ) from None
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                self._prune(folder)  # folders made for a write that failed must not show up as sessions/targets
                raise
            if self._fsync:
                with suppress(FileNotFoundError):  # deleted and pruned by someone else already: nothing to sync
                    fsync_dir(folder)
        return written

    def _create_temp(self, key: str, folder: str, name: str) -> tuple[int, str]:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        for _ in range(_RETRIES):
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            except (FileNotFoundError, NotADirectoryError) as exc:
                # Slow path: the folder is missing (or a parent is a file). Check where it would resolve
                # *before* creating anything, so a planted symlink cannot make us create folders outside.
                self._check_inside(folder)
                if isinstance(exc, NotADirectoryError) and self._file_above(folder):
                    raise parent_is_key(key) from None
                self._make_folder(key, folder)
                continue  # also the retry when a concurrent delete pruned the folder in between
            try:
                self._check_fd_inside(fd, tmp)
            except BaseException:
                os.close(fd)
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            return fd, tmp
        raise StorageBackendError(f"cannot save {key!r}: its folder keeps disappearing (concurrent deletes?)")

    def _make_folder(self, key: str, folder: str) -> None:
        """Create ``folder`` and its missing parents; a failure leaves none of them behind."""
        try:
            os.makedirs(folder, exist_ok=True)
        except (FileExistsError, NotADirectoryError, FileNotFoundError):
            # A concurrent delete pruning a folder mid-way fails makedirs like this (FileNotFoundError: a parent
            # vanished between two of its mkdirs): the caller simply tries again. Only a regular file on the
            # path means "a parent is already a key".
            if self._file_above(folder):
                raise parent_is_key(key) from None
        except OSError:
            # No space, no inodes, no permission: the folders made so far must not show up as sessions/targets.
            self._prune(folder)
            raise

    def _file_above(self, folder: str) -> bool:
        """True when ``folder`` or one of its parents below the root is a regular file (an existing key)."""
        root = str(self._root)
        while folder != root and folder.startswith(root + os.sep):
            try:
                if stat.S_ISREG(os.lstat(folder).st_mode):
                    return True
            except (FileNotFoundError, NotADirectoryError):
                pass
            folder = os.path.dirname(folder)
        return False

    def _open(self, key: str, flags: int = os.O_RDONLY) -> tuple[int, os.stat_result] | None:
        """Open a key's file without following links: (fd, stat) or None when it is not a regular file."""
        path = self._path(key)
        try:
            # O_NONBLOCK: a FIFO planted under the root must not block us; regular files ignore the flag.
            fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            return None  # a folder of keys, not a key
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._check_inside(os.path.dirname(path))
                raise StorageNameError(f"refusing {key!r}: it is a symbolic link (links are never followed)") from None
            raise
        try:
            self._check_fd_inside(fd, path)
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)  # a folder, FIFO, device or (O_PATH) link: not a key
                return None
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    def _read_opened(self, key: str, fd: int, size: int, hint: Kind | None = None) -> tuple[Kind, bytes]:
        try:
            kind = marker(fd)
            payload = read_all(fd, size)
        finally:
            os.close(fd)
        return kind or classify(key, payload, hint), payload

    def _read(self, key: str, hint: Kind) -> tuple[Kind, bytes] | None:
        with self._os_errors("load", key):
            opened = self._open(key)
            return None if opened is None else self._read_opened(key, opened[0], opened[1].st_size, hint)

    def _read_stream(self, key: str, chunk_size: int) -> Iterator[bytes]:
        with self._os_errors("load", key):
            opened = self._open(key)
            if opened is None:
                raise StorageKeyError(f"no key {key!r} in {self.describe()}")
            fd = opened[0]
            kind = marker(fd)
            if kind not in (None, "bytes"):  # an unmarked file may be streamed whatever it holds
                os.close(fd)
                raise StorageKindError(key, kind, "bytes")
            # The generator owns the file now: it closes it when exhausted, closed or garbage-collected.
            fh = open(fd, "rb")  # noqa: SIM115 - see above
        return iter_file(fh, chunk_size, key, self.describe())

    def _exists(self, key: str) -> bool:
        with self._os_errors("check", key):
            opened = self._open(key, O_PATH)
            if opened is None:
                return False
            os.close(opened[0])
            return True

    def _remove(self, key: str) -> bool:
        path = self._path(key)
        with self._os_errors("delete", key):
            self._check_inside(os.path.dirname(path))
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    return False
                os.unlink(path)
            except (FileNotFoundError, NotADirectoryError):
                return False
            self._prune(os.path.dirname(path))
        return True

    def _prune(self, folder: str) -> None:
        """Remove folders left empty (by a delete or a failed save) from ``folder`` up to, not including, the root."""
        root = str(self._root)
        while folder != root and folder.startswith(root + os.sep):
            try:
                os.rmdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                pass  # never made, or already pruned by someone else: its parent may still be empty
            except OSError:
                return  # not empty (or in use by a concurrent writer): stop here
            folder = os.path.dirname(folder)

    def _iter_keys(self, prefix: str) -> Iterable[str]:
        start = prefix.rpartition("/")[0]
        top = os.path.join(self._target_dir, start) if start else self._target_dir
        with self._os_errors("list", prefix):
            if os.path.isdir(top):
                self._check_inside(top)  # also when the target (or session) folder itself is a planted link
            return walk(top, f"{start}/" if start else "")

    def _stat(self, key: str) -> KeyInfo | None:
        with self._os_errors("stat", key):
            opened = self._open(key)
            if opened is None:
                return None
            fd, st = opened
            kind = marker(fd)
            modified = datetime.fromtimestamp(st.st_mtime, UTC)
            if kind in ("text", "bytes"):
                import hashlib  # here, not at the top: it loads OpenSSL (~3 ms), which a CLI listing never needs

                with open(fd, "rb") as fh:  # hash in chunks: info() of a huge value needs no RAM for it
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
                return KeyInfo(key, kind, st.st_size, digest, modified, stored_size=st.st_size)
            # JSON's size and hash are those of its canonical (compact) form, which needs the parsed value.
            kind, payload = self._read_opened(key, fd, st.st_size)
        return self._key_info(key, kind, payload, modified)

    def _list_sessions(self) -> Iterable[str]:
        with self._os_errors("list sessions of", str(self._root)):
            return subfolders(str(self._root))

    def _list_targets(self, session: str) -> Iterable[str]:
        with self._os_errors("list targets of", session):
            return subfolders(os.path.join(self._root, session))

    def _sibling(self, session_id: str, target_id: str) -> Self:
        # The root was checked and resolved when this storage was built: a batch makes one sibling per item,
        # and checking it again (realpath + stats) was most of the per-item cost of for_target().
        twin = copy.copy(self)
        BaseStorage.__init__(twin, session_id, target_id)
        twin._target_dir = os.path.join(self._root, twin.session_id, twin.target_id)
        return twin
