"""``perf-storage`` against the real cache service (uvicorn on 127.0.0.1 with an API key), through the console script.

Secrets: the server's random API key is the canary - it must never appear in stdout, stderr or ``--json``,
whichever way it was given (env, ``--api-key-file``, ``--api-key`` with its warning, the interactive prompt), and
a wrong key must not be echoed either. Sync: local -> cache service -> a fresh local root is byte-identical, a
second sync copies nothing, and a sync SIGKILLed mid-run completes when re-run without re-copying what arrived.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_cli import SCRIPT, Run, clean_env, cli

from perf_storage_nb import LocalStorage
from perf_storage_nb.backends.cache_service import CacheServiceStorage
from perf_storage_nb.errors import StorageBackendError

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")

_ns = itertools.count()


class Remote:
    """A namespace of its own on the session's uvicorn cache service."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.key: str = server.api_key
        self.namespace = f"cli-{os.getpid()}-{next(_ns)}"
        self.url = f"{server.url}?namespace={self.namespace}"
        self.env = clean_env(PERF_STORAGE_API_KEY=self.key)

    def storage(self, session: str = "x", target: str = "x") -> CacheServiceStorage:
        return CacheServiceStorage(session, target, url=self.server.url, api_key=self.key, namespace=self.namespace)


@pytest.fixture
def remote(cache_server: Any) -> Remote:
    return Remote(cache_server)


def no_secret(run: Run, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in run.out and secret not in run.err


def tree(root: Path) -> dict[str, str]:
    files = (p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def fill(root: Path) -> int:
    """All kinds, dotted keys, empty values, versions; returns the key count."""
    s = LocalStorage("exp1", "item_001", root=root)
    s.save("metrics.json", {"p50_ms": 10.5, "list": [1, 2.5, None], "ü": {"nested": True}})
    s.save("empty.json", {})
    s.save("empty-string.json", "")
    s.save_string("v1.2/report.final.html", "<!doctype html><title>r</title>\r\n<p>é</p>")
    s.save_string("empty.txt", "")
    s.save_bytes("shot.png", b"\x89PNG\r\n\x1a\n" + os.urandom(300))
    s.save_bytes("empty.bin", b"")
    v = s.for_target("item_002")
    for i in range(3):
        v.save_version("runs/metrics.json", {"run": i})
    s.for_session("exp2", "t").save_string("log.txt", "a\nb\n")
    return 11


# ---- every subcommand on the cache service ---------------------------------------------------------------------
def test_subcommands_on_the_cache_service(tmp_path: Path, remote: Remote) -> None:
    n = fill(tmp_path / "src")
    pushed = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env)
    assert pushed.code == 0 and pushed.json()["added"] == n
    env, url = remote.env, remote.url
    root = remote.storage()
    assert cli("sessions", "-L", url, "--json", cwd=tmp_path, env=env).json() == root.sessions() == ["exp1", "exp2"]
    assert cli("targets", "exp1", "-L", url, cwd=tmp_path, env=env).out == "item_001\nitem_002\n"
    t1 = root.for_session("exp1", "item_001")
    assert cli("ls", "exp1/item_001", "-L", url, "--json", cwd=tmp_path, env=env).json() == t1.list_keys()
    long = cli("ls", "-l", "exp1/item_001", "-L", url, "--json", cwd=tmp_path, env=env).json()
    assert [(r["key"], r["kind"], r["size"], r["hash"]) for r in long] == [
        (i.key, i.kind, i.size, i.hash) for i in map(t1.info, t1.list_keys()) if i is not None
    ]
    assert cli("cat", "exp1/item_001:v1.2/report.final.html", "-L", url, cwd=tmp_path, env=env).raw == (
        "<!doctype html><title>r</title>\r\n<p>é</p>".encode()
    )
    assert cli("cat", f"{url}#exp1/item_001:shot.png", cwd=tmp_path, env=env).raw == t1.load_bytes("shot.png")
    assert cli("cat", "exp1/item_001:empty.bin", "-L", url, cwd=tmp_path, env=env).raw == b""
    info = cli("info", "exp1/item_001:metrics.json", "-L", url, "--json", cwd=tmp_path, env=env).json()
    expected = t1.info("metrics.json")
    assert expected is not None and (info["kind"], info["size"], info["hash"]) == (
        expected.kind,
        expected.size,
        expected.hash,
    )
    where = cli("info", "-L", url, "--json", cwd=tmp_path, env=env).json()
    assert where["backend"] == "cache_service" and where["sessions"] == 2 and remote.namespace in where["location"]
    same = cli("diff", f"{tmp_path / 'src'}#exp1", f"{url}#exp1", cwd=tmp_path, env=env)
    assert same.code == 0 and "no differences" in same.out
    t1.save("metrics.json", {"p50_ms": 12.0})
    assert cli("diff", f"{tmp_path / 'src'}#exp1", f"{url}#exp1", cwd=tmp_path, env=env).code == 1
    copied = cli("cp", f"{url}#exp1/item_001:metrics.json", "exp1/item_001:remote.json", cwd=tmp_path, env=env)
    assert copied.code == 0 and (tmp_path / "perf_results" / "exp1" / "item_001" / "remote.json").exists()
    assert cli("rm", "-L", url, "exp1/item_001:empty.txt", cwd=tmp_path, env=env).code == 0
    assert not t1.exists("empty.txt")
    for run in (pushed, copied, same):
        no_secret(run, remote.key)
    root.close()


def test_backend_errors_exit_3_without_echoing_the_key(tmp_path: Path, remote: Remote) -> None:
    wrong = "canary-WRONG-key-7f3a9c1e"
    refused = cli("ls", "-L", remote.url, cwd=tmp_path, env=clean_env(PERF_STORAGE_API_KEY=wrong))
    assert refused.code == 3 and refused.err.count("\n") == 1 and "API key" in refused.err
    no_secret(refused, wrong)
    from perf_storage_nb.server import free_port

    down = cli("ls", "-L", f"http://127.0.0.1:{free_port()}", cwd=tmp_path, env=remote.env)
    assert down.code == 3 and "cannot connect" in down.err
    no_secret(down, remote.key)
    in_url = cli("ls", "-L", f"{remote.server.url}?api_key={wrong}", cwd=tmp_path, env=clean_env())
    assert "warning" in in_url.err and "on the command line" in in_url.err
    no_secret(in_url, wrong)


# ---- secrets ----------------------------------------------------------------------------------------------------
def test_the_key_never_appears_whichever_way_it_is_given(tmp_path: Path, remote: Remote) -> None:
    fill(tmp_path / "src")
    key_file = tmp_path / "key"
    key_file.write_text(remote.key + "\n")
    bare = clean_env()
    runs = [
        cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env),
        cli("ls", "-L", remote.url, "--api-key-file", str(key_file), "--json", cwd=tmp_path, env=bare),
        cli("info", "-L", remote.url, "--api-key-file", str(key_file), cwd=tmp_path, env=bare),
        cli("cat", "exp1/item_001:metrics.json", "-L", remote.url, "--json", cwd=tmp_path, env=remote.env),
        cli("diff", "exp1/item_001:metrics.json", "exp1/item_001", "-L", remote.url, cwd=tmp_path, env=remote.env),
        cli("sync", remote.url, str(tmp_path / "pulled"), "--json", cwd=tmp_path, env=remote.env),
        cli("cat", "exp1/item_001:nope", "-L", remote.url, cwd=tmp_path, env=remote.env),  # an error message
    ]
    flagged = cli("sessions", "-L", remote.url, "--api-key", remote.key, cwd=tmp_path, env=bare)
    assert [r.code for r in runs] == [0, 0, 0, 0, 0, 0, 2] and flagged.code == 0
    assert flagged.out == "exp1\nexp2\n" and "warning: --api-key puts the key on the command line" in flagged.err
    for run in [*runs, flagged]:
        no_secret(run, remote.key)
    missing = cli("ls", "-L", remote.url, cwd=tmp_path, env=bare)  # no key, stdin not a terminal: no prompt
    assert missing.code == 3 and "API key" in missing.err


def test_the_key_is_prompted_for_only_on_a_terminal(tmp_path: Path, remote: Remote) -> None:
    import pty

    fill(tmp_path / "src")
    assert cli("sync", str(tmp_path / "src"), remote.url, cwd=tmp_path, env=remote.env).code == 0
    pid, leader = pty.fork()
    if pid == 0:  # the child: stdin, stdout and the controlling terminal are the pty
        os.chdir(tmp_path)
        os.execve(SCRIPT, [SCRIPT, "sessions", "-L", remote.url], clean_env())
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"API key for" not in seen and time.monotonic() < deadline:
            seen += os.read(leader, 1024)
        assert b"API key for" in seen and remote.namespace.encode() in seen
        os.write(leader, remote.key.encode() + b"\n")
        while time.monotonic() < deadline:
            try:
                chunk = os.read(leader, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(leader)
    assert os.waitstatus_to_exitcode(status) == 0
    text = seen.decode("utf-8", "replace")
    assert "exp1" in text and "exp2" in text and remote.key not in text  # getpass does not echo


# ---- sync through the command line -------------------------------------------------------------------------------
def test_sync_round_trip_is_byte_identical_and_a_second_sync_copies_nothing(tmp_path: Path, remote: Remote) -> None:
    n = fill(tmp_path / "src")
    first = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env).json()
    assert (first["added"], first["failed"]) == (n, 0)
    again = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env).json()
    assert (again["added"], again["updated"], again["deleted"], again["unchanged"]) == (0, 0, 0, n)
    assert again["reads"] == {"source": 0, "destination": 0}
    back = cli("sync", remote.url, str(tmp_path / "back"), cwd=tmp_path, env=remote.env)
    assert back.code == 0 and f"{n} added" in back.out
    assert tree(tmp_path / "back") == tree(tmp_path / "src")


def _arrived(remote: Remote, source: Path) -> set[str]:
    """Addresses whose value at the cache service already equals the source's."""
    found: set[str] = set()
    root = remote.storage()
    for target in root.targets("big"):
        dst, src = root.for_session("big", target), LocalStorage("big", target, root=source)
        for key in dst.list_keys():
            a, b = dst.info(key), src.info(key)
            if a is not None and b is not None and a.hash == b.hash:
                found.add(f"big/{target}:{key}")
    root.close()
    return found


def _listed(probe: CacheServiceStorage) -> int:
    """How many keys the probe's target lists now; 0 when the memory-mode server's listing races a write.

    The service's memory mode walks a dict other requests change: a listing taken while the sync writes may
    answer 500 "dictionary changed size during iteration" (a server bug, see README "What the cache service
    itself does not guarantee"). The probe only paces the test, so it asks again at the next poll.
    """
    try:
        return len(probe.list_keys())
    except StorageBackendError as exc:
        if "dictionary changed size during iteration" not in str(exc):
            raise
        return 0


@pytest.mark.slow
def test_a_sync_killed_mid_run_completes_when_re_run_without_re_copying(tmp_path: Path, remote: Remote) -> None:
    src = LocalStorage("big", "t0", root=tmp_path / "src")
    total = 1200
    for i in range(total):
        src.for_target(f"t{i % 2}").save(f"runs/r{i:04d}.json", {"i": i, "pad": "x" * 200})
    proc = subprocess.Popen(
        [SCRIPT, "sync", str(tmp_path / "src"), remote.url, "--no-progress"],
        cwd=tmp_path,
        env=remote.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = remote.storage("big", "t0")
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and _listed(probe) < 250 and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        probe.close()
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished
    arrived = _arrived(remote, tmp_path / "src")
    assert 0 < len(arrived) < total
    rerun = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env, timeout=300)
    result = rerun.json()
    copied = {f"{c['session']}/{c['target']}:{c['key']}" for c in result["changes"] if c["action"] != "failed"}
    assert rerun.code == 0 and result["failed"] == 0
    assert not copied & arrived  # nothing that had arrived was copied again
    assert result["added"] + result["updated"] + result["unchanged"] == total
    assert result["unchanged"] >= len(arrived)
    final = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env).json()
    assert (final["added"], final["updated"], final["unchanged"]) == (0, 0, total)
    assert final["reads"] == {"source": 0, "destination": 0}  # the manifest now knows every key
    back = cli("sync", remote.url, str(tmp_path / "back"), "-s", "big", cwd=tmp_path, env=remote.env, timeout=300)
    assert back.code == 0 and tree(tmp_path / "back") == tree(tmp_path / "src")


@pytest.mark.slow
def test_ctrl_c_stops_a_sync_promptly_and_records_what_arrived(tmp_path: Path, remote: Remote) -> None:
    src = LocalStorage("big", "t0", root=tmp_path / "src")
    total = 1200
    for i in range(total):
        src.save(f"runs/r{i:04d}.json", {"i": i, "pad": "x" * 200})
    proc = subprocess.Popen(
        [SCRIPT, "sync", str(tmp_path / "src"), remote.url, "--no-progress"],
        cwd=tmp_path,
        env=remote.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    probe = remote.storage("big", "t0")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _listed(probe) < 200 and proc.poll() is None:
        time.sleep(0.05)
    probe.close()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)  # queued keys are skipped: it stops without copying the rest
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    arrived = _arrived(remote, tmp_path / "src")
    assert 0 < len(arrived) < total
    rerun = cli("sync", str(tmp_path / "src"), remote.url, "--json", cwd=tmp_path, env=remote.env, timeout=300).json()
    assert rerun["failed"] == 0 and rerun["added"] + rerun["unchanged"] == total
    assert rerun["unchanged"] >= len(arrived) and rerun["reads"]["destination"] == 0  # recorded on the way out
