"""Local backend under faults: writers killed with SIGKILL mid-write, and many writer processes at once.

Each stored value carries its own checksum, so a torn (half-written) or mixed file is detected, whatever
kind (json / text / bytes) it holds. Writers are real processes (``python -c``), started and killed here.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from perf_storage_nb import LocalStorage

REPO = Path(__file__).resolve().parents[1]
SESSION, TARGET = "faults", "writers"

# One writer process. argv: root, writer id, iterations, deadline seconds, mode ("kill" | "all").
# "kill": every writer rewrites the same shared keys (big values, so a SIGKILL lands mid-write) forever.
# "all": each writer writes its own keys in shared folders, also writes shared keys, and writes+deletes
# scratch keys so empty-folder pruning races with other writers' creates.
_WRITER = r"""
import hashlib, json, os, sys, time
from perf_storage_nb import LocalStorage

root, wid, iterations, deadline, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
storage = LocalStorage("faults", "writers", root=root)
stop = time.monotonic() + deadline

def payload(seq, size):
    body = (f"w{wid}-s{seq}-" * (size // 8 + 1))[:size]
    return body, hashlib.sha256(body.encode()).hexdigest()

def write(key, kind, seq, size):
    body, digest = payload(seq, size)
    if kind == "json":
        storage.save(key, {"w": wid, "seq": seq, "body": body, "sha": digest})
    elif kind == "text":
        storage.save_string(key, f"{wid}\n{seq}\n{digest}\n{body}")
    else:
        storage.save_bytes(key, f"{wid}|{seq}|{digest}|".encode() + body.encode())

print("ready", flush=True)
for seq in range(iterations):
    if time.monotonic() > stop:
        break
    if mode == "kill":
        size = 200_000 + 50_000 * (seq % 4)
        write("shared/doc.json", "json", seq, size)
        write("shared/page.html", "text", seq, size)
        write("shared/blob.bin", "bytes", seq, size)
        # This key changes kind on every write: the kind marker and the content must change together.
        write("shared/mixed", ("json", "text", "bytes")[(seq + wid) % 3], seq, size)
    else:
        folder = f"batch_{seq % 5}"
        write(f"{folder}/w{wid}_{seq}.json", "json", seq, 2_000)
        write(f"{folder}/shared.json", "json", seq, 2_000)
        storage.save_string(f"scratch_{seq % 3}/w{wid}.tmp.txt", "scratch")
        assert storage.delete(f"scratch_{seq % 3}/w{wid}.tmp.txt")
print("done", seq + 1, flush=True)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def _start(root: Path, wid: int, iterations: int, deadline: float, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), str(wid), str(iterations), str(deadline), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _verify(kind: str, value: Any) -> tuple[int, int]:
    """Check a stored value is whole (its checksum matches); return (writer, seq)."""
    if kind == "json":
        assert set(value) == {"w", "seq", "body", "sha"}, value.keys()
        assert hashlib.sha256(value["body"].encode()).hexdigest() == value["sha"], "torn json value"
        return value["w"], value["seq"]
    if kind == "text":
        wid, seq, digest, body = value.split("\n", 3)
        assert hashlib.sha256(body.encode()).hexdigest() == digest, "torn text value"
        return int(wid), int(seq)
    wid_b, seq_b, digest_b, body_b = value.split(b"|", 3)
    assert hashlib.sha256(body_b).hexdigest() == digest_b.decode(), "torn bytes value"
    return int(wid_b), int(seq_b)


def _kind_of(value: Any) -> str:
    return "json" if isinstance(value, dict) else "text" if isinstance(value, str) else "bytes"


def _seed(storage: LocalStorage) -> None:
    """Write the 'old' value of every shared key (writer -1, seq -1) before any writer starts."""
    body = "old"
    digest = hashlib.sha256(body.encode()).hexdigest()
    storage.save("shared/doc.json", {"w": -1, "seq": -1, "body": body, "sha": digest})
    storage.save_string("shared/page.html", f"-1\n-1\n{digest}\n{body}")
    storage.save_bytes("shared/blob.bin", f"-1|-1|{digest}|{body}".encode())
    storage.save("shared/mixed", {"w": -1, "seq": -1, "body": body, "sha": digest})


@pytest.mark.slow
def test_sigkill_mid_write_leaves_every_key_old_or_new(tmp_path: Path) -> None:
    """Writers killed at random moments: each key is whole (old or some writer's new value), none torn or lost."""
    root = tmp_path / "root"
    storage = LocalStorage(SESSION, TARGET, root=root)
    _seed(storage)
    expected = ["shared/blob.bin", "shared/doc.json", "shared/mixed", "shared/page.html"]
    rng = random.Random(7)
    kinds_seen: set[str] = set()
    progressed = 0
    torn_temps = 0
    for _round in range(4):
        procs = [_start(root, wid, 10_000, 20.0, "kill") for wid in range(4)]
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.05, 0.4))  # let writes pile up, then kill at an arbitrary point
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        for proc in procs:
            proc.wait(timeout=30)
            assert proc.returncode == -signal.SIGKILL, "writer ended before it was killed: the test killed nothing"
        # Temp files left by killed writers prove kills landed mid-write; they must never surface as keys.
        torn_temps += sum(1 for p in (root / SESSION / TARGET / "shared").iterdir() if p.name.endswith(".tmp"))
        # Every key: present, whole, and its kind marker agrees with its content.
        assert storage.list_keys() == expected  # leftover temp files are hidden, never listed as keys
        for key in expected:
            value = storage.load_any(key)
            kind = _kind_of(value)
            info = storage.info(key)
            assert info is not None and info.kind == kind
            writer, seq = _verify(kind, value)
            if key == "shared/mixed" and seq >= 0:
                assert kind == ("json", "text", "bytes")[(seq + writer) % 3]  # content and kind changed together
                kinds_seen.add(kind)
            progressed += seq >= 0
    assert progressed > 0, "no writer completed a single write before being killed"
    assert torn_temps > 0, "no kill landed in the middle of a write (no temp file left behind)"
    # The storage is still fully usable after the kills.
    storage.save("after.json", {"ok": True})
    assert storage.load("after.json") == {"ok": True}


@pytest.mark.slow
def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    """Six writer processes on one root, sharing folders, pruning folders as they delete: nothing torn or lost."""
    root = tmp_path / "root"
    writers, iterations = 6, 60
    go = time.monotonic()
    procs = [_start(root, wid, iterations, 60.0, "all") for wid in range(writers)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(out)
    assert all(f"done {iterations}" in out for out in outputs), (outputs, time.monotonic() - go)

    storage = LocalStorage(SESSION, TARGET, root=root)
    own = {f"batch_{seq % 5}/w{wid}_{seq}.json" for wid in range(writers) for seq in range(iterations)}
    shared = {f"batch_{i}/shared.json" for i in range(5)}
    assert set(storage.list_keys()) == own | shared  # no key lost, no scratch key or temp file left behind
    for key in sorted(own):
        writer, seq = _verify("json", storage.load(key))
        assert key == f"batch_{seq % 5}/w{writer}_{seq}.json"
    for key in sorted(shared):
        writer, seq = _verify("json", storage.load(key))  # last write wins: one whole value from some writer
        assert 0 <= writer < writers and key == f"batch_{seq % 5}/shared.json"
    leftovers = [p for p in (root / SESSION / TARGET).rglob("*") if p.name.startswith(".")]
    assert leftovers == []  # writers that finish normally leave no temp files
    assert not any(p.name.startswith("scratch") for p in (root / SESSION / TARGET).iterdir())  # pruned


def test_old_or_new_also_holds_for_readers_during_writes(tmp_path: Path) -> None:
    """A reader polling while another process rewrites a key only ever sees whole values."""
    root = tmp_path / "root"
    storage = LocalStorage(SESSION, TARGET, root=root)
    _seed(storage)
    proc = _start(root, 0, 60, 20.0, "kill")
    seen: set[int] = set()
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            value = storage.load("shared/doc.json")
            seen.add(_verify("json", value)[1])
            text = storage.load_string("shared/page.html")
            _verify("text", text)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert len(seen) > 1, "the reader never overlapped a write"  # old and new both observed, never torn
