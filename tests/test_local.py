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


@pytest.mark.parametrize("key", ["../other_target/x", "../../other_session/t/x", "/etc/passwd", "a/../../b",
                                 "%2e%2e/x", "..%2fx", "a/%2E%2E/b"])
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
