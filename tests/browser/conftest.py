"""Fixtures of the real-browser tests: one JupyterLab server and one headless Chromium for the whole run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from labkit import Lab, run_chromium, run_lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token; tests write their notebooks under ``lab.root``."""
    with run_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    with run_chromium() as browser:
        yield browser
