"""Scale-out: run_batch on a real Dask ``LocalCluster`` (worker processes, 127.0.0.1) writing to the cache service.

The cluster and the services are started and stopped here; the API key reaches the Dask workers through
their environment only, and is looked for (and must not be found) in every task the scheduler holds and in
the dashboard's pages. One Dask worker process is SIGKILLed mid-item; another run goes through two
cache-service replicas on one S3 bucket (moto) and loses one replica mid-run.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import batch_jobs
import pytest

from perf_storage_nb import StorageConfigError, target_id_from_text
from perf_storage_nb.workflows import run_batch

distributed = pytest.importorskip("distributed", reason="needs distributed (pip install -e '.[parallel]')")
pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")
httpx = pytest.importorskip("httpx")

from perf_storage_nb.backends.cache_service import CacheServiceStorage  # noqa: E402
from perf_storage_nb.server import CacheServer, free_port  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask_client(cache_server: CacheServer) -> Iterator[Any]:
    """Two Dask worker processes (2 threads each) on 127.0.0.1 with the dashboard on 127.0.0.1; the key in their env."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        env={"PERF_STORAGE_API_KEY": cache_server.api_key},
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _target(spec: str) -> str:
    return target_id_from_text(spec.split("|", 2)[2])


def _dashboard_pages(client: Any) -> dict[str, str]:
    """The dashboard's HTML info pages: workers, each worker, each task the scheduler knows, logs."""
    base = client.dashboard_link.rsplit("/", 1)[0]
    paths = ["/info/main/workers.html", "/info/main/logs.html", "/status"]
    info = client.scheduler_info()
    paths += [f"/info/worker/{urllib.parse.quote(w, safe='')}.html" for w in info["workers"]]
    keys = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    paths += [f"/info/task/{urllib.parse.quote(k, safe='')}.html" for k in keys]
    pages = {}
    for path in paths:
        response = httpx.get(base + path, timeout=10)
        if response.status_code == 404 and path.startswith("/info/task/"):
            continue  # that task finished (and was forgotten) between the listing and this request
        assert response.status_code == 200, path
        pages[path] = response.text
    assert any(p.startswith("/info/task/") for p in pages), "no task page could be read"
    return pages


def test_batch_on_a_dask_cluster_survives_a_killed_worker_and_never_ships_the_key(
    dask_client: Any, cache_server: CacheServer, tmp_path: Path
) -> None:
    canary = cache_server.api_key
    folder = tmp_path / "ctl"
    folder.mkdir()
    urls = [f"https://example.com/dask/{i}" for i in range(16)]
    victim = urls[5]
    items = [f"{victim}|{folder}|{u}" for u in urls]
    session = f"dask_{secrets.token_hex(4)}"
    storage = CacheServiceStorage(session, "setup", url=cache_server.url, api_key=canary)
    seen: dict[str, Any] = {}

    def inspect_then_kill() -> None:
        marker = folder / "victim.pid"
        deadline = time.monotonic() + 90
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not marker.exists():
            return
        try:
            seen["specs"] = dask_client.run_on_scheduler(batch_jobs.scheduler_task_specs)
            seen["pages"] = _dashboard_pages(dask_client)
        finally:
            seen["pid"] = int(marker.read_text())
            os.kill(seen["pid"], signal.SIGKILL)  # the worker process running the victim item, mid-item

    killer = threading.Thread(target=inspect_then_kill)
    killer.start()
    try:
        first = run_batch(
            storage, items, batch_jobs.block_once, target_id=_target, executor=dask_client.get_executor(),
            progress=False,
        )  # fmt: skip
    finally:
        killer.join(120)
    assert "pid" in seen, "the victim item never started"
    # Secrets: the tasks in flight carried no key (a canary search that finds keys placed in task arguments,
    # see batch_jobs.scheduler_task_specs), nor did any dashboard page.
    assert seen["specs"] and not any(canary.encode() in spec for spec in seen["specs"])
    assert len(seen["pages"]) > 3 and not any(canary in page for page in seen["pages"].values())
    # The engine re-ran the killed item on another worker (or reported it failed): never a false "done".
    runs = (folder / "runs.log").read_text().splitlines()
    victim_runs = [line for line in runs if line.startswith(victim + " ")]
    assert len(victim_runs) >= 2 or first.items[5].status == "failed", first.to_text()
    assert set(first.counts()) == {"done", "skipped", "failed", "not_run"} and not first.skipped

    second = run_batch(
        storage, items, batch_jobs.block_once, target_id=_target, executor=dask_client.get_executor(), progress=False
    )
    assert second.ok, second.to_text()
    done_in = [[first.items[i].status, second.items[i].status].count("done") for i in range(len(items))]
    assert done_in == [1] * len(items)  # every item done exactly once across the run and the resume
    for spec in items:
        store = storage.for_target(_target(spec))
        assert store.exists("output/rendered.html") and not store.exists("reports/errors.md")
    assert sorted(storage.targets(session)) == sorted(_target(s) for s in items)


def test_memory_storage_is_refused_for_a_dask_cluster(dask_client: Any) -> None:
    from perf_storage_nb import MemoryStorage

    with pytest.raises(StorageConfigError, match="memory storage cannot run on a Dask cluster"):
        run_batch(MemoryStorage("s", "t"), ["https://example.com/"], batch_jobs.render, executor=dask_client)


# ---- two replicas of the service on one S3 bucket -------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_replicas(cache_server: CacheServer) -> Iterator[list[CacheServer]]:
    """A moto S3 server and two cache-service replicas (s3 mode, one bucket, the workers' key); all on 127.0.0.1."""
    pytest.importorskip("moto.server", reason="needs moto[server] for a local S3 endpoint (pip install 'moto[server]')")
    aws = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the fixture
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **aws},
    )
    endpoint = f"http://127.0.0.1:{port}"
    old = {k: os.environ.get(k) for k in aws}
    os.environ.update(aws)  # read by CacheServer and passed on to the replicas
    bucket = f"batch-{secrets.token_hex(4)}"
    servers = [
        CacheServer(mode="s3", api_key=cache_server.api_key, s3_endpoint=endpoint, bucket=bucket) for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            assert moto.poll() is None, "moto_server exited while starting"
            try:
                if httpx.get(endpoint + "/moto-api/", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "moto_server did not become ready within 60 s"
            time.sleep(0.05)
        for server in servers:
            server.start()
            assert server.client().storage_mode() == "s3"
        yield servers
    finally:
        for server in servers:
            server.stop()
        moto.terminate()
        moto.wait(timeout=10)
        log.close()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_batch_through_two_replicas_on_one_bucket_loses_one_replica_mid_run(
    dask_client: Any, s3_replicas: list[CacheServer], tmp_path: Path
) -> None:
    a, b = s3_replicas
    folder = tmp_path / "ctl"
    folder.mkdir()
    urls = [f"https://example.com/s3/{i}" for i in range(12)]
    victim = urls[4]
    items = [f"{victim}|{folder}|{u}" for u in urls]
    session = f"s3_{secrets.token_hex(4)}"
    storage = CacheServiceStorage(session, "setup", url=f"{a.url},{b.url}", api_key=a.api_key, timeout=10.0)

    def kill_replica_a() -> None:
        deadline = time.monotonic() + 90
        while not (folder / "waiting").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        a.kill()  # replica a crashes while items are in flight; the clients move on to replica b
        (folder / "go").write_text("1")

    killer = threading.Thread(target=kill_replica_a)
    killer.start()
    try:
        first = run_batch(storage, items, batch_jobs.gate, target_id=_target, executor=dask_client.get_executor(),
                          progress=False)  # fmt: skip
    finally:
        killer.join(120)
    assert not a.alive()
    only_b = CacheServiceStorage(session, "setup", url=b.url, api_key=b.api_key)
    second = run_batch(only_b, items, batch_jobs.gate, target_id=_target, executor=dask_client.get_executor(),
                       progress=False)  # fmt: skip
    assert second.ok, second.to_text()
    done_in = [[first.items[i].status, second.items[i].status].count("done") for i in range(len(items))]
    assert done_in == [1] * len(items), (first.to_text(), second.to_text())
    assert first.counts()["done"] >= 1  # the run did go through the replicas before and after the crash
    for spec in items:
        assert only_b.for_target(_target(spec)).exists("output/rendered.html")
