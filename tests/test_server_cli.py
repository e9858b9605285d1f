"""``perf-storage serve`` and the server helpers: real processes on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from perf_storage_nb import StorageConfigError
from perf_storage_nb.backends.cache_service import CacheServiceStorage
from perf_storage_nb.server import CacheServer, client_cache_service, free_port

pytest.importorskip("mgraph_ai_service_cache", reason="needs mgraph-ai-service-cache (pip install -e '.[server]')")


def run_serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    """Start ``perf-storage serve`` and read its output until it says how to stop it (bounded)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "perf_storage_nb.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    proc.kill()
    raise AssertionError(f"serve did not start: {lines} {proc.stderr.read() if proc.stderr else ''}")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def test_serve_prints_url_and_a_generated_key_once(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PERF_STORAGE_API_KEY"}
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "perf_storage_nb.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        while not (lines and lines[-1].startswith("Press Ctrl-C")):
            line = proc.stdout.readline()
            assert line, f"serve exited early: {lines}"
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        url = f"http://127.0.0.1:{port}"
        assert f"export PERF_STORAGE_URL={url}" in text
        key = re.search(r"export PERF_STORAGE_API_KEY=(\S+)\s+# generated", text).group(1)  # type: ignore[union-attr]
        assert text.count(key) == 1
        storage = CacheServiceStorage("cli", "t", url=url, api_key=key)
        storage.save("k", {"served": True})
        assert storage.load("k") == {"served": True}
        storage.close()
        assert httpx.get(f"{url}/info/health").status_code == 401  # the key is required
    finally:
        stop(proc)
    assert proc.returncode == 0


def test_serve_never_echoes_a_given_key(tmp_path: Path) -> None:
    proc, lines = run_serve(
        "--port",
        "0",
        "--mode",
        "local_disk",
        "--path",
        str(tmp_path / "disk"),
        env={"PERF_STORAGE_API_KEY": "given-secret-key"},
    )
    try:
        text = "\n".join(lines)
        assert "given-secret-key" not in text and "local_disk" in text and str(tmp_path / "disk") in text
        url = re.search(r"PERF_STORAGE_URL=(\S+)", text).group(1)  # type: ignore[union-attr]
        storage = CacheServiceStorage("cli", "t", url=url, api_key="given-secret-key")
        storage.save_string("page.html", "<p>on disk</p>")
        assert storage.load_string("page.html") == "<p>on disk</p>"
        storage.close()
        assert any((tmp_path / "disk").rglob("__page_dhtml.txt"))  # persisted under --path
    finally:
        stop(proc)


def test_serve_reports_a_busy_port() -> None:
    with CacheServer() as first:
        result = subprocess.run(
            [sys.executable, "-m", "perf_storage_nb.cli", "serve", "--port", str(first.port)],
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert result.returncode == 1 and "exited with code" in result.stderr


def test_cache_server_local_disk_persists_across_restarts(tmp_path: Path) -> None:
    server = CacheServer(mode="local_disk", path=tmp_path / "disk", api_key="k1")
    with server:
        s = CacheServiceStorage("persist", "t", url=server.url, api_key="k1")
        s.save("k", [1, 2])
        s.close()
    assert not server.alive()
    with CacheServer(mode="local_disk", path=tmp_path / "disk", api_key="k1") as again:
        s = CacheServiceStorage("persist", "t", url=again.url, api_key="k1")
        assert s.load("k") == [1, 2]
        s.close()


@pytest.mark.slow
def test_cache_server_s3_mode_with_local_moto() -> None:
    pytest.importorskip("moto", reason="needs moto[server] for a local S3 (pip install -e '.[test]')")
    with CacheServer(mode="s3") as server:
        assert server.s3_endpoint is not None and server.s3_endpoint.startswith("http://127.0.0.1:")
        s = CacheServiceStorage("s3sess", "t", url=server.url, api_key=server.api_key)
        s.save("a/b.json", {"x": 1})
        assert s.list_keys() == ["a/b.json"] and s.targets() == ["t"]
        assert s.client.storage_mode() == "s3"
        assert s.delete_target() == 1
        s.close()


def test_client_cache_service_is_in_process_and_isolated() -> None:
    a = client_cache_service("sess", "t")
    b = client_cache_service("sess", "t")
    a.save("k", 1)
    assert a.load("k") == 1 and b.load("k") is None  # a fresh service per call
    assert a.client.url == "http://cache-service.inprocess"
    a.close()
    b.close()


def test_bad_mode_is_a_config_error() -> None:
    with pytest.raises(StorageConfigError, match="valid modes"):
        CacheServer(mode="sqlite")  # type: ignore[arg-type]


# ---- review fixes: API key on the command line, fd and process leaks ---------------------------------------
def _serve_args(*argv: str) -> argparse.Namespace:
    from perf_storage_nb.cli import _parser

    return _parser().parse_args(["serve", *argv])


def test_api_key_flag_warns_that_it_is_visible_and_a_key_file_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from perf_storage_nb.cli import api_key_from

    monkeypatch.setenv("PERF_STORAGE_API_KEY", "from-env")
    assert api_key_from(_serve_args()) == "from-env"
    assert api_key_from(_serve_args("--api-key", "on-the-line")) == "on-the-line"
    err = capsys.readouterr().err
    assert "other users" in err and "PERF_STORAGE_API_KEY" in err and "on-the-line" not in err
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    assert api_key_from(_serve_args("--api-key-file", str(key_file))) == "from-file"
    assert capsys.readouterr().err == ""
    for argv in (["--api-key-file", str(tmp_path / "missing")], ["--api-key-file", str(key_file), "--api-key", "x"]):
        with pytest.raises(StorageConfigError):
            api_key_from(_serve_args(*argv))


def test_serve_with_an_api_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-secret-key\n")
    proc, lines = run_serve(
        "--port", "0", "--api-key-file", str(key_file), env=dict.fromkeys(("PERF_STORAGE_API_KEY",), "")
    )
    try:
        text = "\n".join(lines)
        assert "file-secret-key" not in text and "file-secret-key" not in " ".join(proc.args)  # type: ignore[arg-type]
        url = re.search(r"PERF_STORAGE_URL=(\S+)", text).group(1)  # type: ignore[union-attr]
        storage = CacheServiceStorage("cli", "t", url=url, api_key="file-secret-key")
        storage.save("k", 1)
        assert storage.load("k") == 1
        storage.close()
    finally:
        stop(proc)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open fds in /proc")
def test_process_helper_keeps_no_fd_open() -> None:
    from perf_storage_nb.server import _Process

    before = _open_fds()
    for _ in range(5):
        proc = _Process("noop", [sys.executable, "-c", "pass"], dict(os.environ))
        proc.proc.wait(30)
        proc.stop()
        assert not proc.log.exists()
    assert _open_fds() == before


class _Recorded:
    """Every _Process the server starts during a test (to check none is left running)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import perf_storage_nb.backends.cache_service.process as server_module

        self.started: list[server_module._Process] = []
        recorder = self

        class Recording(server_module._Process):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)  # type: ignore[arg-type]
                recorder.started.append(self)

        monkeypatch.setattr(server_module, "_Process", Recording)


def test_a_server_that_never_becomes_ready_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = _Recorded(monkeypatch)
    server = CacheServer(mode="s3", startup_timeout=0)  # moto is started first and cannot be ready in 0 s
    with pytest.raises(Exception, match="did not become ready"), server:
        pass  # pragma: no cover - never entered
    assert recorded.started and not any(p.alive() for p in recorded.started)
    assert not server.alive() and server.s3_endpoint is None


def test_ctrl_c_while_starting_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import perf_storage_nb.backends.cache_service.process as server_module

    recorded = _Recorded(monkeypatch)

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server_module, "_wait_ready", interrupted)
    with pytest.raises(KeyboardInterrupt), CacheServer(mode="memory"):
        pass  # pragma: no cover - never entered
    assert len(recorded.started) == 1 and not recorded.started[0].alive()
