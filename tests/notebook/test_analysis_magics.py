"""%storage collect, compare, plot, matrix and %%storage gate: a real InteractiveShell, nbclient, nbconvert."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pandas", reason="the analysis extra is not installed (pip install -e '.[analysis]')")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from perf_storage_nb import LocalStorage, MemoryStorage  # noqa: E402
from perf_storage_nb.analysis import Comparison, Matrix  # noqa: E402
from perf_storage_nb.analysis.figures import AnalysisFigure  # noqa: E402

_ids = itertools.count()
KEY = "results/timings.json"

# Creates two sessions: t1 is 30 % slower in "cand" (a real regression), the other targets are unchanged.
SETUP = """
from perf_storage_nb import MemoryStorage
_s = MemoryStorage("base", "t0", name={name!r})
for _sess, _f in (("base", 1.0), ("cand", 1.3)):
    for _i in range(4):
        _ms = [10.0 * (_f if _i == 1 else 1.0) + _j * 0.05 for _j in range(6)]
        _s.for_session(_sess, f"t{{_i}}").save("results/timings.json", {{"latency_ms": _ms, "label": "x"}})
"""


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "perf_storage_nb")
    before = set(ip.user_ns)
    yield ip
    # The shell is the process-wide instance: leave its namespace as we found it (a DataFrame left there slows
    # jedi's type inference enough to change what later completion tests see).
    for name in set(ip.user_ns) - before:
        del ip.user_ns[name]


@pytest.fixture
def store(shell: InteractiveShell) -> Iterator[str]:
    name = f"analysis{next(_ids)}"
    shell.run_line_magic("config", "StorageMagics.feedback = 1")  # the shell is shared: other tests change it
    shell.run_cell(SETUP.format(name=name))
    shell.run_line_magic("storage", f"use memory://{name} cand/t0")
    yield name


def _magic(shell: InteractiveShell, line: str) -> Any:
    return shell.run_line_magic("storage", line)


def test_collect(shell: InteractiveShell, store: str) -> None:
    frame = _magic(shell, f"collect {KEY} --field latency_ms --sessions base,cand")
    assert list(frame.columns) == ["session", "target", "field", "value", "sample"] and len(frame) == 48
    assert _magic(shell, f"collect {KEY} --sessions base -o got") is None
    assert list(shell.user_ns["got"]["session"].unique()) == ["base"]


def test_compare_candidate_defaults_to_the_current_session(shell: InteractiveShell, store: str) -> None:
    two = _magic(shell, f"compare base {KEY} --tol 5%")
    three = _magic(shell, f"compare base cand {KEY} --tol 5% --field latency_ms --alpha 0.05")
    assert isinstance(two, Comparison) and two.candidate == "cand"
    assert [(r.target, r.verdict) for r in three.regressions] == [("t1", "worse")]
    assert _magic(shell, f"compare base {KEY} --tol 50% --field latency_ms").ok
    reverse = _magic(shell, f"compare cand base {KEY} --field latency_ms --higher latency_ms")
    assert [(r.target, r.verdict) for r in reverse.regressions] == [("t1", "worse")]  # 13 -> 10 with higher better


def test_plot_and_matrix(shell: InteractiveShell, store: str) -> None:
    fig = _magic(shell, f"plot {KEY} latency_ms --sessions cand,base")
    assert isinstance(fig, AnalysisFigure) and fig._repr_png_().startswith(b"\x89PNG")
    result = _magic(shell, "matrix base")
    assert isinstance(result, Matrix) and result.counts() == {"changed": 1, "same": 3}
    view = _magic(shell, "matrix base cand --browse")
    assert list(view.buttons) == [("t1", KEY)]
    view.buttons[("t1", KEY)].click()  # as a click in the page does
    assert view.selected == ("t1", KEY) and "psnb-diff" in view._diff.value and "latency_ms" in view._diff.value
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"].startswith("SessionCompareView(Matrix(") and "psnb-matrix" in bundle["text/html"]
    view.close()


def test_gate_passes_and_fails_the_cell(
    shell: InteractiveShell, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = shell.run_cell(f"%%storage gate --against base {KEY} --tol 50% --field latency_ms\nran_ok = 1\n")
    assert ok.success and shell.user_ns["ran_ok"] == 1
    assert "gate passed" in capsys.readouterr().out
    bad = shell.run_cell(f"%%storage gate --against base {KEY} --tol 5%\nran_bad = 1\n")
    assert not bad.success and isinstance(bad.error_in_exec, UsageError)
    assert shell.user_ns["ran_bad"] == 1  # the cell ran, then the comparison failed it
    message = str(bad.error_in_exec)
    assert (
        message.startswith("gate: 1 regression in cand against base")
        and "worse t1 latency_ms: 10.125 -> 13.125 (+29.6%" in message
    )
    out = capsys.readouterr().out
    assert "1 worse" in out  # the comparison table was shown before the cell failed


def test_gate_fails_when_the_cell_fails_and_needs_against(shell: InteractiveShell, store: str) -> None:
    failed = shell.run_cell(f"%%storage gate --against base {KEY}\nraise ValueError('boom')\n")
    assert not failed.success and "the cell raised ValueError; nothing was compared" in str(failed.error_in_exec)
    missing = shell.run_cell(f"%%storage gate {KEY}\nx = 1\n")
    assert "needs --against BASELINE" in str(missing.error_in_exec)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (f"compare ghost {KEY}", ["compare: unknown session 'ghost'", "base, cand"]),
        (f"compare base {KEY} --field label", ["compare needs numbers", "'label' holds str"]),
        (f"compare base {KEY} --tol lots", ["tolerance 'lots' is not a number"]),
        (f"plot {KEY} latency_ms --sessions base", ["at least 2"]),
        (f"plot {KEY} nope", ["'nope' found in no value"]),
        (f"collect {KEY} --sessions ,", ["comma-separated names"]),
        ("matrix base base", ["both 'base'"]),
        (f"compare {KEY}", ["usage: %storage compare BASELINE [CANDIDATE] KEY"]),
    ],
)
def test_bad_input_is_one_usage_line(shell: InteractiveShell, store: str, line: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as info:
        _magic(shell, line)
    text = str(info.value)
    assert "\n" not in text
    for word in words:
        assert word in text


def test_loading_the_extension_stays_light() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'perf_storage_nb')\n"
        "ip.run_line_magic('storage', 'help')\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ---- the gate in a real kernel: nbclient and `jupyter nbconvert --execute` ---------------------------------------
def _notebook(path: Path, root: Path, tol: str) -> Path:
    nbformat = pytest.importorskip("nbformat")
    setup = (
        "from perf_storage_nb import LocalStorage\n"
        f"s = LocalStorage('base', 't0', root={str(root)!r})\n"
        "for sess, f in (('base', 1.0), ('cand', 1.3)):\n"
        "    for i in range(3):\n"
        "        ms = [10.0 * (f if i == 1 else 1.0) + j * 0.05 for j in range(6)]\n"
        "        s.for_session(sess, f't{i}').save('results/timings.json', {'latency_ms': ms})\n"
    )
    cells = [
        nbformat.v4.new_code_cell("%load_ext perf_storage_nb"),
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell(f"%storage use {root} cand/t0"),
        nbformat.v4.new_code_cell(f"%%storage gate --against base {KEY} --tol {tol}\nafter = 'the cell ran'"),
        nbformat.v4.new_code_cell("print('reached the end')"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)
    return path


def _run(path: Path) -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def test_gate_through_nbclient(tmp_path: Path) -> None:
    from nbclient.exceptions import CellExecutionError

    passing = _run(_notebook(tmp_path / "pass.ipynb", tmp_path / "store_pass", "50%"))
    assert "reached the end" in passing.cells[-1].outputs[0]["text"]
    assert any("gate passed" in o.get("text", "") for o in passing.cells[3].outputs)
    with pytest.raises(CellExecutionError) as info:
        _run(_notebook(tmp_path / "fail.ipynb", tmp_path / "store_fail", "5%"))
    assert "UsageError" in str(info.value) and "1 regression in cand against base" in str(info.value)


def test_gate_fails_jupyter_nbconvert_execute(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "gate.ipynb", tmp_path / "store", "5%")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output",
            "out.ipynb",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode != 0, done.stderr[-2000:]
    assert "1 regression in cand against base" in done.stderr
    assert not (tmp_path / "out.ipynb").exists()
    assert json.loads(path.read_text())["cells"][3]["outputs"] == []  # the source notebook is untouched
    MemoryStorage("unused", "t")  # keep the import used when nbconvert is missing
    LocalStorage("base", "t0", root=tmp_path / "store").load(KEY)
