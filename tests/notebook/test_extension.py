"""Extension lifecycle: silent idempotent load, clean unload/reload, lazy_magics recipe, lazy imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb.notebook.magics import StorageMagics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    if "perf_storage_nb" in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", "perf_storage_nb")
    return ip


def _ours(ip: InteractiveShell) -> list[object]:
    return [c for c in ip.configurables if isinstance(c, StorageMagics)]


def _completers(ip: InteractiveShell) -> list[str]:
    """Our matchers registered with the shell's completer (and any complete_command hook left behind)."""
    hooks = [k for k in ip.strdispatchers.get("complete_command", {"strs": {}}).strs if k in ("%storage", "%%storage")]
    matchers = [getattr(m, "matcher_identifier", "") for m in ip.Completer.custom_matchers]
    return hooks + [m for m in matchers if m.startswith("perf_storage_nb")]


def test_load_is_silent_and_idempotent(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    from perf_storage_nb import load_ipython_extension, unload_ipython_extension

    capsys.readouterr()
    shell.run_line_magic("load_ext", "perf_storage_nb")
    first = shell.magics_manager.registry["StorageMagics"]
    load_ipython_extension(shell)  # a second load (e.g. lazy + explicit) changes nothing
    assert shell.magics_manager.registry["StorageMagics"] is first
    assert capsys.readouterr() == ("", "")
    assert len(_ours(shell)) == 1
    assert "storage" in shell.magics_manager.magics["line"] and "storage" in shell.magics_manager.magics["cell"]
    assert _completers(shell) == ["perf_storage_nb.storage_matcher"]
    unload_ipython_extension(shell)
    shell.extension_manager.loaded.discard("perf_storage_nb")


def test_unload_leaves_nothing_behind(shell: InteractiveShell) -> None:
    before_configurables = len(shell.configurables)
    shell.run_line_magic("load_ext", "perf_storage_nb")
    shell.run_line_magic("storage", "save -q k 1")
    shell.run_line_magic("unload_ext", "perf_storage_nb")
    assert "storage" not in shell.magics_manager.magics["line"]
    assert "storage" not in shell.magics_manager.magics["cell"]
    assert "StorageMagics" not in shell.magics_manager.registry
    assert _ours(shell) == [] and len(shell.configurables) == before_configurables
    assert _completers(shell) == []


def test_reload_gives_a_fresh_working_instance(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "perf_storage_nb")
    first = shell.magics_manager.registry["StorageMagics"]
    shell.run_line_magic("reload_ext", "perf_storage_nb")
    second = shell.magics_manager.registry["StorageMagics"]
    assert second is not first and _ours(shell) == [second]
    assert _completers(shell) == ["perf_storage_nb.storage_matcher"]
    shell.run_line_magic("storage", "save -q k 5")
    assert shell.run_line_magic("storage", "load k") == 5
    shell.run_line_magic("unload_ext", "perf_storage_nb")


def test_config_set_before_load_is_applied(shell: InteractiveShell) -> None:
    shell.config.StorageMagics.feedback = 0
    try:
        shell.run_line_magic("load_ext", "perf_storage_nb")
        assert shell.magics_manager.registry["StorageMagics"].feedback == 0
    finally:
        del shell.config.StorageMagics["feedback"]
        shell.run_line_magic("unload_ext", "perf_storage_nb")


def _run(code: str, ipython_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IPYTHONDIR": str(ipython_dir)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize("form", ["line", "cell"])
def test_lazy_magics_recipe(form: str, tmp_path: Path) -> None:
    done = _run(
        f"""
        from traitlets.config import Config
        from IPython.core.interactiveshell import InteractiveShell
        c = Config()
        c.MagicsManager.lazy_magics = {{"storage": "perf_storage_nb"}}
        ip = InteractiveShell.instance(config=c)
        assert "perf_storage_nb" not in ip.extension_manager.loaded
        if "{form}" == "line":
            ip.run_line_magic("storage", "save -q k 41")
        else:
            ip.run_cell_magic("storage", "save -q k", "41")
        state = "loaded" if "perf_storage_nb" in ip.extension_manager.loaded else "not loaded"
        print(state, ip.run_line_magic("storage", "load k"))
    """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded 41"


def test_import_does_not_pull_in_the_notebook_layer(tmp_path: Path) -> None:
    done = _run(
        """
        import sys, perf_storage_nb
        names = ("IPython", "ipywidgets", "deepdiff", "perf_storage_nb.notebook.magics")
        heavy = [m for m in names if m in sys.modules]
        print(heavy)
    """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
