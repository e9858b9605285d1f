"""``perf-storage`` on the local backend, through the real entry point (the installed console script, or
``python -m perf_storage_nb.cli``) in a subprocess: every subcommand's output and exit code, ``--json`` against the
Python API, bad input (exit 2, one line, nothing written), and a start-up that imports no notebook layer.

The helpers at the top (``cli``, ``Run``, ``clean_env``) are shared with the other test_cli*/test_export* modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: the console script pip installed next to this interpreter (the real entry point)
SCRIPT = str(Path(sys.executable).with_name("perf-storage"))


@dataclass
class Run:
    """One finished ``perf-storage`` process."""

    code: int
    out: str
    err: str
    raw: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.out)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any PERF_STORAGE_* setting of the machine, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")}
    env.update(extra)
    return env


def cli(
    *args: str,
    cwd: Path | str,
    env: dict[str, str] | None = None,
    module: bool = False,
    stdin: str | None = None,
    timeout: float = 120,
) -> Run:
    """Run ``perf-storage ARGS`` (``module``: as ``python -m perf_storage_nb.cli``) and collect its output."""
    command = [sys.executable, "-m", "perf_storage_nb.cli"] if module else [SCRIPT]
    done = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=clean_env() if env is None else env,
        input=None if stdin is None else stdin.encode(),
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )
    return Run(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
        done.stdout,
    )


# ---- fixtures ---------------------------------------------------------------------------------------------------
import hashlib  # noqa: E402 - the helpers above are imported by other modules; the tests start here
import json  # noqa: E402

import pytest  # noqa: E402

from perf_storage_nb import LocalStorage  # noqa: E402


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working folder whose ./perf_results holds two sessions (the default location)."""
    s = LocalStorage("exp1", "item_001", root=tmp_path / "perf_results")
    s.save("results/metrics.json", {"p50_ms": 10.0, "n": 3, "ü": "ok"})
    s.save_string("log.txt", "héllo\r\nno newline at the end")
    s.save_bytes("shot.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    s.save_string("page.v1.html", "<!doctype html><title>t</title><p>x</p>")
    s.for_target("item_002").save("results/metrics.json", {"p50_ms": 11.0, "n": 3, "ü": "ok"})
    b = s.for_session("baseline", "item_001")
    b.save("results/metrics.json", {"p50_ms": 10.3, "n": 3, "ü": "ok"})
    return tmp_path


def snapshot_tree(root: Path) -> dict[str, str]:
    files = (p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


# ---- navigation -------------------------------------------------------------------------------------------------
def test_ls_of_a_target_a_session_and_everything(work: Path) -> None:
    run = cli("ls", "exp1/item_001", cwd=work)
    assert run.code == 0 and run.err == ""
    assert run.out.splitlines() == ["log.txt", "page.v1.html", "results/metrics.json", "shot.png"]
    assert cli("ls", "exp1/item_001:results/", cwd=work).out == "results/metrics.json\n"
    every = cli("ls", cwd=work, module=True)
    assert every.code == 0 and every.out.splitlines() == [
        "baseline/item_001:results/metrics.json",
        "exp1/item_001:log.txt",
        "exp1/item_001:page.v1.html",
        "exp1/item_001:results/metrics.json",
        "exp1/item_001:shot.png",
        "exp1/item_002:results/metrics.json",
    ]
    assert cli("ls", "exp1:results/", cwd=work).out.splitlines() == [
        "exp1/item_001:results/metrics.json",
        "exp1/item_002:results/metrics.json",
    ]
    long = cli("ls", "-l", "exp1/item_001", cwd=work).out.splitlines()
    info = LocalStorage("exp1", "item_001", root=work / "perf_results").info("shot.png")
    assert info is not None and f"bytes {info.size:>12,}  {info.hash[:12]}  shot.png" in long


def test_ls_sessions_targets_json_match_the_python_api(work: Path) -> None:
    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    assert cli("ls", "exp1/item_001", "--json", cwd=work).json() == root.list_keys()
    assert cli("ls", "exp1/item_001:results", "--json", cwd=work).json() == root.list_keys("results")
    assert cli("ls", "exp1", "--json", cwd=work).json() == {
        t: root.for_target(t).list_keys() for t in root.targets("exp1")
    }
    assert cli("--json", "ls", cwd=work).json() == {
        s: {t: root.for_session(s, t).list_keys() for t in root.targets(s)} for s in root.sessions()
    }
    long = cli("ls", "-l", "--json", "exp1/item_001", cwd=work).json()
    assert [row["key"] for row in long] == root.list_keys()
    for row in long:
        info = root.info(row["key"])
        assert info is not None
        assert row == {
            "key": info.key,
            "kind": info.kind,
            "size": info.size,
            "hash": info.hash,
            "modified": info.modified.isoformat() if info.modified else None,
        }
    assert cli("sessions", "--json", cwd=work).json() == root.sessions() == ["baseline", "exp1"]
    assert cli("sessions", cwd=work).out == "baseline\nexp1\n"
    assert cli("targets", "exp1", "--json", cwd=work).json() == root.targets("exp1")
    assert cli("targets", cwd=work).out.splitlines() == ["baseline/item_001", "exp1/item_001", "exp1/item_002"]
    assert cli("targets", "--json", cwd=work).json() == {s: root.targets(s) for s in root.sessions()}


def test_location_from_the_option_or_the_environment(work: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = str(work / "perf_results")
    assert cli("ls", "-L", root, "exp1/item_002", cwd=elsewhere).out == "results/metrics.json\n"
    assert cli("-L", f"file://{root}", "sessions", cwd=elsewhere).out == "baseline\nexp1\n"
    assert cli("sessions", cwd=elsewhere, env=clean_env(PERF_STORAGE_ROOT=root)).out == "baseline\nexp1\n"
    assert cli("sessions", cwd=elsewhere, env=clean_env(PERF_STORAGE_URL=root)).out == "baseline\nexp1\n"
    assert cli("sessions", cwd=elsewhere).out == ""  # ./perf_results does not exist there: nothing, no error


# ---- values -----------------------------------------------------------------------------------------------------
def test_cat_prints_text_verbatim_json_pretty_and_bytes_raw(work: Path) -> None:
    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    text = cli("cat", "exp1/item_001:log.txt", cwd=work)
    assert text.code == 0 and text.raw == "héllo\r\nno newline at the end".encode()
    doc = cli("cat", "exp1/item_001:results/metrics.json", cwd=work)
    assert doc.out == json.dumps(root.load("results/metrics.json"), indent=2, ensure_ascii=False) + "\n"
    raw = cli("cat", "exp1/item_001:shot.png", cwd=work)  # stdout is a pipe: raw bytes
    assert raw.code == 0 and raw.raw == root.load_bytes("shot.png")
    for key in ("log.txt", "results/metrics.json", "shot.png", "page.v1.html"):
        envelope = cli("cat", f"exp1/item_001:{key}", "--json", cwd=work).json()
        info = root.info(key)
        assert info is not None and envelope["kind"] == info.kind and envelope["key"] == key
        if info.kind == "bytes":
            import base64

            assert envelope["encoding"] == "base64" and base64.b64decode(envelope["value"]) == root.load_bytes(key)
        else:
            assert envelope["value"] == root.load_any(key)


def test_cat_refuses_to_write_bytes_to_a_terminal(work: Path) -> None:
    import pty
    import subprocess

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [SCRIPT, "cat", "exp1/item_001:shot.png"],
            cwd=work,
            env=clean_env(),
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    finally:
        os.close(follower)
        os.set_blocking(leader, False)
        try:
            written = os.read(leader, 4096)
        except OSError:  # EIO/EAGAIN: nothing was written to the terminal
            written = b""
        os.close(leader)
    err = done.stderr.decode()
    assert done.returncode == 2 and b"PNG" not in written
    assert err.count("\n") == 1 and "not written to a terminal" in err and "> FILE" in err


def test_info_of_a_key_and_of_the_location(work: Path) -> None:
    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    info = root.info("results/metrics.json")
    assert info is not None
    got = cli("info", "exp1/item_001:results/metrics.json", "--json", cwd=work).json()
    assert got == {
        "session": "exp1",
        "target": "item_001",
        "key": info.key,
        "kind": info.kind,
        "size": info.size,
        "hash": info.hash,
        "modified": info.modified.isoformat() if info.modified else None,
    }
    text = cli("info", "exp1/item_001:results/metrics.json", cwd=work).out
    assert f"hash      {info.hash}" in text and f"size      {info.size:,} B" in text
    where = cli("info", "--json", cwd=work).json()
    assert where == {"location": f"file://{work / 'perf_results'}", "backend": "local", "sessions": 2}


def test_rm_a_key_a_prefix_a_target(work: Path) -> None:
    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    assert cli("rm", "exp1/item_001:log.txt", cwd=work).out == "deleted exp1/item_001:log.txt\n"
    assert not root.exists("log.txt")
    gone = cli("rm", "exp1/item_001:log.txt", cwd=work)
    assert gone.code == 2 and "no key 'log.txt'" in gone.err and gone.err.count("\n") == 1
    assert cli("rm", "-f", "exp1/item_001:log.txt", cwd=work).code == 0
    dry = cli("rm", "-r", "exp1", "--dry-run", "--json", cwd=work).json()
    assert dry == {
        "dry_run": True,
        "deleted": [
            "exp1/item_001:page.v1.html",
            "exp1/item_001:results/metrics.json",
            "exp1/item_001:shot.png",
            "exp1/item_002:results/metrics.json",
        ],
    }
    assert len(root.list_keys()) == 3
    refused = cli("rm", "exp1/item_002", cwd=work)
    assert refused.code == 2 and "add -r" in refused.err
    assert cli("rm", "-r", "exp1:results/", cwd=work).out.count("deleted") == 2
    assert cli("rm", "-r", "exp1/item_001", cwd=work).code == 0 and root.targets("exp1") == []


# ---- diff -------------------------------------------------------------------------------------------------------
def test_diff_exit_codes_text_and_json(work: Path) -> None:
    from perf_storage_nb.diff import diff_keys

    a, b = "baseline/item_001:results/metrics.json", "exp1/item_001:results/metrics.json"
    changed = cli("diff", a, b, cwd=work)
    assert changed.code == 1 and "~ root['p50_ms']: 10.3 -> 10.0" in changed.out
    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    expected = diff_keys(
        root.for_session("baseline", "item_001"), "results/metrics.json", root, "results/metrics.json", labels=(a, b)
    )
    assert changed.out == expected.to_text() + "\n"
    assert cli("diff", a, b, "--json", cwd=work).json() == {**expected.to_dict(), "different": True}
    assert cli("diff", a, b, "--tol", "5%", cwd=work).code == 0
    assert cli("diff", a, "exp1/item_001", cwd=work).code == 1  # B's key left out: the same key
    assert cli("diff", "exp1/item_001:results/metrics.json", "exp1/item_001:results/metrics.json", cwd=work).code == 0
    sessions = cli("diff", "baseline", "exp1", "--json", cwd=work).json()
    assert sessions["different"] and sessions["added"] == 4 and sessions["changed"] == 1
    targets = cli("diff", "exp1/item_001", "exp1/item_002", cwd=work)
    assert targets.code == 1 and "results/metrics.json root['p50_ms']: 10.0 -> 11.0" in targets.out
    mixed = cli("diff", "exp1", "exp1/item_001", cwd=work)
    assert mixed.code == 2 and mixed.err.count("\n") == 1


# ---- cp / sync (local) ------------------------------------------------------------------------------------------
def test_cp_and_sync_between_local_roots(work: Path) -> None:
    one = cli("cp", "exp1/item_001:results/metrics.json", "copy/t:ref.json", "--json", cwd=work).json()
    assert one["added"] == 1 and one["changes"][0]["key"] == "ref.json"
    assert LocalStorage("copy", "t", root=work / "perf_results").load("ref.json") == {"p50_ms": 10.0, "n": 3, "ü": "ok"}
    other = work / "other"
    across = cli("cp", "exp1", f"{other}#exp1", cwd=work)
    assert across.code == 0 and "5 added" in across.out
    mirror = work / "mirror"
    first = cli("sync", "./perf_results", str(mirror), cwd=work)
    assert first.code == 0 and "7 added" in first.out
    assert snapshot_tree(mirror) == snapshot_tree(work / "perf_results")
    again = cli("sync", "./perf_results", str(mirror), "--json", cwd=work).json()
    assert (again["added"], again["updated"], again["unchanged"], again["changes"]) == (0, 0, 7, [])
    LocalStorage("copy", "t", root=work / "perf_results").delete("ref.json")  # the session 'copy' is gone at SRC
    kept = cli("sync", "./perf_results", str(mirror), "--delete", "--dry-run", cwd=work)
    assert kept.code == 0 and "0 deleted" in kept.out  # --delete never touches sessions it does not sync
    dry = cli("sync", "./perf_results", str(mirror), "--delete", "--dry-run", "-s", "copy", cwd=work)
    assert dry.code == 0 and "- copy/t:ref.json" in dry.out and "dry run" in dry.out
    assert (mirror / "copy" / "t" / "ref.json").exists()
    assert cli("sync", "./perf_results", str(mirror), "--delete", "-s", "copy", cwd=work).code == 0
    assert snapshot_tree(mirror) == snapshot_tree(work / "perf_results")


# ---- bad input: exit 2, one line, nothing written ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["lss"], "unknown subcommand 'lss' (did you mean 'ls'?)"),
        (["sinc", "a", "b"], "did you mean 'sync'?"),
        ([], "missing the subcommand"),
        (["ls", "--bogus"], "unrecognized arguments: --bogus; usage: perf-storage ls"),
        (["ls", "a b"], "write SESSION[/TARGET][:KEY-OR-PREFIX]"),
        (["ls", "-L", "ftp://host/x"], "unsupported URL scheme 'ftp'"),
        (["ls", "-L", "./x", "--namespace", "ns"], "--namespace applies to a cache service location"),
        (["cat", "exp1/item_001"], "cat needs one key"),
        (["cat", "exp1/item_001:results/"], "invalid key 'results/': an empty segment"),
        (["cat", "exp1/item_001:nope.json"], "no key 'nope.json' in exp1/item_001"),
        (["info", "exp1/../x:k"], "write SESSION[/TARGET][:KEY-OR-PREFIX]"),
        (["cp", "exp1/item_001:results/metrics.json", "dst/t:../up"], "invalid key"),
        (["cp", "exp1", "dst/t"], "needs a session as destination"),
        (["cp", "exp1/item_001:nothing", "dst/t"], "no key or prefix 'nothing'"),
        (["sync", "./perf_results", "./m", "-s", "a b"], "write SESSION"),
        (["sync", "./perf_results"], "the following arguments are required: DST"),
        (["diff", "exp1/item_001:a", "--tol", "lots", "exp1/item_002:a"], "tolerance 'lots' is not a number"),
        (["targets", "exp1/item_001"], "is not a session name; write SESSION"),
        (["rm", "exp1"], "add -r"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(work: Path, args: list[str], expect: str) -> None:
    before = snapshot_tree(work)
    run = cli(*args, cwd=work)
    assert run.code == 2, run.err
    assert run.out == "" and run.err.count("\n") == 1 and run.err.startswith("perf-storage"), run.err
    assert expect in run.err, run.err
    assert snapshot_tree(work) == before


def test_help_lists_commands_examples_and_exit_codes(work: Path) -> None:
    top = cli("--help", cwd=work)
    assert top.code == 0 and "exit codes: 0 ok; 1 difference" in top.out
    names = ("ls", "sessions", "targets", "cat", "info", "rm", "diff", "compare", "cp", "sync", "export", "serve")
    for name in (*names, "help"):
        assert f"\n  {name} " in top.out
        page = cli(name, "--help", cwd=work)
        assert page.code == 0 and f"usage: perf-storage {name}" in page.out and "examples:" in page.out
    assert cli("help", "sync", cwd=work).out == cli("sync", "--help", cwd=work).out
    assert cli("help", cwd=work).out == top.out
    wrong = cli("help", "nope", cwd=work)
    assert wrong.code == 2 and "unknown subcommand 'nope'; subcommands:" in wrong.err


def test_start_up_imports_no_notebook_layer_ipython_pandas_or_matplotlib(work: Path) -> None:
    """Nor hashlib (OpenSSL, ~3 ms) nor secrets (random, ~3 ms): a listing hashes nothing."""
    import subprocess

    probe = (
        "import sys\nfrom perf_storage_nb.cli import main\ncode = main(['ls', 'exp1/item_001'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('IPython', 'pandas', 'matplotlib', 'ipywidgets', "
        "'deepdiff', 'httpx', 'tqdm', 'hashlib', 'secrets')\n"
        " or m.startswith(('perf_storage_nb.notebook', 'perf_storage_nb.sync.engine'))),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=work, env=clean_env(), capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "log.txt"
    assert done.stderr.strip() == "[]"


def test_ls_takes_a_glob_as_the_magics_do(work: Path) -> None:
    from perf_storage_nb.addressing import filter_keys

    root = LocalStorage("exp1", "item_001", root=work / "perf_results")
    assert cli("ls", "exp1/item_001:*.HTML", "--json", cwd=work).json() == filter_keys(root.list_keys(), "*.HTML")
    assert cli("ls", "exp1:results/*.json", cwd=work).out.splitlines() == [
        "exp1/item_001:results/metrics.json",
        "exp1/item_002:results/metrics.json",
    ]
    bad = cli("ls", "exp1/item_001:../*", cwd=work)
    assert bad.code == 2 and bad.err.count("\n") == 1 and "bad pattern '../*'" in bad.err
