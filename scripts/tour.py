"""The tour: run the example notebooks headless and write an HTML rendering of them under ``build/tour/``.

``python scripts/tour.py`` (``make tour``) executes ``notebooks/*.ipynb`` with nbclient on the embedded
default (memory and local backends, an in-process cache service) and renders each with nbconvert.
``--update`` also writes the executed notebooks back (how their committed outputs are made), ``--script``
runs the short plain-Python tour instead. A development tool of the repository, not part of the package.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["execute_notebook", "main", "normalise", "notebooks_dir", "render_html", "run_tour", "script_tour"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path("build") / "tour"
TIMEOUT = 600  # seconds per cell; the slowest cell (a batch) takes a few seconds


def notebooks_dir() -> Path | None:
    """The repository's ``notebooks/`` folder, or None when the package runs outside a checkout."""
    found = REPO / "notebooks"
    return found if any(found.glob("[0-9]*.ipynb")) else None


def normalise(nb: Any) -> Any:
    """Make an executed notebook reproducible: no widget state, python3 kernelspec, no timing metadata."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata.get("language_info", {}).pop("version", None)  # the patch release is not part of the result
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            # A live display later emptied (run_batch's progress widget, replaced by its final state) has no data:
            # it shows nothing anywhere, and nbconvert warns about it.
            cell.outputs = [o for o in cell.get("outputs", []) if o.output_type != "display_data" or o.get("data")]
            for output in cell.outputs:
                output.get("metadata", {}).pop("execution", None)
    return nb


def _tour_env() -> dict[str, str]:
    """Environment for the kernel: the embedded default, whatever the caller's shell points at."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")}
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning on stderr
    return env


def execute_notebook(path: Path, *, timeout: int = TIMEOUT) -> Any:
    """Execute one notebook in its own folder with a fresh python3 kernel; returns the normalised notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    # The kernel gets the embedded default: PERF_STORAGE_* from the caller's shell must not change the outputs.
    client.execute(env=_tour_env())
    return normalise(nb)


def render_html(nb: Any, out: Path) -> Path:
    """Write an HTML rendering of an executed notebook (nbconvert, lab template)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def _index(pages: Sequence[Path], out_dir: Path) -> Path:
    items = "".join(f"<li><a href='{html.escape(p.name)}'>{html.escape(p.stem)}</a></li>" for p in pages)
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>perf_storage_nb tour</title></head>"
        f"<body><h1>perf_storage_nb tour</h1><ol>{items}</ol></body></html>\n"
    )
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run_tour(paths: Sequence[Path], out_dir: Path, *, update: bool = False) -> Path:
    """Execute ``paths`` in order, render each to ``out_dir``; returns the index page."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    pages: list[Path] = []
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        try:
            nb = execute_notebook(path)
        except CellExecutionError as exc:
            raise SystemExit(f"error: {path.name} failed:\n{exc}") from exc
        if update:
            nbformat.write(nb, path)
        pages.append(render_html(nb, out_dir / f"{path.stem}.html"))
        print(f"  -> {pages[-1]}", flush=True)
    return _index(pages, out_dir)


def script_tour() -> None:
    """The seed's factory snippet and the core operations on the memory and local backends, printed."""
    from perf_storage_factory import Perf__Storage__Factory

    with tempfile.TemporaryDirectory() as root:
        for backend in ("memory", "local"):
            storage_config = {"backend": backend, "session_id": "experiment_alpha", "target_id": "item_001"}
            if backend == "local":
                storage_config["root"] = root
            storage = Perf__Storage__Factory.create(storage_config)
            storage.save("results/metrics.json", {"latency_ms": 12.5, "nodes": 340})
            storage.save_string("output/rendered.html", "<h1>Hello</h1>\n")
            print(f"{storage!r}")
            print("  keys:", storage.list_keys())
            print("  metrics:", storage.load("results/metrics.json"))
            print("  info:", storage.info("output/rendered.html"))
            sibling = storage.for_target("item_002")
            sibling.save("results/metrics.json", {"latency_ms": 11.0, "nodes": 338})
            print("  targets:", storage.targets())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the notebook tour (default) or the script tour."""
    parser = argparse.ArgumentParser(prog="scripts/tour.py", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: notebooks/[0-9]*.ipynb)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"HTML output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--update", action="store_true", help="write the executed notebooks back (their committed outputs)"
    )
    parser.add_argument("--script", action="store_true", help="run the short plain-Python tour instead")
    args = parser.parse_args(argv)
    folder = notebooks_dir()
    if args.script:
        script_tour()
        return 0
    paths = [p.resolve() for p in args.notebooks]
    if not paths:
        if folder is None:
            print(f"error: no notebooks/[0-9]*.ipynb under {REPO}", file=sys.stderr)
            return 2
        paths = sorted(folder.glob("[0-9]*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    index = run_tour(paths, args.out.resolve(), update=args.update)
    print(f"tour: {len(paths)} notebook(s) executed; open {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
