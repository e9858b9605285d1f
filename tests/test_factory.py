"""The factory: config dicts, URLs, env defaults, to_config round-trips, the registry and entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import perf_storage_nb
from perf_storage_nb import LocalStorage, MemoryStorage, StorageConfigError, StorageFactory, create_storage
from perf_storage_nb.factory import available_backends, backend_class, register_backend

ENV = [
    "PERF_STORAGE_BACKEND",
    "PERF_STORAGE_SESSION",
    "PERF_STORAGE_TARGET",
    "PERF_STORAGE_ROOT",
    "PERF_STORAGE_URL",
    "PERF_STORAGE_API_KEY",
    "PERF_STORAGE_NAMESPACE",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_seed_snippet_runs_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    from perf_storage_factory import Perf__Storage__Factory

    for backend in ("local", "memory"):
        storage_config = {
            "backend": backend,
            "session_id": "experiment_alpha",
            "target_id": "item_001",
        }
        storage = Perf__Storage__Factory.create(storage_config)
        assert (storage.session_id, storage.target_id) == ("experiment_alpha", "item_001")
        storage.save("results/metrics.json", {"ok": True})
        assert storage.load("results/metrics.json") == {"ok": True}
    # local without a root uses ./perf_results, like the original
    assert (tmp_path / "perf_results" / "experiment_alpha" / "item_001" / "results" / "metrics.json").is_file()


def test_factory_instance_form() -> None:
    storage = StorageFactory({"backend": "memory", "session_id": "s", "target_id": "t"}).create()
    assert isinstance(storage, MemoryStorage)
    assert repr(StorageFactory()) == "StorageFactory()"


def test_unknown_backend_lists_valid_ones() -> None:
    with pytest.raises(StorageConfigError) as err:
        create_storage({"backend": "redis", "session_id": "s", "target_id": "t"})
    msg = str(err.value)
    assert "redis" in msg and "cache_service" in msg and "local" in msg and "memory" in msg
    assert isinstance(err.value, ValueError)


def test_unknown_and_missing_keys() -> None:
    with pytest.raises(
        StorageConfigError, match=r"unknown config key\(s\) 'sesion_id'.*valid keys: backend, session_id"
    ):
        create_storage({"backend": "memory", "sesion_id": "s", "target_id": "t"})
    with pytest.raises(StorageConfigError, match=r"missing 'session_id' \(or env PERF_STORAGE_SESSION\)"):
        create_storage({"backend": "memory", "target_id": "t"})
    with pytest.raises(StorageConfigError, match="no 'backend'"):
        create_storage({"session_id": "s", "target_id": "t"})
    with pytest.raises(StorageConfigError, match="dict or a URL"):
        create_storage(42)  # type: ignore[arg-type]


def test_invalid_ids_are_name_errors() -> None:
    with pytest.raises(ValueError, match="target_id_from_text"):
        create_storage({"backend": "memory", "session_id": "s", "target_id": "https://example.com/page"})


def test_urls(tmp_path: Path) -> None:
    mem = create_storage("memory://", session_id="s", target_id="t")
    assert isinstance(mem, MemoryStorage)
    local = create_storage(f"file://{tmp_path}", session_id="s", target_id="t")
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    rel = create_storage("./some/rel", session_id="s", target_id="t")
    assert isinstance(rel, LocalStorage) and rel.root == Path.cwd() / "some" / "rel"
    q = create_storage(f"file://{tmp_path}?session_id=a&target_id=b&fsync=true")
    assert (q.session_id, q.target_id, q.to_config()["fsync"]) == ("a", "b", True)
    with pytest.raises(StorageConfigError, match="boolean"):
        create_storage(f"file://{tmp_path}?session_id=a&target_id=b&fsync=maybe")
    with pytest.raises(StorageConfigError, match="unsupported URL scheme 'ftp'"):
        create_storage("ftp://host/x", session_id="s", target_id="t")
    with pytest.raises(StorageConfigError, match="file:///absolute"):
        create_storage("file://otherhost/x", session_id="s", target_id="t")


def test_named_memory_store_is_shared() -> None:
    a = create_storage("memory://shared_a", session_id="s", target_id="t")
    b = create_storage({"backend": "memory", "name": "shared_a", "session_id": "s", "target_id": "t"})
    private = create_storage("memory://", session_id="s", target_id="t")
    a.save("k", 1)
    assert b.load("k") == 1
    assert private.load("k") is None


def test_env_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PERF_STORAGE_BACKEND", "local")
    monkeypatch.setenv("PERF_STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("PERF_STORAGE_SESSION", "env_session")
    monkeypatch.setenv("PERF_STORAGE_TARGET", "env_target")
    storage = create_storage()
    assert isinstance(storage, LocalStorage)
    assert (storage.root, storage.session_id, storage.target_id) == (tmp_path, "env_session", "env_target")
    # explicit config wins over env
    assert create_storage({"backend": "memory", "session_id": "x"}).session_id == "x"


@pytest.mark.parametrize(
    "config",
    [
        {"backend": "memory", "session_id": "s", "target_id": "t", "name": "rt"},
        {"backend": "memory", "session_id": "s", "target_id": "t"},
        {"backend": "local", "session_id": "s", "target_id": "t", "root": "/tmp/psnb_rt", "fsync": True},
    ],
)
def test_to_config_round_trip(config: dict[str, object]) -> None:
    storage = create_storage(config)
    again = create_storage(storage.to_config())
    assert type(again) is type(storage)
    assert again.to_config() == storage.to_config()
    assert (again.session_id, again.target_id) == ("s", "t")
    assert StorageFactory.from_config(storage.to_config()).to_config() == storage.to_config()


def test_register_backend_and_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Custom(MemoryStorage):
        backend_name = "custom"

    register_backend("custom_test", Custom)
    try:
        assert "custom_test" in available_backends()
        assert isinstance(create_storage({"backend": "custom_test", "session_id": "s", "target_id": "t"}), Custom)
        with pytest.raises(StorageConfigError, match="already registered"):
            register_backend("custom_test", Custom)
    finally:
        perf_storage_nb.factory._registry.pop("custom_test", None)

    # A third-party distribution declaring an entry point in group perf_storage_nb.backends.
    pkg = tmp_path / "site"
    (pkg / "thirdparty_backend.py").parent.mkdir(parents=True)
    (pkg / "thirdparty_backend.py").write_text(
        textwrap.dedent("""
        from perf_storage_nb import MemoryStorage
        class ThirdParty(MemoryStorage):
            backend_name = "thirdparty"
    """)
    )
    dist = pkg / "thirdparty_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[perf_storage_nb.backends]\nthirdparty = thirdparty_backend:ThirdParty\n")
    monkeypatch.syspath_prepend(str(pkg))
    monkeypatch.setattr(perf_storage_nb.factory, "_entry_points_loaded", False)
    try:
        cls = backend_class("thirdparty")
        assert cls.__name__ == "ThirdParty"
        assert (
            create_storage({"backend": "thirdparty", "session_id": "s", "target_id": "t"}).backend_name == "thirdparty"
        )
    finally:
        perf_storage_nb.factory._registry.pop("thirdparty", None)
        sys.modules.pop("thirdparty_backend", None)


def test_broken_registration_is_a_config_error() -> None:
    register_backend("broken_test", "no_such_module:Nope")
    try:
        with pytest.raises(StorageConfigError, match="cannot be loaded"):
            backend_class("broken_test")
    finally:
        perf_storage_nb.factory._registry.pop("broken_test", None)


def test_backend_must_be_a_name_and_urls_choose_it_by_scheme() -> None:
    with pytest.raises(StorageConfigError, match="must be a name"):
        create_storage({"backend": ["memory"], "session_id": "s", "target_id": "t"})
    with pytest.raises(StorageConfigError, match="the scheme"):
        create_storage("memory://?backend=local", session_id="s", target_id="t")
