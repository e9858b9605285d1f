"""binder/: the files agree with pyproject.toml, postBuild preloads the extension, start brings the service up.

repo2docker ignores pyproject.toml when binder/ exists, so these checks are what keeps the two in step.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VENV_BIN = Path(sys.executable).parent


def _requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_runtime_is_python_312_and_allowed_by_pyproject() -> None:
    from packaging.specifiers import SpecifierSet

    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == "python-3.12"
    version = runtime.removeprefix("python-")
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(f"{version}.0")


def test_requirements_install_this_repo_with_existing_extras() -> None:
    lines = _requirement_lines()
    assert len(lines) == 1, f"binder/requirements.txt should install only this repository, got {lines}"
    match = re.fullmatch(r"(-e\s+)?\.(\[(?P<extras>[\w,\s-]+)\])?", lines[0])
    assert match, f"binder/requirements.txt must install '.' (the repository), got {lines[0]!r}"
    extras = {e.strip() for e in (match.group("extras") or "").split(",") if e.strip()}
    known = set(PYPROJECT["project"]["optional-dependencies"])
    assert extras <= known, f"unknown extras {extras - known}; pyproject has {sorted(known)}"
    # binder/start runs the real cache service, which lives in the [server] extra.
    assert "server" in extras


def test_start_uses_the_projects_server_command() -> None:
    start = (BINDER / "start").read_text()
    scripts = PYPROJECT["project"]["scripts"]
    assert "perf-storage" in scripts
    assert re.search(r"^perf-storage serve .*--port \"\$\{PORT\}\"", start, re.M)
    assert start.rstrip().endswith('exec "$@"')
    assert "set -euo pipefail" in start


def test_scripts_are_executable_bash() -> None:
    for name in ("postBuild", "start"):
        path = BINDER / name
        assert os.access(path, os.X_OK), f"binder/{name} must be executable"
        assert path.read_text().startswith("#!/bin/bash\n")
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_postbuild_preloads_the_extension_lazily(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([str(BINDER / "postBuild")], env=env, cwd=REPO, check=True, timeout=60)
    config = tmp_path / ".ipython/profile_default/ipython_kernel_config.py"
    server_config = tmp_path / ".jupyter/jupyter_server_config.py"
    assert config.is_file() and server_config.is_file()
    assert "notebooks/01_quick_tour.ipynb" in server_config.read_text()
    assert (REPO / "notebooks/01_quick_tour.ipynb").is_file()
    # A shell configured by that file runs %storage without any %load_ext (lazy magics).
    probe = (
        "from traitlets.config import Config\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "c = Config()\n"
        f"exec(open({str(config)!r}).read(), {{'c': c}})\n"
        "assert c.MagicsManager.lazy_magics == {'storage': 'perf_storage_nb'}, c.MagicsManager.lazy_magics\n"
        "shell = InteractiveShell(config=c)\n"
        "print(shell.run_line_magic('storage', 'help use'))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "%storage use" in out.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(pid: int) -> None:
    """Stop a process we started and wait (bounded) until it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


_PROBE = """
import json, os, httpx
url = os.environ.get("PERF_STORAGE_URL")
key = os.environ.get("PERF_STORAGE_API_KEY")
status = None
if url:
    status = httpx.get(url + "/info/health", headers={"x-api-key": key}, timeout=5).status_code
    denied = httpx.get(url + "/info/health", timeout=5).status_code
else:
    denied = None
print(json.dumps({"pid": os.getpid(), "url": url, "status": status, "denied": denied,
                  "server_pid": os.environ.get("PERF_STORAGE_SERVER_PID"), "key": bool(key)}))
"""


def _run_start(tmp_path: Path, port: int) -> tuple[subprocess.CompletedProcess[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")} | {
        "HOME": str(tmp_path),
        "PERF_STORAGE_PORT": str(port),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        [str(BINDER / "start"), "python", "-c", _PROBE],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # anything of ours still in the group (the server)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.pid


@pytest.mark.slow
def test_start_brings_the_service_up_and_hands_over(tmp_path: Path) -> None:
    pytest.importorskip(
        "perf_storage_nb.cli", reason="the `perf-storage serve` command (perf_storage_nb/cli.py) is not there"
    )
    port = _free_port()
    done, start_pid = _run_start(tmp_path, port)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    server_pid = int(report["server_pid"])
    try:
        assert report["pid"] == start_pid, 'start must end with exec "$@" (same process)'
        assert report["url"] == f"http://127.0.0.1:{port}"
        assert report["key"] is True
        assert report["status"] == 200
        assert report["denied"] == 401, "the service must require the API key"
        assert (tmp_path / "cache_service.log").is_file()
        assert "did not come up" not in done.stderr
    finally:
        _stop(server_pid)
    assert _gone(report["url"]), "stopping `perf-storage serve` must stop the service too"


def _gone(url: str) -> bool:
    """True once nothing answers on ``url`` any more (bounded wait)."""
    import httpx

    for _ in range(100):
        try:
            httpx.get(url + "/info/health", timeout=1.0)
        except httpx.ConnectError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_start_reports_a_service_that_cannot_start_and_still_hands_over(tmp_path: Path) -> None:
    pytest.importorskip(
        "perf_storage_nb.cli", reason="the `perf-storage serve` command (perf_storage_nb/cli.py) is not there"
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done, _ = _run_start(tmp_path, port)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "did not come up" in done.stderr
    assert report["url"] is None  # unset, so the notebooks fall back to an in-process service


def test_postbuild_twice_writes_each_line_once(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    for _ in range(2):  # a rebuild runs postBuild again on the same home
        subprocess.run([str(BINDER / "postBuild")], env=env, cwd=REPO, check=True, timeout=60)
    config = (tmp_path / ".ipython/profile_default/ipython_kernel_config.py").read_text()
    server_config = (tmp_path / ".jupyter/jupyter_server_config.py").read_text()
    assert config.count("lazy_magics") == 1 and server_config.count("default_url") == 1


def test_start_gives_up_after_its_deadline_and_stops_the_server(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    pid_file = tmp_path / "server.pid"
    fake = fake_bin / "perf-storage"
    # A server that starts but never answers (e.g. stuck in start-up).
    fake.write_text(f"#!/bin/bash\necho $$ > {pid_file}\nexec sleep 300\n")
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")} | {
        "HOME": str(tmp_path),
        "PERF_STORAGE_PORT": str(_free_port()),
        "PERF_STORAGE_START_TIMEOUT": "1",
        "PATH": f"{fake_bin}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        [str(BINDER / "start"), "python", "-c", _PROBE],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=120)
        server_pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(server_pid, 0)  # stopped by start, not left running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "did not come up" in err and "within 1 s" in err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["url"] is None and report["server_pid"] is None  # handed over to Jupyter anyway
