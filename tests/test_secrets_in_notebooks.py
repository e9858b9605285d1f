"""API keys never end up in a saved notebook: run the cache-service notebooks against a keyed server."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import pytest

from perf_storage_nb.server import CacheServer

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_quick_tour.ipynb", "02_three_backends.ipynb", "06_direct_cache_access.ipynb"])
def test_api_key_is_not_in_any_saved_output(name: str, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed ('.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed ('.[test]')")
    key = "psnb-secret-" + secrets.token_hex(12)
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    with CacheServer(mode="memory", api_key=key) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_STORAGE_")}
        env.update({"PERF_STORAGE_URL": server.url, "PERF_STORAGE_API_KEY": key})
        client = nbclient.NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute(env=env)
    nbformat.write(nb, tmp_path / name)
    saved = (tmp_path / name).read_text(encoding="utf-8")
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert outputs, "the notebook produced no output: nothing was checked"
    assert any("cache_service" in json.dumps(o) or "Cache" in json.dumps(o) for o in outputs)
    assert key not in saved
    assert key[12:] not in saved  # not even the random part (e.g. a truncated or reformatted key)
