"""Several PROCESSES first-writing to the same NEW session/target at the same moment lose nothing.

The server mints a new cache_id for every create of a key and updates its refs-hash with an unlocked
read-modify-write, so racing creators end up with several cache_ids (and lost refs). Our entries use one fixed
file_id, so every cache_id of a target shares one child folder: whatever id a process wrote through, every
key is listable and loadable afterwards. Repeated for many rounds against a real uvicorn server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from perf_storage_nb.backends.cache_service import CacheServiceStorage
from perf_storage_nb.cache_keys import key_hash, target_cache_key

pytestmark = pytest.mark.slow

WORKER = r"""
import json, sys, time
from perf_storage_nb.backends.cache_service import CacheServiceStorage
url, namespace, session, index, rounds, keys, t0, gap = sys.argv[1:9]
index, rounds, keys, t0, gap = int(index), int(rounds), int(keys), float(t0), float(gap)
errors = []
for r in range(rounds):
    time.sleep(max(0.0, t0 + r * gap - time.time()))   # every process starts round r at the same instant
    storage = CacheServiceStorage(session, f"race_{r:03d}", url=url, namespace=namespace)
    try:
        storage.save_many({f"p{index}/k{j}": {"p": index, "j": j, "r": r} for j in range(keys)}).raise_for_errors()
        storage.save_string(f"p{index}/note.txt", f"process {index} round {r}")
    except Exception as exc:
        errors.append(f"round {r}: {type(exc).__name__}: {exc}")
    finally:
        storage.close()
print(json.dumps(errors))
"""

PROCESSES, ROUNDS, KEYS = 4, 12, 5


def test_racing_first_writers_in_processes_lose_nothing(cache_server: object) -> None:
    server = cache_server
    session = f"race{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    env = {**os.environ, "PERF_STORAGE_API_KEY": server.api_key}  # type: ignore[attr-defined]
    t0, gap = time.time() + 3.0, 0.6  # 3 s lets every worker import before round 0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                server.url,
                "race-ns",
                session,
                str(i),
                str(ROUNDS),  # type: ignore[attr-defined]
                str(KEYS),
                repr(t0),
                repr(gap),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        assert json.loads(out.strip().splitlines()[-1]) == []

    client = server.client(namespace="race-ns")  # type: ignore[attr-defined]
    raced = 0
    try:
        for r in range(ROUNDS):
            target = f"race_{r:03d}"
            reader = CacheServiceStorage(session, target, namespace="race-ns", client=client)
            expected = sorted(
                [f"p{i}/k{j}" for i in range(PROCESSES) for j in range(KEYS)]
                + [f"p{i}/note.txt" for i in range(PROCESSES)]
            )
            assert reader.list_keys() == expected, f"round {r}: keys lost"
            for i in range(PROCESSES):
                assert reader.load_string(f"p{i}/note.txt") == f"process {i} round {r}"
                for j in range(KEYS):
                    assert reader.load(f"p{i}/k{j}") == {"p": i, "j": j, "r": r}
            versions = client.entry_versions(key_hash(target_cache_key(session, target)))
            raced += (versions or {}).get("total_versions", 1) > 1
            assert reader.delete_target() == len(expected)
            assert reader.list_keys() == []
        assert client.targets(session) == []
    finally:
        client.close()
    print(f"{raced} of {ROUNDS} rounds created more than one cache_id (the server-side race happened)")
