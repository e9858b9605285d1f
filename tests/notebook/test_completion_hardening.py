"""Tab completion (#11): typed, and only from our domain at our positions, through IPython's completion API.

``ip.Completer.completions(text, offset)`` is what ipykernel (Jupyter) and the terminal call.
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterator

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import MemoryStorage
from perf_storage_nb.notebook.complete import install_completer, remove_completer

OURS = {"subcommand", "option", "key", "session", "target", "snapshot", "backend", "url", "variable", "none"}
PYTHON_WORDS = set(keyword.kwlist) | set(dir(builtins))


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.history_manager.enabled = False
    shell.run_line_magic("load_ext", "perf_storage_nb")
    shell.run_line_magic("config", "StorageMagics.feedback = 0")
    store = MemoryStorage("expc", "main", name="psnb-completion")
    for key in ("results/a.json", "results/b.json", "zz.txt"):
        store.save(key, 1)
    store.for_target("page2").save("other.json", 1)
    store.for_session("baseline", "main").save("k", 1)
    shell.user_ns["store_c"] = store
    shell.run_line_magic("storage", "use store_c")
    shell.run_line_magic("storage", "snapshot base")
    shell.run_line_magic("storage", "snapshot before_run")
    yield shell
    shell.user_ns.pop("store_c", None)
    shell.run_line_magic("unload_ext", "perf_storage_nb")


def complete(ip: InteractiveShell, line: str) -> list[tuple[str, str, int]]:
    """(text, type, start) of every completion at the end of ``line``."""
    with provisionalcompleter():
        return [(c.text, c.type, c.start) for c in ip.Completer.completions(line, len(line))]


POSITIONS = [
    ("%storage ", "subcommand", {"use", "ls", "save", "load", "save_bytes", "load_bytes", "diff", "help"}),
    ("%storage lo", "subcommand", {"load", "load_bytes", "load_string"}),
    ("%%storage ", "subcommand", {"save", "save_string", "capture", "diff"}),
    ("%storage load ", "key", {"results/a.json", "results/b.json", "zz.txt"}),
    ("%storage show results/", "key", {"results/a.json", "results/b.json"}),
    ("x = %storage load z", "key", {"zz.txt"}),
    ("%storage ls expc/page2:", "key", {"expc/page2:other.json"}),
    ("%storage ls expc/page2:o", "key", {"expc/page2:other.json"}),
    ("%storage load expc/", "target", {"expc/main:", "expc/page2:"}),
    ("%storage diff @", "snapshot", {"@base", "@before_run"}),
    ("%storage diff @be", "snapshot", {"@before_run"}),
    ("%storage targets ", "session", {"expc", "baseline"}),
    ("%storage diff k --against ", "session", {"expc", "baseline"}),
    ("%storage diff k --against expc/", "target", {"expc/main", "expc/page2"}),
    ("%storage use -t ", "target", {"main", "page2"}),
    ("%storage use -s ", "session", {"expc", "baseline"}),
    ("%storage use m", "backend", {"memory"}),
    ("%storage use store_", "variable", {"store_c"}),
    ("%storage use ba", "session", {"baseline/"}),
    ("%storage load -", "option", {"-o", "--out"}),
    ("%%storage save_string ", "key", {"results/a.json", "results/b.json", "zz.txt"}),
]


@pytest.mark.parametrize(("line", "type_", "expected"), POSITIONS, ids=[p[0] for p in POSITIONS])
def test_each_position_offers_typed_items_of_our_domain_only(
    ip: InteractiveShell, line: str, type_: str, expected: set[str]
) -> None:
    found = complete(ip, line)
    assert expected <= {text for text, kind, _ in found if kind == type_}, found
    assert {kind for _, kind, _ in found} <= OURS, found
    subcommands = set(ip.magics_manager.registry["StorageMagics"].commands)
    assert not {text for text, _, _ in found} - subcommands & PYTHON_WORDS, found  # no keywords or builtins
    assert not any(text.startswith("%") for text, _, _ in found), found
    word = line.split(" ")[-1]
    assert {start for _, _, start in found} == {len(line) - len(word)}  # the whole word is replaced


@pytest.mark.parametrize(
    "line", ["%storage load nomatch", "%storage snapshot ", "%storage load k -o ", "%storage bogus "]
)
def test_where_nothing_of_ours_fits_nothing_else_is_offered(ip: InteractiveShell, line: str) -> None:
    found = complete(ip, line)
    word = line.split(" ")[-1]
    assert found == [(word, "none", len(line) - len(word))]  # a no-op: the word as typed


@pytest.mark.parametrize(
    "line", ["%storage save k.json pri", "%storage save_bytes -q k.bin {'a': pri", "%storage save k "]
)
def test_a_python_expression_is_left_to_ipython(ip: InteractiveShell, line: str) -> None:
    ours = complete(ip, line)
    remove_completer(ip)
    try:
        assert ours == complete(ip, line)  # exactly what IPython offers without us
    finally:
        install_completer(ip, ip.magics_manager.registry["StorageMagics"])


def test_other_lines_are_untouched(ip: InteractiveShell) -> None:
    assert "print" in {text for text, _, _ in complete(ip, "pri")}
    assert "%storage" in {text for text, _, _ in complete(ip, "%stor")}


def test_every_completion_of_ours_is_typed(ip: InteractiveShell) -> None:
    for line, _, _ in POSITIONS:
        assert all(kind != "<unknown>" for _, kind, _ in complete(ip, line)), line
