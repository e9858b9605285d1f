"""Local backend hardening: each test names a class of failure that once broke a promise.

- concurrent deletes pruning folders never fail a concurrent save (two writer processes);
- a kind marker the file system refuses for lack of space fails the save, the old value stays;
- a save that fails while creating folders (no inodes) leaves no folder behind;
- delete_target on a read-only root raises and keeps the keys (never "0 deleted" and silence);
- planted, deeply nested or corrupt JSON is a StorageBackendError on load, load_any, info and load_many;
- the root option is checked when the storage is built (NUL, over-long folder names, wrong types).

Real file systems where this machine allows them (a tmpfs with a few inodes, remounted read-only; needs
permission to mount, i.e. root), and fault injection of the same errno otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_storage_nb import LocalStorage, StorageBackendError, StorageError, StorageValueError

REPO = Path(__file__).resolve().parents[1]

_RACER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from perf_storage_nb import LocalStorage
storage = LocalStorage("s", "t", root=sys.argv[2])
failures = []
for i in range(int(sys.argv[4])):
    key = f"shared/w{sys.argv[3]}_{i % 3}.json"
    try:
        storage.save(key, {"i": i})
        storage.delete(key)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
print(len(failures), failures[:3])
"""


@pytest.mark.slow
def test_concurrent_prunes_never_fail_a_save(tmp_path: Path) -> None:
    # Each writer saves then deletes keys in one shared folder: every delete prunes the folder (and its
    # parents) the other writer is creating. Before the fix 2-6 % of the saves failed with ENOENT.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(REPO), str(tmp_path), str(w), "1500"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert [out.split(" ", 1)[0] for out in outputs] == ["0", "0"], outputs
    assert LocalStorage("s", "t", root=tmp_path).list_keys() == []


def _refuse_xattr(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def setxattr(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "setxattr", setxattr)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.E2BIG])
def test_a_marker_refused_for_lack_of_space_fails_the_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    storage.save_string("page.json", "old text")
    _refuse_xattr(monkeypatch, code)
    with pytest.raises(StorageBackendError, match=os.strerror(code)):
        storage.save("page.json", {"new": True})
    monkeypatch.undo()
    assert storage.load_string("page.json") == "old text"  # old value and its kind intact
    assert sorted(p.name for p in (tmp_path / "s" / "t").iterdir()) == ["page.json"]  # no temp file left
    with pytest.raises(StorageBackendError):
        _refuse_xattr(monkeypatch, code)
        storage.save("new/deep/k.json", 1)
    monkeypatch.undo()
    assert storage.list_keys() == ["page.json"] and not (tmp_path / "s" / "t" / "new").exists()


def test_a_file_system_without_xattrs_still_saves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    _refuse_xattr(monkeypatch, errno.ENOTSUP)
    with pytest.warns(RuntimeWarning, match="extended attributes"):
        import perf_storage_nb.backends.local.files as local_module

        monkeypatch.setattr(local_module, "_warned_no_xattr", False)
        storage.save("k.json", {"a": 1})
    assert storage.load("k.json") == {"a": 1}  # kind inferred from the content


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs with 12 inodes (mounted here, unmounted after); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=12", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"needs permission to mount a tmpfs (root): {done.stderr.strip()[:120]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_save_out_of_inodes_leaves_no_folder_behind(tiny_tmpfs: Path) -> None:
    storage = LocalStorage("s", "t", root=tiny_tmpfs)
    storage.save("k.json", 1)
    deep = "/".join(f"d{i}" for i in range(30)) + "/k.json"  # more folders than inodes left
    with pytest.raises(StorageBackendError, match="No space left"):
        storage.save(deep, {"x": 1})
    assert storage.list_keys() == ["k.json"]
    assert sorted(p.name for p in (tiny_tmpfs / "s" / "t").iterdir()) == ["k.json"]
    assert storage.sessions() == ["s"] and storage.for_session("other").sessions() == ["s"]
    with pytest.raises(StorageBackendError):
        storage.for_session("new_session").save(deep, 1)
    assert storage.sessions() == ["s"]  # the failed save's session folder is gone too


def test_a_save_failing_mid_makedirs_leaves_no_folder_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    real_mkdir = os.mkdir
    made: list[str] = []

    def mkdir(path: str, mode: int = 0o777, **kwargs: object) -> None:
        if len(made) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_mkdir(path, mode)
        made.append(str(path))

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(StorageBackendError, match="No space left"):
        storage.save("a/b/c/k.json", 1)
    monkeypatch.undo()
    assert len(made) == 2 and not any(os.path.exists(p) for p in made)
    assert storage.sessions() == [] and list(tmp_path.iterdir()) == []


def test_delete_target_on_a_read_only_root_raises_and_keeps_the_keys(tiny_tmpfs: Path) -> None:
    storage = LocalStorage("s", "t", root=tiny_tmpfs)
    storage.save_many({"a.json": 1, "b/c.json": 2}).raise_for_errors()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    try:
        with pytest.raises(StorageBackendError, match=r"2 key\(s\) could not be deleted and remain"):
            storage.delete_target()
        assert storage.list_keys() == ["a.json", "b/c.json"]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_tmpfs)], check=True)
    assert storage.delete_target() == 2  # usable again once writable


def test_delete_target_reports_a_partial_delete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    storage.save_many({"a.json": 1, "b.json": 2, "c.json": 3}).raise_for_errors()
    real_unlink = os.unlink

    def unlink(path: str, *args: object, **kwargs: object) -> None:
        if str(path).endswith("b.json"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(StorageBackendError, match=r"1 key\(s\) could not be deleted and remain \(2 deleted\): b.json"):
        storage.delete_target()
    monkeypatch.undo()
    assert storage.list_keys() == ["b.json"]


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000 + "]" * 100_000, '{"a": ' * 50_000 + "1" + "}" * 50_000, "{not json", '{"a": 1'],
    ids=["deep-list", "deep-dict", "garbage", "truncated"],
)
def test_planted_unreadable_json_is_a_backend_error(tmp_path: Path, content: str) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    storage.save("a.json", {"x": 1})
    (tmp_path / "s" / "t" / "a.json").write_text(content)  # keeps the json kind marker: rewritten in place
    for read in (storage.load, storage.load_any, storage.info, storage.__getitem__):
        with pytest.raises(StorageBackendError, match="'a.json'"):
            read("a.json")
    result = storage.load_many(["a.json"])
    assert isinstance(result.errors["a.json"], StorageBackendError)
    storage.save("a.json", {"x": 2})  # the storage stays usable
    assert storage.load("a.json") == {"x": 2}


def test_info_size_is_the_canonical_size_and_stored_size_the_file(tmp_path: Path) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    value = {"latency_ms": 12.5, "nodes": [1, 2, 3], "name": "ünï"}
    storage.save("m.json", value)
    info = storage.info("m.json")
    assert info is not None
    assert info.size == len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    assert info.stored_size == (tmp_path / "s" / "t" / "m.json").stat().st_size > info.size  # pretty on disk


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("/tmp/a\0b", "NUL character"),
        ("/tmp/" + "x" * 300, "folder name of 300 bytes"),
        ("", "not ''"),
    ],
)
def test_bad_roots_fail_at_construction(root: str, message: str) -> None:
    with pytest.raises(StorageValueError, match=message):
        LocalStorage("s", "t", root=root)


@pytest.mark.parametrize("root", [5, 1.5, b"/tmp/x", None, ["/tmp"]])
def test_roots_of_the_wrong_type_are_type_errors(root: object) -> None:
    with pytest.raises(StorageValueError) as info:
        LocalStorage("s", "t", root=root)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("fsync", ["no", 2, None])
def test_fsync_must_be_a_boolean(tmp_path: Path, fsync: object) -> None:
    with pytest.raises(TypeError, match="fsync must be True or False"):
        LocalStorage("s", "t", root=tmp_path, fsync=fsync)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(name=st.text(min_size=1, max_size=400).filter(lambda n: "/" not in n and n not in (".", "..")))
def test_any_root_text_gives_a_storage_or_a_storage_error(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    base = tmp_path_factory.getbasetemp() / f"roots-{uuid.uuid4().hex[:8]}"  # one folder name below it only
    try:
        storage = LocalStorage("s", "t", root=base / name)
    except StorageError:
        return
    storage.save("k.json", 1)  # a root that was accepted works
    assert storage.load("k.json") == 1


@pytest.mark.parametrize("hint", ["load", "load_any", "info", "load_string"])
def test_an_unmarked_deep_json_file_is_a_backend_error(tmp_path: Path, hint: str) -> None:
    # A file copied in by hand has no kind marker: its kind is inferred from the content, which must not recurse.
    folder = tmp_path / "s" / "t"
    folder.mkdir(parents=True)
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    storage = LocalStorage("s", "t", root=tmp_path)
    if hint == "load_string":
        assert storage.load_string("deep.json") == "[" * 100_000 + "]" * 100_000  # text is what it also is
        return
    with pytest.raises(StorageBackendError, match="nested too deeply to read"):
        getattr(storage, hint)("deep.json")
