"""File-system helpers of the local backend: root checks, kind markers (xattrs), walking, whole-file reads.

Pure functions over paths and file descriptors; the storage class (storage.py) owns the policy.
"""

from __future__ import annotations

import errno
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ...codec import JSONTooDeepError, decode_json
from ...errors import StorageBackendError, StorageValueError, StorageValueTypeError
from ...kinds import KINDS, Kind
from ...names import SEGMENT_MAX

XATTR = "user.perf_storage.kind"
HAS_XATTR = hasattr(os, "setxattr")
PROC_FD = os.path.isdir("/proc/self/fd")
VALID_SEGMENT = re.compile(rf"[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{SEGMENT_MAX - 1}}}")
NAME_MAX = 255  # bytes per file or folder name on ext4, xfs, btrfs, tmpfs, APFS and NTFS
O_PATH = getattr(os, "O_PATH", os.O_RDONLY)  # O_PATH: open for fstat/readlink without read permission
#: what setxattr answers on a file system without user extended attributes (FAT, some NFS, ...)
NO_XATTR_ERRNOS = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


def check_root(root: object) -> Path:
    """The absolute root folder, checked up front: a clear StorageValueError instead of a failure at the first save."""
    raw = os.fspath(root) if isinstance(root, (str, os.PathLike)) else None
    if not isinstance(raw, str):
        raise StorageValueTypeError(f"root must be a folder path (str or Path), not {root!r}"[:200])
    if not raw:
        raise StorageValueError("root must be a folder path, not ''; e.g. root='./perf_results'")
    if "\0" in raw:
        raise StorageValueError(f"root {raw!r} contains a NUL character; a folder path cannot hold one"[:300])
    path = Path(os.path.abspath(os.path.expanduser(raw)))
    name_max = NAME_MAX
    for part in path.parts[1:]:
        if len(os.fsencode(part)) > name_max:
            raise StorageValueError(
                f"root {str(path)[:80]!r}... has a folder name of {len(os.fsencode(part))} bytes; the file system "
                f"allows at most {name_max}"
            )
    try:
        if path.exists() and not path.is_dir():
            raise StorageValueError(f"root {str(path)!r} exists and is not a folder")
    except OSError as exc:
        raise StorageValueError(f"root {str(path)[:200]!r} is not a usable folder path: {exc.strerror or exc}") from exc
    return path


def walk(folder: str, rel: str) -> list[str]:
    """Relative '/'-joined paths of regular files below ``folder``, skipping hidden/temp files and links.

    A loop over a stack of folders, not recursive generators: every path would otherwise be handed up
    through one generator per folder level (10,000 keys three levels deep: 30,000 resumptions).
    """
    found: list[str] = []
    valid = VALID_SEGMENT.fullmatch
    todo = [(folder, rel)]
    while todo:
        here, prefix = todo.pop()
        try:
            with os.scandir(here) as entries:
                for entry in entries:
                    name = entry.name
                    if not valid(name):
                        continue  # hidden/temp files and hand-placed names that are not valid keys (load would refuse)
                    if entry.is_dir(follow_symlinks=False):
                        todo.append((entry.path, f"{prefix}{name}/"))
                    elif entry.is_file(follow_symlinks=False):
                        found.append(prefix + name)
        except (FileNotFoundError, NotADirectoryError):
            continue  # removed by a concurrent delete (or never made): nothing below it
    return found


def subfolders(folder: str) -> list[str]:
    """Sub-folders whose names are valid ids (hand-made 'my session' folders are not sessions)."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if e.is_dir(follow_symlinks=False) and VALID_SEGMENT.fullmatch(e.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def read_all(fd: int, size: int) -> bytes:
    """Read a whole file: one read() when it did not grow since fstat (files change only by rename)."""
    data = os.read(fd, size)
    if len(data) < size:  # short read (signals, odd file systems): keep reading until end of file
        parts = [data]
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        data = b"".join(parts)
    return data


def iter_file(fh: BinaryIO, chunk_size: int, key: str, where: str) -> Iterator[bytes]:
    """Yield chunks and close the file; read errors become StorageBackendError."""
    with fh:
        try:
            while chunk := fh.read(chunk_size):
                yield chunk
        except OSError as exc:
            raise StorageBackendError(f"cannot read {key!r} in {where}: {exc.strerror or exc}") from exc


def fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def parent_is_key(key: str) -> StorageValueError:
    return StorageValueError(f"cannot save {key!r}: a parent of it is already a key (a key cannot also be a folder)")


_warned_no_xattr = False


def mark(fd: int, kind: Kind) -> None:
    """Record the kind in the file's xattr (set before the rename, so content and kind change together)."""
    global _warned_no_xattr
    if not HAS_XATTR:
        return
    try:
        os.setxattr(fd, XATTR, kind.encode())
    except OSError as exc:
        if exc.errno not in NO_XATTR_ERRNOS:
            # No space, quota, I/O error: the file system keeps xattrs but refused this one. A value without its
            # marker would load as the wrong kind later, so the save fails here (the old value stays).
            raise
        if not _warned_no_xattr:  # once per process: every write on such a file system would fail the same way
            _warned_no_xattr = True
            warnings.warn(
                f"this file system does not keep extended attributes ({exc.strerror}); LocalStorage will infer "
                "each file's kind from its content",
                RuntimeWarning,
                stacklevel=4,
            )


def marker(fd: int) -> Kind | None:
    """The kind recorded in the file's xattr, or None (no xattr support, or a file copied in by hand)."""
    if HAS_XATTR:
        try:
            kind = os.getxattr(fd, XATTR).decode()
        except OSError:
            return None
        if kind in KINDS:
            return kind
    return None


def classify(key: str, payload: bytes, hint: Kind | None = None) -> Kind:
    """Kind of an unmarked file (copied by cp/git/zip, or written by hand), by content.

    Such a file has no recorded kind, so it is readable with whichever method its content fits:
    the caller's ``hint`` wins when the content allows it.
    """
    if hint == "bytes":
        return "bytes"
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes"
    if hint == "text":
        return "text"
    if hint == "json" or key.endswith(".json"):
        try:
            decode_json(text)
        except JSONTooDeepError:
            return "json"  # JSON, only nested too deeply to read: loading it says exactly that
        except ValueError:
            return "text"
        return "json"
    return "text"
