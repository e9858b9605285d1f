"""The batch progress bar: running counts as items complete, and a saved output that shows the final state.

In a kernel the live bar is tqdm's widget; static outputs (nbclient/``make tour``, nbconvert HTML, nbval,
a reopened notebook) cannot show a widget's state and used to show the bar frozen at ``0%``. The kernel
tests execute a real notebook with nbclient (as scripts/tour.py does), render it with nbconvert and check it
again under strict nbval.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

from perf_storage_nb.workflows.progress import BatchProgress, ProgressSummary

REPO = Path(__file__).resolve().parents[1]


def _tour() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tour", REPO / "scripts" / "tour.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_text_and_html_show_the_final_state() -> None:
    summary = ProgressSummary("pages", 5, {"done": 3, "skipped": 0, "failed": 1, "not_run": 1}, 1.234)
    assert summary.percent == 80 and summary.finished == 4
    assert summary._text_twin() == "pages: 80% 4/5 items | done 3 · failed 1 · not_run 1 | 1.23 s"
    page = summary._repr_html_()
    assert "<b>pages</b>" in page and "3 done" in page and "1 failed" in page and "80% · 4/5 items" in page
    assert "width:60.000%" in page and "width:20.000%" in page  # done and failed shares of the bar
    interrupted = ProgressSummary("x", 0, {}, 0.0, interrupted=True)
    assert interrupted.percent == 100 and "interrupted" in interrupted._text_twin()
    assert "<script" not in ProgressSummary("<script>", 1, {"done": 1})._repr_html_()


def test_text_bar_counts_done_and_failed(capsys: pytest.CaptureFixture[str]) -> None:
    bar = BatchProgress(3, "demo", True)
    for status in ("done", "failed", "skipped"):
        bar.advance(status)
    summary = bar.close()
    err = capsys.readouterr().err
    assert "demo" in err and "3/3" in err and "done=1, failed=1, skipped=1" in err
    assert summary.counts == {"done": 1, "skipped": 1, "failed": 1, "not_run": 0}


def test_disabled_bar_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    bar = BatchProgress(2, "quiet", False)
    bar.advance("done")
    bar.close()
    assert capsys.readouterr().err == ""


BATCH_CELL = """\
import tempfile
from perf_storage_nb import LocalStorage
from perf_storage_nb.workflows import run_batch


def process(item, store):
    if item == "b":
        raise ValueError("b is broken")
    store.save_string("output/rendered.html", item)


storage = LocalStorage("progress", "setup", root=tempfile.mkdtemp())
result = run_batch(storage, ["a", "b", "c"], process, target_id=str, desc="demo"{extra})"""


def _notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_code_cell(BATCH_CELL.format(extra="")),
        nbformat.v4.new_code_cell(BATCH_CELL.format(extra=", session_id='threads', workers=2")),
    ]
    nbformat.write(nb, path)


def _texts(cell: Any) -> list[str]:
    return [o.get("data", {}).get("text/plain", "") for o in cell.outputs]


@pytest.mark.slow
def test_saved_notebook_output_shows_the_final_state_not_a_frozen_bar(tmp_path: Path) -> None:
    tour = _tour()
    path = tmp_path / "01_progress.ipynb"
    _notebook(path)
    nb = tour.execute_notebook(path)
    nbformat.write(nb, path)
    for cell, desc in zip(nb.cells, ("demo", "demo"), strict=True):
        texts = _texts(cell)
        assert not any("0%|" in t for t in texts), texts  # the old frozen widget text
        finals = [t for t in texts if t.startswith(f"{desc}: ")]
        assert len(finals) == 1 and finals[0].startswith("demo: 100% 3/3 items | done 2 · failed 1 | "), texts
        # no widget view is left behind: its model is not saved, so it could only render as an error or nothing
        assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
        assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs)
    page = tour.render_html(nb, tmp_path / "html" / "01_progress.html").read_text()
    assert page.count("100% · 3/3 items") == 2 and "0%|" not in page
    assert "psnb-progress" in page

    # Strict nbval on the saved notebook (as `make test` runs the committed ones): the outputs compare equal.
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval", "--nbval-current-env",
            "--nbval-sanitize-with", str(REPO / "notebooks" / "sanitize.cfg"), str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


def test_live_bar_in_a_kernel_is_replaced_by_the_summary(tmp_path: Path) -> None:
    """The messages a frontend sees: the widget view, then an update that empties it, then the summary."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive(BATCH_CELL.format(extra=", workers=2"), timeout=120, output_hook=(seen := []).append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    shown = [m for m in seen if m["msg_type"] in ("display_data", "update_display_data", "execute_result")]
    kinds = [(m["msg_type"], sorted(m["content"]["data"])) for m in shown]
    assert kinds[0] == ("display_data", ["application/vnd.jupyter.widget-view+json"])
    assert ("update_display_data", []) in kinds
    assert kinds[-1] == ("display_data", ["text/html", "text/plain"])
    widget_id = shown[0]["content"]["transient"]["display_id"]
    update = next(m for m in seen if m["msg_type"] == "update_display_data")
    assert update["content"]["transient"]["display_id"] == widget_id
    assert json.dumps(kinds).count("widget-view") == 1
