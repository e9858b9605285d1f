"""CacheServer: the real MGraph-AI Cache Service as a uvicorn process on 127.0.0.1 (serve, integration tests).

A dev tool behind ``perf-storage serve`` and the integration tests, not library code. Example::

    with CacheServer(mode="memory", api_key="secret") as server:     # a real HTTP server on loopback
        storage = CacheServiceStorage("s", "t", url=server.url, api_key="secret")
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ...errors import StorageConfigError, StorageConnectionError
from .api_key import check_api_key, check_header_name
from .client import CacheServiceClient
from .inprocess import MODES, Mode
from .routes import DEFAULT_NAMESPACE
from .wire import DEFAULT_API_KEY_HEADER

__all__ = ["CacheServer", "free_port"]

#: the uvicorn factory the server process runs (its config comes from the environment set in CacheServer._start)
APP_FACTORY = "perf_storage_nb.backends.cache_service.inprocess:create_app"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Process:
    """A child process with its output in a temp log file, started and stopped by us."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        fd, log = tempfile.mkstemp(prefix=f"perf-storage-{name}-", suffix=".log")
        self.log = Path(log)
        try:
            with os.fdopen(fd, "wb") as out:  # the child gets its own copy; ours is closed right after
                self.proc = subprocess.Popen(
                    argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        except BaseException:
            self.log.unlink(missing_ok=True)
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.log.unlink(missing_ok=True)


def _wait_ready(proc: _Process, check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise StorageConnectionError(
                f"{what} exited with code {proc.proc.returncode} while starting:\n{proc.tail()}"
            )
        if check():
            return
        time.sleep(0.02)
    raise StorageConnectionError(f"{what} did not become ready within {timeout:g} s:\n{proc.tail()}")


class CacheServer:
    """The real cache service as a uvicorn process on 127.0.0.1 with API-key auth (memory, local_disk or s3).

    In ``s3`` mode without ``s3_endpoint`` a local moto server is started too (no AWS is ever contacted).
    The API key lives in the child's environment only, never on its command line.
    """

    def __init__(
        self,
        *,
        mode: Mode = "memory",
        port: int = 0,
        api_key: str | None = None,
        api_key_header: str = DEFAULT_API_KEY_HEADER,
        path: str | os.PathLike[str] | None = None,
        s3_endpoint: str | None = None,
        bucket: str = "perf-storage-nb",
        startup_timeout: float = 60.0,
    ) -> None:
        if mode not in MODES:
            raise StorageConfigError(f"unknown storage mode {mode!r}; valid modes: {', '.join(MODES)}")
        self.mode = mode
        self.requested_port = port
        self.port = port
        key = check_api_key(api_key)  # the client strips a key read from a file: the server must hold the same
        self.api_key = key or secrets.token_urlsafe(24)
        self.generated_key = key is None
        self.api_key_header = check_header_name(api_key_header)
        self.path = str(path) if path else None
        self.s3_endpoint = s3_endpoint
        self.bucket = bucket
        self.startup_timeout = startup_timeout
        self._server: _Process | None = None
        self._moto: _Process | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        state = "running" if self._server and self._server.alive() else "stopped"
        return f"CacheServer(mode={self.mode!r}, url={self.url!r}, {state})"

    def client(self, namespace: str = DEFAULT_NAMESPACE, **options: Any) -> CacheServiceClient:
        """A client for this server with its API key."""
        return CacheServiceClient(
            self.url, api_key=self.api_key, api_key_header=self.api_key_header, namespace=namespace, **options
        )

    def start(self) -> str:
        """Start the server (and moto for s3) and wait until it answers; returns the URL.

        On any failure (not ready in time, a busy port, Ctrl-C) every process started here is stopped again.
        """
        if self._server is not None and self._server.alive():
            return self.url
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAST_API__AUTH__", "CACHE__SERVICE__"))}
        env.update(
            {
                "FAST_API__AUTH__API_KEY__NAME": self.api_key_header,
                "FAST_API__AUTH__API_KEY__VALUE": self.api_key,
                "CACHE__SERVICE__STORAGE_MODE": self.mode,
                "PYTHONWARNINGS": "ignore",
            }
        )
        if self.mode == "local_disk":
            self.path = self.path or tempfile.mkdtemp(prefix="perf-storage-cache-")
            env["CACHE__SERVICE__LOCAL_DISK_PATH"] = str(self.path)
        if self.mode == "s3":
            env.update(self._s3_env())
        else:  # without these the service would silently fall back to s3 (see the API notes)
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_LAMBDA_FUNCTION_NAME"):
                env.pop(k, None)
        tries_left = 1 if self.requested_port else 3
        while True:
            port = self.requested_port or free_port()
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                APP_FACTORY,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ]
            self.port = port
            self._server = _Process("uvicorn", argv, env)
            tries_left -= 1
            try:
                _wait_ready(self._server, self._healthy, self.startup_timeout, f"the cache service on {self.url}")
                return self.url
            except StorageConnectionError:
                # A free port can be taken between free_port() and uvicorn's bind: try another one.
                if not tries_left:
                    raise
                self._server.stop()

    def _s3_env(self) -> dict[str, str]:
        if self.s3_endpoint is None:
            port = free_port()
            self._moto = _Process(
                "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], dict(os.environ)
            )
            endpoint = f"http://127.0.0.1:{port}"
            _wait_ready(
                self._moto, lambda: _http_ok(endpoint + "/moto-api/"), self.startup_timeout, f"moto on {endpoint}"
            )
            self.s3_endpoint = endpoint
        return {
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            "CACHE__SERVICE__BUCKET_NAME": self.bucket,
        }

    def _healthy(self) -> bool:
        return _http_ok(f"{self.url}/info/health", {self.api_key_header: self.api_key})

    def stop(self) -> None:
        """Stop the server (and moto) and wait for them to exit."""
        for proc in (self._server, self._moto):
            if proc is not None:
                proc.stop()
        self._server = None
        if self._moto is not None:
            self._moto, self.s3_endpoint = None, None

    def kill(self) -> None:
        """SIGKILL the service process (no graceful shutdown: a crash, for fault tests), keeping moto running."""
        if self._server is not None:
            self._server.proc.kill()
            self._server.proc.wait(timeout=30)
            self._server.stop()
            self._server = None

    def alive(self) -> bool:
        """True while the server process runs."""
        return self._server is not None and self._server.alive()

    def wait(self) -> int:
        """Block until the server process exits; returns its exit code."""
        if self._server is None:
            return 0
        return self._server.proc.wait()

    def __enter__(self) -> CacheServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, headers=headers, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
