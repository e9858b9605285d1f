"""Public surface: __all__, the seed's aliases, the error tree, and the lazy notebook layer."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import perf_storage_nb
from perf_storage_nb import errors


def test_seed_aliases_are_the_same_objects() -> None:
    import perf_storage_factory

    assert perf_storage_nb.Perf__Storage__Base is perf_storage_nb.BaseStorage
    assert perf_storage_nb.Perf__Storage__Memory is perf_storage_nb.MemoryStorage
    assert perf_storage_nb.Perf__Storage__Local is perf_storage_nb.LocalStorage
    assert perf_storage_nb.Perf__Storage__Factory is perf_storage_nb.StorageFactory
    assert perf_storage_factory.Perf__Storage__Factory is perf_storage_nb.StorageFactory
    from perf_storage_nb.backends.cache_service import CacheServiceStorage

    assert perf_storage_nb.Perf__Storage__Cache_Service is CacheServiceStorage
    assert perf_storage_nb.CacheServiceStorage is CacheServiceStorage


def test_all_is_sorted_and_resolvable() -> None:
    assert perf_storage_nb.__all__ == sorted(
        perf_storage_nb.__all__, key=str.casefold
    ) or perf_storage_nb.__all__ == sorted(perf_storage_nb.__all__)
    for name in perf_storage_nb.__all__:
        assert getattr(perf_storage_nb, name) is not None
    public = {
        n
        for n, v in vars(perf_storage_nb).items()
        if not n.startswith("_") and not isinstance(v, ModuleType) and n not in ("annotations", "TYPE_CHECKING", "Any")
    }
    lazy = set(perf_storage_nb._LAZY)  # resolved on first use (they import httpx)
    assert sorted(public | lazy) == sorted(perf_storage_nb.__all__)


def test_the_client_is_public_at_top_level() -> None:
    from perf_storage_nb.cache_client import CacheServiceClient

    assert perf_storage_nb.CacheServiceClient is CacheServiceClient


def test_the_base_is_an_enforced_abc() -> None:
    import pytest

    with pytest.raises(TypeError, match="abstract"):
        perf_storage_nb.BaseStorage("s", "t")  # type: ignore[abstract]


def test_error_tree_mixes_in_builtins() -> None:
    assert issubclass(errors.StorageKeyError, KeyError)
    assert issubclass(errors.StorageNameError, ValueError)
    assert issubclass(errors.StorageValueError, ValueError)
    assert issubclass(errors.StorageKindError, TypeError)
    assert issubclass(errors.StorageConfigError, ValueError)
    assert issubclass(errors.StorageNotSupported, NotImplementedError)
    assert issubclass(errors.StorageBackendError, OSError)
    assert issubclass(errors.StorageConnectionError, ConnectionError)
    assert issubclass(errors.StorageAuthError, PermissionError)
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.StorageError) and cls.__doc__
    assert str(errors.StorageKeyError("no key 'x'")) == "no key 'x'"  # no KeyError quoting


def test_import_does_not_load_the_notebook_layer() -> None:
    code = (
        "import sys, perf_storage_nb, perf_storage_factory\n"
        "heavy = [m for m in ('IPython', 'ipywidgets', 'deepdiff', 'httpx', 'fastapi', 'markdown_it', 'pandas',"
        " 'scipy', 'matplotlib', 'distributed', 'loky', 'tqdm') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_import_loads_only_the_display_helpers_the_contract_uses() -> None:
    code = (
        "import sys, perf_storage_nb, perf_storage_nb.cli.main\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('perf_storage_nb.display'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.split(",") == [
        "perf_storage_nb.display",
        "perf_storage_nb.display.html",
        "perf_storage_nb.display.theme",
    ]
    from perf_storage_nb import display  # every public name still resolves, loaded on first use

    assert all(getattr(display, name) is not None for name in display.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        display.nope  # noqa: B018 - the attribute access is the test
