"""User mistakes in ``%storage`` lines (#11): one-line UsageErrors naming the problem and the accepted form, typo
suggestions, nothing written, the magics still usable; a warning where text was probably meant; bytes magics.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import BaseStorage, MemoryStorage
from perf_storage_nb.notebook.commands.registry import load_commands

_ids = itertools.count()
COMMANDS = load_commands()
EXAMPLES = int(os.environ.get("PSNB_LINE_EXAMPLES", "100"))  # per subcommand; raise it for a longer hunt


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "perf_storage_nb")
    ip.run_line_magic("config", "StorageMagics.feedback = 0")
    yield ip
    ip.run_line_magic("unload_ext", "perf_storage_nb")
    for name in ("_in_store", "v", "blob"):
        ip.user_ns.pop(name, None)


def fresh(ip: InteractiveShell) -> MemoryStorage:
    store = MemoryStorage(f"in{next(_ids)}", "t")
    store.save("k", {"a": 1})
    store.save_string("notes.md", "# hi\n")
    store.save_bytes("shot.png", b"\x89PNG\r\n")
    store.for_target("t2").save("other.json", [1])
    ip.user_ns["_in_store"] = store
    ip.run_line_magic("storage", "use _in_store")
    return store


@pytest.fixture
def ip(shell: InteractiveShell) -> InteractiveShell:
    fresh(shell)
    return shell


def m(ip: InteractiveShell, line: str) -> Any:
    return ip.run_line_magic("storage", line)


def usage_error(ip: InteractiveShell, line: str) -> str:
    with pytest.raises(UsageError) as info:
        m(ip, line)
    assert type(info.value) is UsageError and "\n" not in str(info.value)
    return str(info.value)


# ---- point 5: typos ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("sve k 1", "unknown subcommand 'sve'; did you mean save?"),
        ("lod k", "unknown subcommand 'lod'; did you mean load?"),
        ("snapshto base", "unknown subcommand 'snapshto'; did you mean snapshot?"),
        ("help sve", "unknown subcommand 'sve'; did you mean save?"),
        ("load k --ot v", "unknown option '--ot'; did you mean --out?"),
        ("ls --lng", "unknown option '--lng'; did you mean --long?"),
        ("show k --max-byte 3", "unknown option '--max-byte'; did you mean --max-bytes?"),
        ("diff a b --tolerance 5%", "unknown option '--tolerance'; did you mean --tol?"),
        ("rm --quite k", "unknown option '--quite'; did you mean --quiet?"),
    ],
)
def test_typos_get_a_suggestion(ip: InteractiveShell, line: str, expected: str) -> None:
    assert usage_error(ip, line).startswith(expected)


def test_nothing_close_lists_what_exists(ip: InteractiveShell) -> None:
    assert "subcommands: use, ls," in usage_error(ip, "xyzzy")
    assert "(options: -o, --out)" in usage_error(ip, "load k --zzz")


def test_a_missing_name_is_called_what_the_usage_calls_it(ip: InteractiveShell) -> None:
    message = usage_error(ip, "versions")
    assert message == "the following arguments are required: NAME; usage: %storage versions NAME"
    for name, command in COMMANDS.items():
        if command.line is None:
            continue
        required = [a for a in command.args if not a.is_option and a.nargs is None and a.metavar]
        if required and name not in ("save", "save_string", "save_bytes"):  # KEY EXPR: 'needs KEY and a value'
            assert required[0].metavar in usage_error(ip, name), name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from([n for n in COMMANDS if len(n) >= 4]), data=st.data())
def test_a_one_letter_slip_in_a_subcommand_is_caught(ip: InteractiveShell, name: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(name) - 1))
    slip = data.draw(st.sampled_from(["drop", "swap"]))
    typo = name[:i] + name[i + 1 :] if slip == "drop" else name[:i] + name[i + 1 : i + 2] + name[i] + name[i + 2 :]
    if typo in COMMANDS:
        return
    assert f"unknown subcommand {typo!r}; did you mean {name}?" in usage_error(ip, f"{typo} x")


# ---- point 7: text where text was meant; bytes --------------------------------------------------------------
def test_a_json_string_under_a_text_key_warns_once_pointing_to_save_string(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    store = fresh(ip)
    capsys.readouterr()
    m(ip, "save summary.md '# Results\\nfaster'")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Warning: 'summary.md' now holds a JSON string")
    assert "%storage save_string summary.md" in err
    assert store.load("summary.md") == "# Results\nfaster"  # still stored as asked
    ip.run_cell_magic("storage", "save report.html", '"<p>x</p>"')
    assert "%%storage save_string report.html" in capsys.readouterr().err
    for line in ("save data.json 'text'", "save summary.md {'a': 1}", "save_string summary.md 'text'"):
        m(ip, line)
        assert capsys.readouterr().err == "", line


def test_save_bytes_and_load_bytes(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    store = fresh(ip)
    ip.user_ns["blob"] = bytes(range(256))
    ip.run_line_magic("config", "StorageMagics.feedback = 1")
    try:
        capsys.readouterr()
        m(ip, "save_bytes img/raw.bin blob")
        assert "Saved 'img/raw.bin' (bytes, 256 B)" in capsys.readouterr().out
    finally:
        ip.run_line_magic("config", "StorageMagics.feedback = 0")
    assert store.load_bytes("img/raw.bin") == bytes(range(256))
    assert m(ip, "load_bytes img/raw.bin") == bytes(range(256))
    m(ip, "save_bytes -q b2.bin bytearray(b'ab') + b'c'")
    assert m(ip, "load_bytes b2.bin -o v") is None and ip.user_ns["v"] == b"abc"
    assert "is a str, not bytes; for text use save_string" in usage_error(ip, "save_bytes b3.bin 'text'")
    assert "holds json" in usage_error(ip, "load_bytes k")
    assert "no key 'missing.bin'" in usage_error(ip, "load_bytes missing.bin")
    assert not store.exists("b3.bin")


def test_a_reserved_variable_name_is_refused(ip: InteractiveShell) -> None:
    assert "names like __name__ belong to Python" in usage_error(ip, "load k -o __builtins__")
    assert "Python variable name, not 'if'" in usage_error(ip, "load k -o if")
    assert m(ip, "load k") == {"a": 1}  # the namespace is intact


def test_deep_values_diff_in_every_form(ip: InteractiveShell) -> None:
    """#11 item 6: values nested 300 deep (any the storage holds) diff; deepdiff's recursion no longer limits them
    (the library's limit, codec.MAX_DEPTH, is tested in tests/notebook/test_diff_deep.py)."""
    store = fresh(ip)
    store.save("d1.json", DEEP)
    store.save("d2.json", [DEEP])
    assert len(m(ip, "diff d1.json d2.json").changes) == 1  # one row: [] -> [[]] at the innermost level
    m(ip, "snapshot deep_before")
    store.save("d1.json", [[DEEP]])
    assert len(m(ip, "diff @deep_before").changes) == 1
    ip.user_ns["deep"] = DEEP
    result = ip.run_cell_magic("storage", "diff", "_in_store.save('d2.json', [[[deep]]])\n")
    assert len(result.changes) == 1


# ---- point 8: any line, any subcommand ------------------------------------------------------------------------
_WORDS = st.sampled_from(
    [
        "k", "notes.md", "shot.png", "missing", "a/b", "a/b/c", "in0/t2:other.json", "s/t:", "*.json", "results/*",
        "@base", "@nosnap", "*", "-q", "-l", "-o", "v", "1bad", "if", "--out", "--long", "--tol", "5%", "lots", "-5",
        "--abs-tol", "--exclude", "--against", "--max-bytes", "0", "--", "-s", "-t", "x=1", "backend=memory",
        "memory://", "memory://[x", "nosuch://x", "redis", "{v}", "{missing}", "{'backend': 'memory'}", "{1, 2}",
        "'unclosed", '"', "1", "[[[", "None", "float('nan')", "b'x'", "'text'", "{'a': [1, 2]}", "_in_store", ";",
        "é", "..", "./", "~", "%", "=", ":", "@", "[", "]", "?", "deep", "[deep]", "__builtins__", "deep.json",
    ]
)  # fmt: skip
# Free text: no '*' or '(' (an expression word must not be able to compute 9**9**9 or call anything), no URL.
_FREE = st.text(alphabet=st.characters(blacklist_characters="*(\x00", blacklist_categories=("Cs",)), max_size=12)
_LINES = st.lists(st.one_of(_WORDS, _FREE), max_size=6).map(" ".join)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = _nested(300)  # valid JSON, deeper than deepdiff alone could recurse (#11 item 6)


def _contents(storage: BaseStorage) -> dict[tuple[str, str, str], str]:
    out = {}
    for session in storage.sessions():
        for target in storage.targets(session):
            sibling = storage.for_session(session, target)
            for key in sibling.list_keys():
                info = sibling.info(key)
                assert info is not None
                out[(session, target, key)] = info.hash
    return out


@pytest.mark.parametrize("name", [n for n, c in COMMANDS.items() if c.line is not None])
def test_any_line_is_a_result_or_a_one_line_usage_error(
    shell: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)  # `use ./x` or `use ~`-like words build local storages here

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rest=_LINES)
    def run(rest: str) -> None:
        if "://" in rest.replace("memory://", "").replace("nosuch://", ""):
            return  # never a network URL (free text could spell http://...)
        seen.append(rest)
        store = fresh(shell)
        shell.user_ns["v"] = "value"
        shell.user_ns["deep"] = DEEP
        store.save("deep.json", DEEP)
        m(shell, "snapshot base")
        before = _contents(store)
        try:
            m(shell, f"{name} {rest}")
        except UsageError as exc:
            assert type(exc) is UsageError, exc
            assert "\n" not in str(exc) and str(exc).strip(), exc
            assert _contents(store) == before  # nothing written, nothing deleted
        assert m(shell, "exists k") in (True, False)  # the magics still work

    seen: list[str] = []
    run()
    assert len(seen) >= 20  # the examples really ran


README = Path(__file__).resolve().parents[2] / "README.md"
README_MISTAKES = [
    "sve results/m.json 1",
    "load results/m.json --ot m",
    "use redis",
    "load missing.json",
    "save results/m.json {1, 2}",
]


@pytest.mark.parametrize("line", README_MISTAKES)
def test_the_readme_shows_real_error_lines(shell: InteractiveShell, line: str) -> None:
    shell.run_line_magic("storage", "use memory:// exp1/run1")
    try:
        message = usage_error(shell, line)
    finally:
        fresh(shell)
    assert f"UsageError: {message}\n" in README.read_text(encoding="utf-8")
