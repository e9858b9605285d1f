"""Local-backend specifics: layout on disk, atomic writes, traversal and symlink defences, folder cleanup."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from perf_storage_nb import LocalStorage, StorageBackendError, StorageNameError, StorageValueError


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage("experiment_alpha", "item_001", root=tmp_path / "root")


def test_layout_is_human_readable(local: LocalStorage) -> None:
    local.save("results/metrics.json", {"latency_ms": 12.5, "name": "ünï"})
    local.save_string("output/rendered.html", "<h1>hi</h1>\r\n")
    base = local.root / "experiment_alpha" / "item_001"
    text = (base / "results" / "metrics.json").read_text(encoding="utf-8")
    assert text == '{\n  "latency_ms": 12.5,\n  "name": "ünï"\n}\n'  # pretty, UTF-8, not \u-escaped
    assert (base / "output" / "rendered.html").read_bytes() == b"<h1>hi</h1>\r\n"  # verbatim
    assert sorted(p.name for p in base.rglob("*")) == ["metrics.json", "output", "rendered.html", "results"]


def test_no_temp_files_left_and_rejected_values_leave_nothing(local: LocalStorage) -> None:
    local.save("a.json", {"v": 1})
    with pytest.raises(StorageValueError):
        local.save("a.json", {"v": float("nan")})
    with pytest.raises(StorageValueError):
        local.save("b.json", {1: "x"})
    folder = local.root / "experiment_alpha" / "item_001"
    assert [p.name for p in folder.iterdir()] == ["a.json"]
    assert json.loads((folder / "a.json").read_text()) == {"v": 1}


def test_delete_removes_empty_folders(local: LocalStorage) -> None:
    local.save("deep/er/still/k.json", 1)
    local.save("deep/other.json", 2)
    assert local.delete("deep/er/still/k.json")
    assert not (local.root / "experiment_alpha" / "item_001" / "deep" / "er").exists()
    assert (local.root / "experiment_alpha" / "item_001" / "deep" / "other.json").exists()
    assert local.delete("deep/other.json")
    assert not (local.root / "experiment_alpha").exists()  # session folder gone when empty
    assert local.root.exists()  # the root itself stays
    assert local.sessions() == []


@pytest.mark.parametrize(
    "key",
    ["../other_target/x", "../../other_session/t/x", "/etc/passwd", "a/../../b", "%2e%2e/x", "..%2fx", "a/%2E%2E/b"],
)
def test_traversal_attempts_rejected(local: LocalStorage, key: str, tmp_path: Path) -> None:
    with pytest.raises(StorageNameError):
        local.save_string(key, "pwned")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_percent_encoded_dots_are_literal_not_decoded(local: LocalStorage) -> None:
    # '%' is not an allowed character, so encoded dots can never be decoded into '..' later.
    with pytest.raises(StorageNameError, match="'%'"):
        local.save("x%2e%2e", 1)


def test_symlinked_folder_out_of_root_is_refused(local: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text('{"secret": true}')
    target = local.root / "experiment_alpha" / "item_001"
    target.mkdir(parents=True)
    os.symlink(outside, target / "linked")
    with pytest.raises(StorageNameError, match="outside the storage root"):
        local.load("linked/secret.json")
    with pytest.raises(StorageNameError, match="outside the storage root"):
        local.save("linked/new.json", {"x": 1})
    with pytest.raises(StorageNameError, match="outside the storage root"):
        local.delete("linked/secret.json")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.json"]
    assert local.list_keys() == []  # links are not followed when listing


def test_symlinked_file_is_not_followed(local: LocalStorage, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    target = local.root / "experiment_alpha" / "item_001"
    target.mkdir(parents=True)
    os.symlink(secret, target / "link.txt")
    with pytest.raises(StorageNameError, match="symbolic link"):
        local.load_string("link.txt")
    assert not local.exists("link.txt")
    assert local.delete("link.txt") is False
    assert secret.read_text() == "secret"


def test_symlinked_target_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "s").mkdir(parents=True)
    os.symlink(outside, root / "s" / "t")
    storage = LocalStorage("s", "t", root=root)
    with pytest.raises(StorageNameError, match="outside the storage root"):
        storage.save("k", 1)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("where", ["s/t", "s/t/deep", "s"])
def test_a_dangling_link_on_the_way_creates_nothing_outside(tmp_path: Path, where: str) -> None:
    """A link to a folder that does not exist yet (outside the root) must not become a way out."""
    outside = tmp_path / "outside" / "not_yet"
    root = tmp_path / "root"
    link = root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, link)
    storage = LocalStorage("s", "t", root=root)
    with pytest.raises((StorageNameError, StorageBackendError)):
        storage.save("deep/er/k.json", 1)
    assert not (tmp_path / "outside").exists()


def test_a_link_to_a_file_on_the_way_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    root = tmp_path / "root"
    (root / "s" / "t").mkdir(parents=True)
    os.symlink(secret, root / "s" / "t" / "folder")
    storage = LocalStorage("s", "t", root=root)
    with pytest.raises((StorageNameError, StorageValueError)):
        storage.save("folder/k.json", 1)
    assert secret.read_text() == "secret"


def test_a_link_that_stays_inside_the_root_is_followed_for_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real_session").mkdir(parents=True)
    os.symlink(root / "real_session", root / "s")  # e.g. a renamed session kept under its old name
    storage = LocalStorage("s", "t", root=root)
    storage.save("a/b/k.json", {"x": 1})
    assert (root / "real_session" / "t" / "a" / "b" / "k.json").is_file()
    assert storage.load("a/b/k.json") == {"x": 1}


def test_a_root_given_through_a_link_works(tmp_path: Path) -> None:
    (tmp_path / "real_root").mkdir()
    os.symlink(tmp_path / "real_root", tmp_path / "root_link")
    storage = LocalStorage("s", "t", root=tmp_path / "root_link")
    storage.save("new/folder/k.json", 1)
    assert storage.load("new/folder/k.json") == 1
    assert storage.for_target("t2").delete("missing") is False


def test_key_and_folder_conflict_is_clear(local: LocalStorage) -> None:
    local.save("a", 1)
    with pytest.raises(StorageValueError, match="parent of it is already a key"):
        local.save("a/b", 2)
    local.save("c/d", 1)
    with pytest.raises(StorageValueError, match="already a folder"):
        local.save("c", 2)
    assert local.list_keys() == ["a", "c/d"]


def test_fsync_option_round_trips(tmp_path: Path) -> None:
    storage = LocalStorage("s", "t", root=tmp_path, fsync=True)
    storage.save("k", {"durable": True})
    assert storage.load("k") == {"durable": True}
    assert storage.to_config()["fsync"] is True


def test_files_copied_in_by_hand_are_classified(local: LocalStorage) -> None:
    folder = local.root / "experiment_alpha" / "item_001"
    folder.mkdir(parents=True)
    (folder / "hand.json").write_text('{"from": "hand"}')
    (folder / "notes.md").write_text("# notes\n")
    (folder / "blob.bin").write_bytes(b"\xff\xfe\x00")
    assert local.load("hand.json") == {"from": "hand"}
    assert local.load_string("notes.md") == "# notes\n"
    assert local.load_bytes("blob.bin") == b"\xff\xfe\x00"
    assert local.info("blob.bin").kind == "bytes"  # type: ignore[union-attr]


def test_unwritable_root_is_a_backend_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permission bits; use a path under a regular file instead
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(StorageValueError, match="not a folder"):
            LocalStorage("s", "t", root=blocker)
        return
    root = tmp_path / "ro"
    root.mkdir(mode=0o500)
    with pytest.raises(StorageBackendError, match="cannot save"):
        LocalStorage("s", "t", root=root).save("k", 1)


def test_streaming_large_value_in_chunks(local: LocalStorage) -> None:
    chunk = os.urandom(1 << 20)
    written = local.save_stream("big.bin", (chunk for _ in range(8)))
    assert written == 8 << 20
    sizes = [len(c) for c in local.iter_bytes("big.bin", chunk_size=1 << 20)]
    assert sizes == [1 << 20] * 8
    path = local.root / "experiment_alpha" / "item_001" / "big.bin"
    assert path.stat().st_size == 8 << 20
    local.save_string("t.txt", "text")
    with pytest.raises(TypeError, match="load_string"):
        list(local.iter_bytes("t.txt"))


def test_list_keys_skips_hidden_and_temp_files(local: LocalStorage) -> None:
    local.save("visible", 1)
    folder = local.root / "experiment_alpha" / "item_001"
    (folder / ".visible.123.abcd.tmp").write_bytes(b"partial")
    (folder / ".DS_Store").write_bytes(b"")
    assert local.list_keys() == ["visible"]


def test_corrupt_files_are_backend_errors_not_crashes(local: LocalStorage) -> None:
    local.save("bad.json", {"ok": True})
    local.save_string("bad.txt", "fine")
    folder = local.root / "experiment_alpha" / "item_001"
    (folder / "bad.json").write_text("{not json")  # edited by hand; the kind marker (xattr) survives
    (folder / "bad.txt").write_bytes(b"\xff\xfe broken")
    with pytest.raises(StorageBackendError, match="not valid JSON"):
        local.load("bad.json")
    with pytest.raises(StorageBackendError, match="not valid UTF-8"):
        local.load_string("bad.txt")
    with pytest.raises(StorageBackendError, match="not valid JSON"):
        local.load_any("bad.json")


def test_a_copied_tree_without_kind_markers_stays_readable(local: LocalStorage, tmp_path: Path) -> None:
    import shutil

    local.save("result", {"v": 1})  # JSON under a key without .json
    local.save_string("page.json", "<p>text under a .json name</p>")
    local.save_bytes("ascii.bin", b"plain ascii bytes")
    copy = tmp_path / "copy"
    shutil.copytree(local.root, copy, copy_function=shutil.copyfile)  # copyfile drops xattrs, like cp/git/zip
    copied = LocalStorage("experiment_alpha", "item_001", root=copy)
    assert copied.load("result") == {"v": 1}
    assert copied.load_string("page.json") == "<p>text under a .json name</p>"
    assert copied.load_bytes("ascii.bin") == b"plain ascii bytes"
    assert copied.load_string("result") == local.root.joinpath("experiment_alpha", "item_001", "result").read_text()
    assert copied.info("ascii.bin").kind == "text"  # type: ignore[union-attr]  # inferred: no marker left


def test_abandoned_byte_iterators_do_not_leak_file_descriptors(local: LocalStorage) -> None:
    import gc

    local.save_bytes("blob.bin", b"x" * 10_000)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        local.iter_bytes("blob.bin")  # never iterated
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def test_a_failed_write_leaves_no_folders_behind(local: LocalStorage) -> None:
    def chunks() -> object:
        yield b"ok"
        yield "not bytes"

    with pytest.raises(StorageValueError):
        local.save_stream("deep/folder/k.bin", chunks())  # type: ignore[arg-type]
    assert local.sessions() == [] and not (local.root / "experiment_alpha").exists()


def test_hand_made_folders_with_invalid_names_are_not_sessions(local: LocalStorage) -> None:
    local.save("k", 1)
    (local.root / "my session").mkdir()
    (local.root / ".hidden").mkdir()
    assert local.sessions() == ["experiment_alpha"]


def test_list_keys_refuses_a_symlinked_target_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text("{}")
    (tmp_path / "root" / "s").mkdir(parents=True)
    os.symlink(outside, tmp_path / "root" / "s" / "t")
    with pytest.raises(StorageNameError, match="outside the storage root"):
        LocalStorage("s", "t", root=tmp_path / "root").list_keys()


def test_info_hashes_large_values_in_chunks(local: LocalStorage) -> None:
    import hashlib

    data = os.urandom(3 << 20)
    local.save_bytes("big.bin", data)
    local.save_string("t.txt", "héllo")
    assert local.info("big.bin").hash == hashlib.sha256(data).hexdigest()  # type: ignore[union-attr]
    assert local.info("big.bin").size == len(data)  # type: ignore[union-attr]
    assert local.info("t.txt").hash == hashlib.sha256("héllo".encode()).hexdigest()  # type: ignore[union-attr]
