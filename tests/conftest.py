"""Shared fixtures: one ``storage`` fixture parametrised over every backend (the contract suite uses it).

Adding a backend to the contract suite is one line in BACKENDS plus a maker function below.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perf_storage_nb import BaseStorage, LocalStorage, MemoryStorage

_ids = itertools.count()


def make_memory(request: pytest.FixtureRequest, tmp_path: Path, session: str, target: str) -> BaseStorage:
    return MemoryStorage(session, target)


def make_local(request: pytest.FixtureRequest, tmp_path: Path, session: str, target: str) -> BaseStorage:
    return LocalStorage(session, target, root=tmp_path / "store")


#: backend id -> maker(request, tmp_path, session, target); each call gives a fresh, empty storage
MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path, str, str], BaseStorage]] = {
    "memory": make_memory,
    "local": make_local,
}
BACKENDS = list(MAKERS)


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_storage(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., BaseStorage]]:
    """Factory fixture: ``make_storage(session=..., target=...)`` on the parametrised backend."""
    made: list[BaseStorage] = []
    # A unique session per test keeps shared servers (cache service) free of leftovers from other tests.
    unique = f"s{next(_ids)}"

    def make(session: str | None = None, target: str = "t1") -> BaseStorage:
        storage = MAKERS[backend_name](request, tmp_path, session or unique, target)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def storage(make_storage: Callable[..., BaseStorage]) -> BaseStorage:
    """A fresh, empty storage on each backend."""
    return make_storage()
