"""Project defaults for the magics: the ``[tool.perf_storage_nb]`` table of the nearest ``pyproject.toml``.

Precedence, highest first: ``%config`` / IPython config files, env vars (``PERF_STORAGE_*``), this table,
the built-in defaults. Example::

    [tool.perf_storage_nb]
    default_backend = "./perf_results"
    default_session = "experiment_alpha"
    feedback = 0
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["SETTINGS", "find_pyproject", "project_settings"]

#: the keys the table may hold (the StorageMagics traits)
SETTINGS = (
    "default_backend",
    "default_session",
    "default_target",
    "feedback",
    "preview_max_bytes",
    "preview_max_chars",
    "deterministic",
)


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` (default: the working folder) or a parent folder."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_settings(start: Path | None = None) -> dict[str, Any]:
    """The valid entries of ``[tool.perf_storage_nb]``; problems are reported on stderr in one line each."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("perf_storage_nb", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _warn(f"{path}: cannot read [tool.perf_storage_nb] ({exc}); using the built-in defaults")
        return {}
    if not isinstance(table, dict):
        _warn(f"{path}: [tool.perf_storage_nb] must be a table; ignored")
        return {}
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        _warn(f"{path}: unknown [tool.perf_storage_nb] key(s) {', '.join(unknown)}; valid: {', '.join(SETTINGS)}")
    return {k: v for k, v in table.items() if k in SETTINGS}


def _warn(message: str) -> None:
    # A warning, not an error: a broken project file must not stop %load_ext (which is otherwise silent).
    print(f"perf_storage_nb: {message}", file=sys.stderr)
