"""The %storage subcommand registry: records found by import, usage and help generated, completion from the records."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb.errors import StorageKeyError
from perf_storage_nb.notebook import commands
from perf_storage_nb.notebook.commands import Arg, Command, CommandError, Complete
from perf_storage_nb.notebook.commands.registry import explain, load_commands
from perf_storage_nb.notebook.complete import wanted

#: the usage of every built-in subcommand, as `%storage help SUBCOMMAND` and usage errors show it
USAGES = {
    "use": "%storage use [WHERE] [SESSION/TARGET] [field=value ...] [-s SESSION] [-t TARGET]",
    "ls": "%storage ls [-l] [[SESSION/TARGET:]PREFIX|GLOB]",
    "sessions": "%storage sessions",
    "targets": "%storage targets [SESSION]",
    "browse": "%storage browse [SESSION[/TARGET] | *]",
    "save": "%storage save [-q] KEY EXPR   |   %%storage save [-q] KEY  (cell body = JSON)",
    "load": "%storage load KEY [-o VAR]",
    "save_string": "%storage save_string [-q] KEY EXPR   |   %%storage save_string [-q] KEY  (cell body verbatim)",
    "load_string": "%storage load_string KEY [-o VAR]",
    "save_bytes": "%storage save_bytes [-q] KEY EXPR",
    "load_bytes": "%storage load_bytes KEY [-o VAR]",
    "show": "%storage show KEY [--max-bytes N] [--height PX]",
    "info": "%storage info [KEY]",
    "rm": "%storage rm [-q] KEY [KEY ...]",
    "exists": "%storage exists KEY",
    "versions": "%storage versions NAME",
    "snapshot": "%storage snapshot NAME [SCOPE] [-o VAR]",
    "diff": "%storage diff [A] [B] [--against SESSION[/TARGET]] [--tol REL] [--abs-tol ABS] [--exclude PATTERN]..."
    "   |   %%storage diff [SCOPE] [--tol REL] [--abs-tol ABS] [--exclude PATTERN]...",
    "collect": "%storage collect KEY [--field F]... [--sessions A,B] [--versions] [-o VAR]",
    "compare": "%storage compare BASELINE [CANDIDATE] KEY [--field F]... [--tol REL] [--abs-tol ABS] [--alpha A] "
    "[--higher F]... [-o VAR]",
    "plot": "%storage plot KEY FIELD [--sessions A,B] [--kind auto|points|strip] [-o VAR]",
    "matrix": "%storage matrix BASELINE [CANDIDATE] [--prefix PREFIX] [--stages S1,S2] [--browse] [-o VAR]",
    "gate": "%%storage gate --against BASELINE KEY [--field F]... [--tol REL] [--abs-tol ABS] [--alpha A] "
    "[--higher F]...",
    "capture": "%%storage capture [-q] KEY",
    "cp": "%storage cp SRC DST [-n] [--checksum] [--progress]",
    "sync": "%storage sync [SRC] DST [-s SESSION]... [-n] [--delete] [--checksum] [--progress]",
    "help": "%storage help [SUBCOMMAND]",
}


def test_usage_lines_are_generated_from_the_parsers() -> None:
    found = load_commands()
    assert list(found) == list(USAGES)  # help order: navigation, values, diffing, analysis, capture, transfer, help
    assert {name: command.usage for name, command in found.items()} == USAGES


def test_every_record_is_complete() -> None:
    for name, command in load_commands().items():
        assert command.name == name and command.summary and "\n" not in command.summary
        assert command.line is not None or command.cell is not None
        for form in (False, True):
            command.parser(cell=form)  # builds


@pytest.mark.parametrize(
    ("name", "before", "expected"),
    [
        ("load", [], (Complete.KEY,)),
        ("load", ["k", "-o"], ()),  # -o takes a variable name: nothing to offer
        ("load", ["k", "-o", "v"], (Complete.KEY,)),
        ("save", ["-q"], (Complete.KEY,)),
        ("save", ["-q", "k"], (Complete.PYTHON,)),  # the expression: IPython's own completion
        ("rm", ["a", "b"], (Complete.KEY,)),
        ("ls", ["-l"], (Complete.PREFIX,)),
        ("snapshot", [], ()),  # the new snapshot's name
        ("snapshot", ["base"], (Complete.SCOPE,)),
        ("diff", [], (Complete.SNAPSHOT, Complete.KEY)),
        ("diff", ["k", "--against"], (Complete.SCOPE,)),
        ("diff", ["k", "--tol", "5%"], (Complete.SNAPSHOT, Complete.KEY)),
        ("use", ["-t"], (Complete.TARGET,)),
        ("use", ["-s"], (Complete.SESSION,)),
        ("use", [], (Complete.BACKEND, Complete.SESSION_TARGET)),
        ("use", ["memory://"], (Complete.SESSION_TARGET,)),
        ("save", ["k"], (Complete.PYTHON,)),
        ("targets", [], (Complete.SESSION,)),
        ("capture", ["-q"], (Complete.KEY,)),
        ("sessions", [], ()),
        ("help", [], ()),
    ],
)
def test_what_each_position_completes(name: str, before: list[str], expected: tuple[Complete, ...]) -> None:
    assert wanted(load_commands()[name], before) == expected


def test_explain_adds_the_usage_to_mistakes_only() -> None:
    found = load_commands()
    assert explain(found, "load", CommandError("no key 'k'")) == "no key 'k'; usage: %storage load KEY [-o VAR]"
    assert explain(found, "load", CommandError("plain", usage=False)) == "plain"
    assert explain(found, "load", StorageKeyError("gone\n  away")) == "load: gone away"


def test_two_records_with_one_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "psnb_dup_commands"
    package.mkdir()
    (package / "__init__.py").write_text("")
    record = 'from perf_storage_nb.notebook.commands import Command\nX = Command("dup", "d.", line=print)\n'
    (package / "one.py").write_text(record)
    (package / "two.py").write_text(record)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(RuntimeError, match="two %storage subcommands are named 'dup'"):
            load_commands("psnb_dup_commands")
    finally:
        for name in [m for m in sys.modules if m.startswith("psnb_dup_commands")]:
            del sys.modules[name]


# ---- one new record in one new file: dispatched, listed in help, completed ---------------------------------------
THROWAWAY = textwrap.dedent(
    '''
    """A subcommand that exists only for this test."""

    from perf_storage_nb.notebook.commands import Arg, Command, Complete


    def _hello(ctx, args):
        storage, key = ctx.key(args.key)
        if not storage.exists(key):
            raise ctx.missing(storage, key)
        return f"hello {key}" + ("!" if args.loud else "")


    HELLO = Command(
        "hello",
        "Greet a stored key.",
        args=(Arg("key", metavar="KEY", complete=Complete.KEY), Arg("--loud", flag=True)),
        line=_hello,
    )
    '''
)


@pytest.fixture
def shell_with_hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    (tmp_path / "zz_hello.py").write_text(THROWAWAY)
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    if "perf_storage_nb" in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", "perf_storage_nb")
    ip.run_line_magic("load_ext", "perf_storage_nb")
    try:
        ip.run_line_magic("config", "StorageMagics.feedback = 0")
        ip.run_line_magic("storage", "use memory://psnbhello -s s -t t")
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "perf_storage_nb")
        sys.modules.pop(f"{commands.__name__}.zz_hello", None)


def test_a_record_in_a_new_module_is_all_a_subcommand_needs(shell_with_hello: InteractiveShell) -> None:
    ip = shell_with_hello
    ip.run_line_magic("storage", "save greeting.json 1")
    assert ip.run_line_magic("storage", "hello greeting.json --loud") == "hello greeting.json!"
    assert "  hello        Greet a stored key." in ip.run_line_magic("storage", "help").text
    assert ip.run_line_magic("storage", "help hello").text.startswith("%storage hello KEY [--loud]\n")
    assert ip.run_line_magic("storage", "hello -h").text == ip.run_line_magic("storage", "help hello").text
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("storage", "hello nope")
    assert str(info.value).endswith("(%storage ls lists the keys); usage: %storage hello KEY [--loud]")
    with pytest.raises(UsageError, match="has no cell form"):
        ip.run_cell_magic("storage", "hello greeting.json", "x")
    assert _completions(ip, "%storage hel") == ["hello", "help"]  # a new record is completed like the others
    assert _completions(ip, "%storage hello gre") == ["greeting.json"]


def _completions(ip: InteractiveShell, line: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(line, len(line))]


def test_arguments_build_the_parser() -> None:
    command = Command(
        "demo",
        "Demo.",
        args=(
            Arg("names", metavar="NAME", nargs="+"),
            Arg("-n", "--number", metavar="N", type=int, default=3),
            Arg("--tag", metavar="TAG", repeat=True),
            Arg("--secret", hidden=True),
        ),
        line=print,
    )
    args = command.parser().parse_args(["a", "b", "--tag", "x", "--tag", "y", "--secret", "s"])
    assert (args.names, args.number, args.tag, args.secret) == (["a", "b"], 3, ["x", "y"], "s")
    assert command.usage == "%storage demo NAME [NAME ...] [-n N] [--tag TAG]..."
    with pytest.raises(CommandError, match="invalid int value"):
        command.parser().parse_args(["a", "-n", "many"])
