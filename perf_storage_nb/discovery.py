"""Find the records a package's modules define: how ``%storage`` and ``perf-storage`` learn their subcommands.

Both faces keep one record per subcommand in a package of modules; this imports each public module and collects
the records of one type, ordered by the module's ``ORDER`` (lower first; 50 when a module sets none) and then by
definition order, so adding a subcommand never means editing a list.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Protocol, TypeVar

__all__ = ["DEFAULT_ORDER", "collect_records"]

DEFAULT_ORDER = 50


class _Named(Protocol):
    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=_Named)


def collect_records(package: str, record_type: type[R], what: str) -> dict[str, R]:  # noqa: UP047 (3.11 tools parse us)
    """Import every public module of ``package`` and return its ``record_type`` instances by name, in help order."""
    found: list[tuple[int, str, list[R]]] = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        records = [value for value in vars(module).values() if isinstance(value, record_type)]
        if records:
            found.append((int(getattr(module, "ORDER", DEFAULT_ORDER)), info.name, records))
    collected: dict[str, R] = {}
    for _order, module_name, records in sorted(found, key=lambda item: item[:2]):
        for record in records:
            known = collected.setdefault(record.name, record)
            if known is not record:  # the same record imported into a second module is fine; two records are not
                raise RuntimeError(f"two {what} are named {record.name!r} (one in {module_name})")
    return collected
