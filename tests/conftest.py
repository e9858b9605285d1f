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


def make_cache_service(request: pytest.FixtureRequest, tmp_path: Path, session: str, target: str) -> BaseStorage:
    """The real cache service in-process (a2wsgi WSGITransport: no network, no port), one app per test run."""
    from perf_storage_nb.backends.cache_service import CacheServiceStorage
    from perf_storage_nb.cache_client import CacheServiceClient

    client = CacheServiceClient(transport=request.getfixturevalue("cache_service_transport"))
    return CacheServiceStorage(session, target, client=client, owns_client=True)


def make_cache_service_http(request: pytest.FixtureRequest, tmp_path: Path, session: str, target: str) -> BaseStorage:
    """The real cache service as a uvicorn process on 127.0.0.1 with API-key auth, one server per test run."""
    from perf_storage_nb.backends.cache_service import CacheServiceStorage

    server = request.getfixturevalue("cache_server")
    return CacheServiceStorage(session, target, url=server.url, api_key=server.api_key)


@pytest.fixture(scope="session")
def cache_service_transport() -> object:
    """An httpx transport into one in-process cache service app (memory mode, no auth)."""
    pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
    import a2wsgi
    import httpx

    from perf_storage_nb.server import build_app

    return httpx.WSGITransport(app=a2wsgi.ASGIMiddleware(build_app()))


@pytest.fixture(scope="session")
def cache_server() -> Iterator[object]:
    """One real uvicorn cache service (memory mode, random API key) for the whole run; stopped at the end."""
    pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
    pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[server]')")
    from perf_storage_nb.server import CacheServer

    server = CacheServer(mode="memory")
    server.start()
    yield server
    server.stop()


def make_example(request: pytest.FixtureRequest, tmp_path: Path, session: str, target: str) -> BaseStorage:
    """The five-method example backend of tests/example_backend.py, one private store per test."""
    from example_backend import DictStorage

    return DictStorage(session, target, name=f"{request.node.name}-{next(_ids)}")


#: backend id -> maker(request, tmp_path, session, target); each call gives a fresh, empty storage
MAKERS: dict[str, Callable[[pytest.FixtureRequest, Path, str, str], BaseStorage]] = {
    "memory": make_memory,
    "local": make_local,
    "cache_service": make_cache_service,
    "cache_service_http": make_cache_service_http,
    "example": make_example,
}
#: the backends every storage-level test runs on; the example backend runs the contract suite only
BACKENDS = [name for name in MAKERS if name != "example"]


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_storage(
    backend_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., BaseStorage]]:
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
