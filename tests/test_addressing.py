"""perf_storage_nb.addressing: references as text (keys, scopes, snapshots, addresses), without IPython."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perf_storage_nb import MemoryStorage
from perf_storage_nb.addressing import (
    Address,
    KeyRef,
    Scope,
    check_snapshot_name,
    expand_vars,
    is_snapshot,
    parse_address,
    parse_key_ref,
    parse_scope,
    parse_snapshot,
    scope_storages,
)
from perf_storage_nb.errors import StorageError, StorageNameError


def test_key_refs() -> None:
    assert parse_key_ref("results/m.json") == KeyRef("results/m.json")
    assert parse_key_ref("exp1/run1:results/m.json") == KeyRef("results/m.json", "exp1", "run1")
    assert parse_key_ref("exp1/run1:", prefix=True) == KeyRef("", "exp1", "run1")
    assert parse_key_ref("res", prefix=True) == KeyRef("res")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a/b/c:k", "write SESSION/TARGET:KEY"),
        ("exp1:k", "write SESSION/TARGET:KEY"),
        ("bad id/t:k", "bad scope in 'bad id/t:k'"),
        ("../k", "invalid key"),
        ("s/t:", "invalid key"),
    ],
)
def test_key_ref_mistakes_name_the_problem_and_the_form(text: str, needle: str) -> None:
    with pytest.raises(StorageNameError, match=needle) as info:
        parse_key_ref(text)
    assert isinstance(info.value, StorageError) and isinstance(info.value, ValueError)


def test_scopes() -> None:
    assert parse_scope("exp1") == Scope("exp1")
    assert parse_scope(" exp1/run1 ") == Scope("exp1", "run1")
    assert parse_scope("*") == parse_scope("*/*") == Scope(None)
    assert [Scope(None).label(), Scope("s").label(), Scope("s", "t").label()] == ["*", "s", "s/t"]
    with pytest.raises(StorageNameError, match="more than one '/'; write SESSION, SESSION/TARGET or"):
        parse_scope("a/b/c")
    with pytest.raises(StorageNameError, match="bad scope 'a b'"):
        parse_scope("a b")


def test_general_address_form() -> None:
    assert parse_address("exp1") == Address("exp1")
    assert parse_address("exp1/run1") == Address("exp1", "run1")
    assert parse_address("exp1/run1:results/") == Address("exp1", "run1", "results/")
    assert parse_address("exp1:") == Address("exp1", None, "")
    assert parse_address("exp1/run1:k.json", prefix=False).label() == "exp1/run1:k.json"
    assert parse_address("exp1/run1:k").scope() == Scope("exp1", "run1")
    for bad in ("", ":k", "a/b/c", "a b/t"):
        with pytest.raises(StorageNameError, match=r"SESSION\[/TARGET\]\[:KEY-OR-PREFIX\]"):
            parse_address(bad)
    with pytest.raises(StorageNameError, match="invalid key"):
        parse_address("s/t:../x", prefix=False)


def test_snapshots() -> None:
    assert is_snapshot("@base") and not is_snapshot("base")
    assert parse_snapshot("@run-1.b") == "run-1.b"
    assert check_snapshot_name("base") == "base"
    with pytest.raises(StorageNameError, match="must be a simple name"):
        parse_snapshot("@a/b")
    with pytest.raises(StorageNameError, match="write @NAME"):
        parse_snapshot("base")


def test_expand_vars_looks_in_the_namespaces_in_order() -> None:
    assert expand_vars("out/{run}.json", [{"run": 7}, {"run": 8}]) == "out/7.json"
    assert expand_vars("out/{run}.json", [{}, {"run": 8}]) == "out/8.json"
    assert expand_vars("no braces", []) == "no braces"
    with pytest.raises(StorageNameError, match="{nope} in 'k/{nope}' names no variable"):
        expand_vars("k/{nope}", [{}])


def test_scope_storages_resolves_against_a_storage() -> None:
    base = MemoryStorage("sa", "t1", name="addressing-test")
    base.for_target("t2").save("k", 1)
    base.for_session("sb", "t1").save("k", 1)
    assert [(s.session_id, s.target_id) for s in scope_storages(base)] == [("sa", "t1"), ("sa", "t2")]
    assert [(s.session_id, s.target_id) for s in scope_storages(base, Scope("sb"))] == [("sb", "t1")]
    everything = [(s.session_id, s.target_id) for s in scope_storages(base, Scope(None))]
    assert everything == [("sa", "t1"), ("sa", "t2"), ("sb", "t1")]


def test_addressing_does_not_import_ipython() -> None:
    code = "import sys, perf_storage_nb.addressing; print('IPython' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
