"""Scale-out: two replicas of the real cache service in ``s3`` mode sharing one bucket on a local S3 (moto).

Everything binds 127.0.0.1 and is started and stopped here; no AWS endpoint is ever contacted. This is the
production shape in miniature: stateless service replicas (serverless functions) in front of one S3 bucket.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
pytest.importorskip("uvicorn", reason="needs uvicorn (pip install -e '.[server]')")
pytest.importorskip("moto.server", reason="needs moto[server] for a local S3 endpoint (pip install 'moto[server]')")

import httpx  # noqa: E402

from perf_storage_nb.backends.cache_service import CacheServiceStorage  # noqa: E402
from perf_storage_nb.server import CacheServer, free_port  # noqa: E402

pytestmark = pytest.mark.slow
_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for this module; stopped at the end."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the module fixture
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, "moto_server exited while starting"
            try:
                if httpx.get(endpoint + "/moto-api/", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            pytest.fail("moto_server did not become ready within 60 s")
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def cluster(s3_endpoint: str) -> Iterator[list[CacheServer]]:
    """Two uvicorn replicas of the service, one API key, one bucket on the shared S3 endpoint (module-wide)."""
    api_key, bucket = secrets.token_urlsafe(16), f"scale-out-{secrets.token_hex(4)}"
    servers = [CacheServer(mode="s3", api_key=api_key, s3_endpoint=s3_endpoint, bucket=bucket) for _ in range(2)]
    old = {k: os.environ.get(k) for k in _AWS}
    os.environ.update(_AWS)  # read by CacheServer and passed on to the replicas; moto accepts any credentials
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def replicas(cluster: list[CacheServer]) -> list[CacheServer]:
    """Both replicas running (a test that killed one gets it restarted for the next)."""
    for server in cluster:
        if not server.alive():
            server.start()
            assert server.client().storage_mode() == "s3"  # never the silent memory fallback
    return cluster


def _kill(server: CacheServer) -> None:
    """SIGKILL one replica (a crash, not a graceful shutdown)."""
    server.kill()
    assert not server.alive()


def test_data_written_through_one_replica_is_read_through_the_other(replicas: list[CacheServer]) -> None:
    a, b = replicas
    via_a = CacheServiceStorage("scale", "item_001", url=a.url, api_key=a.api_key)
    via_b = CacheServiceStorage("scale", "item_001", url=b.url, api_key=b.api_key)
    via_a.save("results/metrics.json", {"latency_ms": [12.5, 13.1], "ok": True})
    via_a.save_string("output/page.html", "<h1>ünï</h1>\r\n")
    via_a.save_bytes("shots/1.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))

    assert via_b.load("results/metrics.json") == {"latency_ms": [12.5, 13.1], "ok": True}
    assert via_b.load_string("output/page.html") == "<h1>ünï</h1>\r\n"
    assert via_b.load_bytes("shots/1.png") == b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    assert via_b.list_keys() == ["output/page.html", "results/metrics.json", "shots/1.png"]
    assert via_a.cache_id == via_b.cache_id  # both replicas found the same entry in the shared bucket

    via_b.save("results/metrics.json", {"v": 2})  # writes and deletes flow the other way too
    assert via_b.delete("output/page.html")
    assert via_a.load("results/metrics.json") == {"v": 2}
    assert via_a.load_string("output/page.html") is None


def test_navigation_sees_sessions_written_through_another_replica(replicas: list[CacheServer]) -> None:
    a, b = replicas
    CacheServiceStorage("nav", "item_002", url=a.url, api_key=a.api_key).save("x.json", 1)
    via_b = CacheServiceStorage("nav", "item_003", url=b.url, api_key=b.api_key)
    assert "nav" in via_b.sessions()
    assert via_b.targets("nav") == ["item_002"]


def test_replicas_writing_the_same_target_concurrently_lose_nothing(replicas: list[CacheServer]) -> None:
    a, b = replicas
    via_a = CacheServiceStorage("scale", "shared", url=a.url, api_key=a.api_key)
    via_a.save("created.json", True)  # the entry exists before the replicas race on its children
    via_b = CacheServiceStorage("scale", "shared", url=b.url, api_key=b.api_key)
    items_a = {f"a/k{n:02d}.json": n for n in range(40)}
    items_b = {f"b/k{n:02d}.json": -n for n in range(40)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda pair: pair[0].save_many(pair[1]), [(via_a, items_a), (via_b, items_b)]))
    for result in results:
        result.raise_for_errors()
    fresh = CacheServiceStorage("scale", "shared", url=b.url, api_key=b.api_key)
    assert fresh.list_keys() == sorted([*items_a, *items_b, "created.json"])
    assert fresh.load_many([*items_a, *items_b]).ok == {**items_a, **items_b}


def test_client_with_both_urls_fails_over_when_a_replica_dies_and_loses_nothing(replicas: list[CacheServer]) -> None:
    a, b = replicas
    storage = CacheServiceStorage("scale", "failover", url=f"{a.url},{b.url}", api_key=a.api_key, timeout=10.0)
    items = {f"runs/r{n:03d}.json": {"n": n, "pad": "x" * 100} for n in range(80)}
    keys = list(items)
    acknowledged: dict[str, Any] = {}
    failed: list[str] = []
    for start in range(0, len(keys), 20):
        if start == 40:
            assert storage.client.url == a.url  # everything so far went through replica a
            _kill(a)  # replica a crashes in the middle of the run
        chunk = {k: items[k] for k in keys[start : start + 20]}
        result = storage.save_many(chunk)
        acknowledged.update(result.ok)
        failed.extend(result.failed)
    assert storage.client.url == b.url  # the client moved on to replica b
    if failed:  # a request in flight when a died may be reported: resume it
        storage.save_many({k: items[k] for k in failed}).raise_for_errors()

    only_b = CacheServiceStorage("scale", "failover", url=b.url, api_key=b.api_key)
    back = only_b.load_many(keys)
    assert back.errors == {}
    assert {k: back.ok[k] for k in acknowledged} == {k: items[k] for k in acknowledged}  # nothing acknowledged lost
    assert back.ok == items
    assert only_b.list_keys("runs/") == sorted(keys)
