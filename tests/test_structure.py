"""The package's structure, checked on every run: layers import one way, no import cycles, small modules.

Every import counts — module level, inside functions and under ``TYPE_CHECKING`` — because a function-local
import of a higher layer is the same dependency, only hidden.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "perf_storage_nb"
MAX_LINES = 400

#: first matching prefix wins; a module may import its own layer and the ones below (lower numbers)
LAYERS: list[tuple[str, int]] = [
    ("perf_storage_nb.kinds", 0),
    ("perf_storage_nb.errors", 0),
    ("perf_storage_nb.names", 0),
    ("perf_storage_nb.codec", 0),
    ("perf_storage_nb.versions", 0),
    ("perf_storage_nb.redact", 0),
    ("perf_storage_nb.display", 0),
    ("perf_storage_nb.records", 0),
    ("perf_storage_nb.discovery", 0),
    ("perf_storage_nb.base", 1),
    ("perf_storage_nb.addressing", 1),
    ("perf_storage_nb.factory", 1),
    ("perf_storage_nb.backends", 2),
    ("perf_storage_nb.cache_client", 2),  # re-export shims of the old paths
    ("perf_storage_nb.cache_keys", 2),
    ("perf_storage_nb.server", 2),
    ("perf_storage_nb.diff", 3),
    ("perf_storage_nb.workflows", 3),
    ("perf_storage_nb.analysis", 3),
    ("perf_storage_nb.sync", 3),
    ("perf_storage_nb.export", 3),
    ("perf_storage_nb.notebook", 4),
    ("perf_storage_nb.cli", 4),
]
NAMES = {0: "foundation", 1: "contract", 2: "backends", 3: "library features", 4: "faces"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Modules of the package that ``name`` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int | None:
    for prefix, layer in LAYERS:
        if name == prefix or name.startswith(prefix + "."):
            return layer
    return None


def _related(a: str, b: str) -> bool:
    # A package and its own modules (re-exports in __init__) are one unit, as for any package.
    return a.startswith(b + ".") or b.startswith(a + ".")


def test_every_module_has_a_layer() -> None:
    missing = sorted(n for n in MODULES if n != "perf_storage_nb" and _layer(n) is None)
    assert missing == [], f"add these modules to LAYERS in {__file__}: {missing}"


def test_layers_import_one_way() -> None:
    upward = []
    for name, targets in sorted(GRAPH.items()):
        mine = _layer(name)
        if mine is None:
            continue  # the package's __init__ re-exports everything (lazily for the heavy parts)
        for target in sorted(targets):
            theirs = _layer(target)
            if theirs is not None and theirs > mine and not _related(name, target):
                upward.append(f"{name} ({NAMES[mine]}) imports {target} ({NAMES[theirs]})")
    assert upward == []


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if _related(v, w):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = sum(1 for _ in MODULES[name].open(encoding="utf-8"))
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines; split it by job (at most {MAX_LINES})"


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").exists()
