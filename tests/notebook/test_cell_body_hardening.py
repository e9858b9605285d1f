"""A ``%%storage`` cell body is data, never Python (#11 item 1): stored verbatim, no exception, any cell form.

Everything runs through ``InteractiveShell.run_cell`` (the path a notebook cell takes), not ``run_cell_magic``:
the TokenError came from IPython's code around the magic call, after the value was stored.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import MemoryStorage

_ids = itertools.count()


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.history_manager.enabled = False
    shell.run_line_magic("load_ext", "perf_storage_nb")
    shell.run_line_magic("config", "StorageMagics.feedback = 0")
    yield shell
    shell.run_line_magic("unload_ext", "perf_storage_nb")


@pytest.fixture
def store(ip: InteractiveShell) -> MemoryStorage:
    storage = MemoryStorage(f"cells{next(_ids)}", "t")
    ip.user_ns["_cells_store"] = storage
    ip.run_line_magic("storage", "use _cells_store")
    return storage


def run(ip: InteractiveShell, code: str) -> Any:
    """Run a cell as a notebook does; fail the test with the cell's own error."""
    result = ip.run_cell(code, store_history=False)
    error = result.error_before_exec or result.error_in_exec
    assert error is None, f"{type(error).__name__}: {error}"
    return result.result


def as_cell_body(body: str) -> str:
    """What IPython hands a cell magic: the body, ending in a newline (IPython adds one when it is missing)."""
    return body if body.endswith("\n") else body + "\n"


REPORTED = "It's 20% faster than yesterday's run (see report."


def test_the_reported_text_is_stored_and_the_cell_succeeds(ip: InteractiveShell, store: MemoryStorage) -> None:
    run(ip, f"%%storage save_string notes.md\n{REPORTED}")
    assert store.load_string("notes.md") == REPORTED + "\n"


def test_a_json_body_nested_250_deep_is_stored(ip: InteractiveShell, store: MemoryStorage) -> None:
    deep = "[" * 250 + "]" * 250  # Python's tokenizer stops at 200 open brackets; JSON has no such limit
    run(ip, f"%%storage save deep.json\n{deep}")
    assert json.dumps(store.load("deep.json"), separators=(",", ":")) == deep


def test_a_json_body_deeper_than_python_can_parse_is_a_usage_error(ip: InteractiveShell, store: MemoryStorage) -> None:
    with pytest.raises(UsageError) as info:
        ip.run_cell_magic("storage", "save deep.json", "[" * 100_000 + "]" * 100_000)
    assert type(info.value) is UsageError and "nests too deeply" in str(info.value) and "\n" not in str(info.value)
    assert not store.exists("deep.json")


@pytest.mark.parametrize(
    ("line", "body"),
    [
        ("save_string notes.md", "unclosed ( [ { ' \" ''' %%"),
        ("save cfg.json", "[" * 210 + '"it\'s (open"' + "]" * 210),
        # capture and diff run their body: IPython syntax (here %env) that Python's tokenizer cannot read
        ("capture page.html", "print('done')\n%env PSNB_NOTE=it's (open"),
        ("diff", "%storage save_string -q x.txt 'a'\n%env PSNB_NOTE=it's (open"),
    ],
    ids=["save_string", "save", "capture", "diff"],
)
def test_every_cell_form_ignores_its_body_for_silencing(
    ip: InteractiveShell, store: MemoryStorage, line: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PSNB_NOTE", "")  # %env in the bodies sets it; restored after the test
    run(ip, f"%%storage {line}\n{body}")
    assert store.list_keys() != []


ECHO = """
from perf_storage_nb.notebook.commands import Arg, Command


def _echo(ctx, args, body):
    return body


ECHO = Command("echo_body", "Return the cell body.", args=(Arg("-x", flag=True),), cell=_echo)
"""


def test_a_new_cell_form_gets_the_same_guarantee(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from perf_storage_nb.notebook import commands

    (tmp_path / "zz_echo.py").write_text(ECHO)
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    shell = InteractiveShell.instance()
    shell.run_line_magic("reload_ext", "perf_storage_nb")  # the record is found when the magics load
    try:
        assert run(shell, f"%%storage echo_body\n{REPORTED}") == REPORTED + "\n"
    finally:
        monkeypatch.undo()
        sys.modules.pop(f"{commands.__name__}.zz_echo", None)
        shell.run_line_magic("reload_ext", "perf_storage_nb")
        shell.run_line_magic("config", "StorageMagics.feedback = 0")


def test_the_body_never_silences_but_the_magic_line_does(ip: InteractiveShell, store: MemoryStorage) -> None:
    # run_cell_magic is what the cell `%%storage diff\n...` turns into; its return value is what gets displayed.
    shown = ip.run_cell_magic("storage", "diff", "%storage save_string -q y.txt 'b';\n")
    assert shown is not None and shown.added == 1  # a ';' at the end of the body is the body's business
    assert ip.run_cell_magic("storage", "diff;", "%storage save_string -q z.txt 'c'\n") is None
    assert store.exists("z.txt")


def test_semicolon_silences_the_line_magic(ip: InteractiveShell, store: MemoryStorage) -> None:
    store.save("k", {"a": 1})
    assert run(ip, "%storage load k") == {"a": 1}
    assert run(ip, "%storage load k;") is None
    assert run(ip, "%storage load k ;") is None
    assert run(ip, "x = %storage load k\nx") == {"a": 1}


# ---- hypothesis: any body --------------------------------------------------------------------------------------
_PIECES = st.sampled_from(
    ["'", '"', "'''", "(", ")", "[", "]", "{", "}", "%", "%%", ";", "\\", "#", "\r\n", "\r", "\n", "\t", "é", "✓",
     "\u2028", "\x0c", "\x00", " ", "\ufeff", "$x", "{x}", "!ls"]
)  # fmt: skip
_BODIES = st.one_of(
    st.text(min_size=1, max_size=200).filter(lambda s: s.strip() != ""),
    st.lists(st.one_of(_PIECES, st.text(max_size=8)), min_size=1, max_size=40).map("".join),
    st.integers(201, 400).map(lambda n: "[" * n),  # unbalanced and deeper than Python's tokenizer goes
    st.text(min_size=1, max_size=50).map(lambda s: s + ";"),
).filter(lambda s: s.strip() != "")  # an all-blank body is IPython's "cell body is empty" UsageError


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES)
def test_any_body_is_stored_verbatim(ip: InteractiveShell, store: MemoryStorage, body: str) -> None:
    run(ip, f"%%storage save_string any.txt\n{body}")
    assert store.load_string("any.txt") == as_cell_body(body)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES)
def test_any_body_of_a_json_cell_is_stored_or_a_one_line_usage_error(
    ip: InteractiveShell, store: MemoryStorage, body: str
) -> None:
    store.delete("any.json")
    result = ip.run_cell(f"%%storage save any.json\n{body}", store_history=False)
    error = result.error_before_exec or result.error_in_exec
    if error is None:
        assert store.load("any.json") == json.loads(as_cell_body(body))
    else:
        assert type(error) is UsageError and "\n" not in str(error)
        assert not store.exists("any.json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_semicolon_still_silences_any_line(ip: InteractiveShell, store: MemoryStorage, value: str) -> None:
    store.save_string("t.txt", value)
    assert run(ip, "%storage load_string t.txt") == value
    assert run(ip, "%storage load_string t.txt;") is None
