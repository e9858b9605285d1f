"""The tour (``scripts/tour.py``, ``make tour``) and the committed state of the example notebooks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
TOUR = REPO / "scripts" / "tour.py"


def _load_tour() -> ModuleType:
    """scripts/tour.py is a repository tool, not part of the package: load it from its file."""
    spec = importlib.util.spec_from_file_location("tour", TOUR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tour = _load_tour()
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
EXPECTED = [
    "01_quick_tour.ipynb",
    "02_three_backends.ipynb",
    "03_batch_and_resume.ipynb",
    "04_before_after_diff.ipynb",
    "05_widget_browser.ipynb",
    "06_direct_cache_access.ipynb",
    "07_mini_experiment.ipynb",
]


def test_the_seven_notebooks_are_there_in_order() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    assert tour.notebooks_dir() == REPO / "notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_are_executed_and_normalised(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], "widget state must be stripped (it holds random model ids)"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = "".join(code[0]["source"])
    assert first.startswith("%load_ext perf_storage_nb") and "StorageMagics.deterministic = True" in first
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "outputs must come from one clean top-to-bottom run"
    assert not any(o["output_type"] == "error" for c in code for o in c["outputs"])
    assert not any("execution" in c["metadata"] for c in nb["cells"])


def test_quick_tour_runs_the_seed_snippet_verbatim() -> None:
    nb = nbformat.read(REPO / "notebooks/01_quick_tour.ipynb", as_version=4)
    sources = ["".join(c.source) for c in nb.cells if c.cell_type == "code"]
    seed = (
        "from perf_storage_factory import Perf__Storage__Factory\n\n\n"
        "storage_config = {\n"
        "    \"backend\": \"cache_service\", # Options: 'local', 'memory'\n"
        '    "session_id": "experiment_alpha",\n'
        '    "target_id": "item_001"\n'
        "}\n\n"
        "# The factory handles the specific backend logic\n"
        "storage = Perf__Storage__Factory.create(storage_config)"
    )
    assert any(seed in s for s in sources)


def test_normalise_strips_what_varies() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    # run_batch's live progress widget, emptied when the batch ended, then its final state
    cell.outputs = [nbformat.v4.new_output("display_data", data={}), nbformat.v4.new_output("stream", text="x\n")]
    nb.cells.append(cell)
    out = tour.normalise(nb)
    assert [o.output_type for o in out.cells[0].outputs] == ["stream"]
    assert "widgets" not in out.metadata
    assert out.metadata["kernelspec"]["name"] == "python3"
    assert "version" not in out.metadata["language_info"]
    assert "execution" not in out.cells[0].metadata


def test_tour_executes_a_notebook_and_writes_html(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import os\nprint(sorted(k for k in os.environ if k.startswith('PERF_STORAGE_')))"),
        nbformat.v4.new_code_cell("from perf_storage_nb import MemoryStorage\nMemoryStorage('s', 't')"),
    ]
    path = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "html"
    env_leak = {"PERF_STORAGE_URL": "http://127.0.0.1:9"}  # the tour must not inherit the caller's service
    done = subprocess.run(
        [sys.executable, str(TOUR), str(path), "--out", str(out), "--update"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, **env_leak},
    )
    assert done.returncode == 0, done.stderr
    assert f"open {out / 'index.html'}" in done.stdout
    page = (out / "01_tiny.html").read_text()
    assert "<b>MemoryStorage</b> <code>s</code> / <code>t</code>" in page  # the rich output, rendered
    executed = nbformat.read(path, as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "[]\n"
    assert "01_tiny.html" in (out / "index.html").read_text()


def test_tour_reports_a_failing_notebook(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise RuntimeError('broken step')")]
    path = tmp_path / "01_broken.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run(
        [sys.executable, str(TOUR), str(path), "--out", str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "01_broken.ipynb failed" in done.stderr and "broken step" in done.stderr


def test_missing_notebook_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tour.main([str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_script_tour(capsys: pytest.CaptureFixture[str]) -> None:
    assert tour.main(["--script"]) == 0
    out = capsys.readouterr().out
    assert "MemoryStorage(session_id='experiment_alpha', target_id='item_001')" in out
    assert "targets: ['item_001', 'item_002']" in out
