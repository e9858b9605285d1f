"""Any text as a command-line address: exit 0 or 2 (never a crash or a backend error), one line, nothing written.

Runs ``perf_storage_nb.cli.main`` in-process (the same function the console script calls) so hypothesis can try
many inputs; the subprocess tests in test_cli.py cover the real entry point.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_storage_nb import LocalStorage
from perf_storage_nb.cli import main

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=40
) | st.from_regex(r"[A-Za-z0-9_./:#*@ -]{0,30}", fullmatch=True)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-input") / "perf_results"
    s = LocalStorage("exp1", "item_001", root=root)
    s.save("m.json", {"a": 1})
    s.save_string("t.txt", "x")
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=_text, command=st.sampled_from(["ls", "cat", "info", "targets", "cp-dry", "diff", "rm-dry"]))
def test_any_address_exits_0_or_2_in_one_line_and_writes_nothing(
    store: Path, capsys: pytest.CaptureFixture[str], address: str, command: str
) -> None:
    before = _tree(store)
    argv = {
        "cp-dry": ["cp", address, "copy/t", "--dry-run"],
        "rm-dry": ["rm", "-r", address, "--dry-run"],
        "diff": ["diff", address, "exp1/item_001:m.json"],
    }.get(command, [command, address])
    code = main([*argv, "-L", str(store), "--no-progress"] if command == "cp-dry" else [*argv, "-L", str(store)])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err)
    if code == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("perf-storage"), (argv, err)
    assert _tree(store) == before
