"""Load/unload of the IPython extension: registers StorageMagics and its Tab completer, and removes them again.

Three ways to enable it:

- ``%load_ext perf_storage_nb`` (first cell of a notebook);
- ``c.MagicsManager.lazy_magics = {"storage": "perf_storage_nb"}`` in ``ipython_config.py`` /
  ``ipython_kernel_config.py`` (recommended: loads on the first ``%storage`` / ``%%storage``);
- ``c.InteractiveShellApp.extensions = ["perf_storage_nb"]`` (eager; a later ``%load_ext`` then prints
  "already loaded", which breaks nbval comparisons).
"""

from __future__ import annotations

import sys
from typing import Any

from .complete import install_completer, remove_completer
from .magics import StorageMagics

__all__ = ["load", "unload"]

_NAME = "StorageMagics"


def load(ip: Any) -> StorageMagics:
    """Register ``%storage``/``%%storage`` and the completer; idempotent and silent. Returns the magics."""
    existing = ip.magics_manager.registry.get(_NAME)
    if isinstance(existing, StorageMagics) and "storage" in ip.magics_manager.magics["line"]:
        return existing
    magics = StorageMagics(ip)
    ip.register_magics(magics)
    if magics not in ip.configurables:
        ip.configurables.append(magics)  # so `%config StorageMagics` lists and sets our traits
    install_completer(ip, magics)
    return magics


def unload(ip: Any) -> None:
    """Remove the magics, the completer and the configurable; close the live browser and our storages."""
    browser = sys.modules.get("perf_storage_nb.notebook.browser")  # loaded only if a browser was ever opened
    live = getattr(browser, "_live", None)
    if live is not None:
        live.close()  # its comms stay open otherwise, on a storage closed below
    magics = ip.magics_manager.registry.pop(_NAME, None)
    for kind in ("line", "cell"):
        table = ip.magics_manager.magics[kind]
        fn = table.get("storage")
        if fn is not None and (magics is None or getattr(fn, "__self__", None) is magics):
            del table["storage"]
    remove_completer(ip)
    if magics is not None:
        ip.configurables[:] = [c for c in ip.configurables if c is not magics]
        magics.close()
