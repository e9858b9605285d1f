"""Library diffs (no IPython): counts, tolerances, excludes, text diffs, snapshots, determinism across hash seeds."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perf_storage_nb import MemoryStorage, StorageKeyError, StorageValueError
from perf_storage_nb.diff import (
    diff_keys,
    diff_now,
    diff_scopes,
    diff_snapshots,
    diff_values,
    parse_tolerance,
    snapshot,
)

ROOT = Path(__file__).resolve().parents[2]


def test_counts_and_rows() -> None:
    result = diff_values({"a": 1, "b": [1, 2, 3], "c": {"x": 1}}, {"a": 2, "b": [1, 3], "c": {"y": 1}})
    assert (result.added, result.removed, result.changed) == (1, 2, 1)
    assert repr(result) == "DiffResult(added=1, removed=2, changed=1)"
    assert [c.path for c in result.changes] == ["root['a']", "root['b'][1]", "root['c']['x']", "root['c']['y']"]
    assert result.to_text().splitlines()[0] == "before -> after: 1 added, 2 removed, 1 changed"


def test_mostly_changed_dict_is_not_collapsed() -> None:
    # deepdiff's default threshold_to_diff_deeper=0.33 would report one opaque change of the whole dict.
    result = diff_values({"a": 1, "b": 2, "c": 3}, {"a": 9, "b": 8, "d": 3})
    assert [c.path for c in result.changes] == ["root['a']", "root['b']", "root['c']", "root['d']"]


def test_tolerances() -> None:
    before, after = {"p50": 100.0, "p99": 200.0, "n": 3}, {"p50": 104.0, "p99": 260.0, "n": 3}
    assert diff_values(before, after).changed == 2
    loose = diff_values(before, after, rel_tol="5%")
    assert (loose.changed, loose.tolerated) == (1, 1)
    assert loose.changes[0].note == "+30.0%"
    assert diff_values(before, after, abs_tol=100).changed == 0
    assert diff_values({"x": 1}, {"x": 1.0}).changes[0].note == "int -> float"
    assert parse_tolerance("5%") == 0.05 and parse_tolerance(0.1) == 0.1 and parse_tolerance(None) is None
    for bad in ("lots", "-1", "nan"):
        with pytest.raises(StorageValueError):
            parse_tolerance(bad)


def test_exclude_paths_exact_and_glob() -> None:
    before, after = {"t": {"ms": 1, "at": "x"}, "k": 1}, {"t": {"ms": 2, "at": "y"}, "k": 2}
    assert [c.path for c in diff_values(before, after, exclude_paths=["root['t']"]).changes] == ["root['k']"]
    assert [c.path for c in diff_values(before, after, exclude_paths=["*['at']"]).changes] == [
        "root['k']",
        "root['t']['ms']",
    ]


def test_strings_get_a_unified_diff() -> None:
    result = diff_values("<p>a</p>\n<p>b</p>\n", "<p>a</p>\n<p>c</p>\n", labels=("old.html", "new.html"))
    (change,) = result.changes
    assert change.text_diff[:2] == ("--- old.html", "+++ new.html")
    assert "-<p>b</p>" in change.text_diff and "+<p>c</p>" in change.text_diff
    assert "&lt;p&gt;c&lt;/p&gt;" in result._repr_html_() and "<p>c</p>" not in result._repr_html_()
    assert not diff_values("same", "same")


def test_html_escapes_and_has_badges() -> None:
    result = diff_values({"<k>": "<script>"}, {"<k>": "<img src=x onerror=y>"})
    page = result._repr_html_()
    assert "<script>" not in page and "<img" not in page
    assert "1 changed</span>" in page and "0 added</span>" in page
    assert page == diff_values({"<k>": "<script>"}, {"<k>": "<img src=x onerror=y>"})._repr_html_()  # no per-call ids


def test_diff_keys_across_sessions_and_missing() -> None:
    base = MemoryStorage("base", "t")
    cur = base.for_session("cur")
    base.save("m.json", {"p50": 10})
    cur.save("m.json", {"p50": 12})
    result = diff_keys(base, "m.json", cur)
    assert result.labels == ("memory:///base/t:m.json", "memory:///cur/t:m.json")
    assert result.changed == 1 and result.changes[0].note == "+20.0%"
    cur.save_string("only.txt", "x")
    assert diff_keys(base, "only.txt", cur).added == 1
    with pytest.raises(StorageKeyError):
        diff_keys(base, "nowhere", cur)


def test_snapshot_diff_groups_by_session_target_key() -> None:
    s = MemoryStorage("s", "t")
    s.save("keep", 1)
    s.save("change", {"a": 1})
    s.save("drop", 1)
    s.save_bytes("img", b"\x00\x01")
    before = snapshot([s, s.for_target("u")])
    assert before["s"]["t"]["keep"] == {"kind": "json", "hash": s.info("keep").hash, "size": 1, "value": 1}  # type: ignore[union-attr]
    assert "value" not in before["s"]["t"]["img"]
    s.save("change", {"a": 2})
    s.delete("drop")
    s.save_bytes("img", b"\x00\x02")
    s.for_target("u").save_string("new", "x")
    result = diff_snapshots(before, snapshot([s, s.for_target("u")]))
    assert [(c.group, c.kind) for c in result.changes] == [
        ("s/t/change", "changed"),
        ("s/t/drop", "removed"),
        ("s/t/img", "changed"),
        ("s/u/new", "added"),
    ]
    assert result.unchanged == 1
    assert diff_snapshots(before, before).changes == ()


def test_diff_scopes_loads_only_changed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    a = MemoryStorage("a", "t")
    b = a.for_session("b")
    for i in range(20):
        a.save(f"k{i}", i)
        b.save(f"k{i}", i)
    b.save("k3", 33)
    loaded: list[str] = []
    for storage in (a, b):
        original = storage.load_any
        monkeypatch.setattr(
            storage, "load_any", lambda key, default=None, _o=original: loaded.append(key) or _o(key, default)
        )
    result = diff_scopes(a, b)
    assert result.changed == 1 and result.unchanged == 19
    assert sorted(loaded) == ["k3", "k3"]


SCRIPT = r"""
import sys
from perf_storage_nb import MemoryStorage
from perf_storage_nb.diff import diff_values, diff_snapshots, snapshot
before = {"set": {"b", "a", 3, 1, "zz"}, "d": {f"k{i}": i for i in range(30)}, "text": "a\nb\nc\n"}
before["f"] = frozenset("xyz")
after = {"set": {"a", 2, "yy"}, "d": {f"k{i}": i * (i % 3) for i in range(30)}, "text": "a\nB\nc\n"}
after["f"] = frozenset("wx")
r = diff_values(before, after, rel_tol="1%")
s = MemoryStorage("s", "t")
s.save("x", {"v": [1, 2, 3], "w": {"q": 1}}); s.save_string("p.html", "<p>1</p>")
snap = snapshot(s)
s.save("x", {"v": [3, 2], "w": {"r": 1}}); s.save_string("p.html", "<p>2</p>"); s.save("y", 1)
r2 = diff_snapshots(snap, snapshot(s))
for _ in range(2):
    sys.stdout.write(r.to_text() + r._repr_html_() + repr(r) + r2.to_text() + r2._repr_html_())
"""


def test_output_is_byte_identical_across_hash_seeds() -> None:
    digests = set()
    for seed in ("0", "1", "42", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, env=env, check=True, cwd=ROOT).stdout
        assert out[: len(out) // 2] == out[len(out) // 2 :]  # the second call renders the same bytes
        digests.add(hashlib.sha256(out).hexdigest())
    assert len(digests) == 1


def test_importing_diff_does_not_import_deepdiff() -> None:
    code = "import sys, perf_storage_nb.diff; print('deepdiff' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert out.strip() == "False"


def test_two_targets_of_one_session_are_matched_by_key() -> None:
    t1 = MemoryStorage("s", "t1")
    t2 = t1.for_target("t2")
    t1.save("m.json", {"p50": 10})
    t2.save("m.json", {"p50": 11})
    t1.save("same.json", 1)
    t2.save("same.json", 1)
    result = diff_scopes(t1, t2)
    assert (result.added, result.removed, result.changed, result.unchanged) == (0, 0, 1, 1)
    assert result.changes[0].group == "m.json"


def test_one_session_each_is_matched_by_target_and_key() -> None:
    a = MemoryStorage("a", "t1")
    b = a.for_session("b")
    for s in (a, a.for_target("t2"), b, b.for_target("t2")):
        s.save("k", 1)
    b.for_target("t2").save("k", 2)
    result = diff_scopes([a, a.for_target("t2")], [b, b.for_target("t2")])
    assert [(c.group, c.kind) for c in result.changes] == [("t2/k", "changed")]


def test_kind_change_of_an_unrecorded_value_shows_hashes() -> None:
    s = MemoryStorage("s", "t")
    s.save_string("k", "x" * 50)
    before = snapshot(s, max_value_bytes=10)
    s.save("k", {"a": 1})
    result = diff_snapshots(before, snapshot(s, max_value_bytes=10))
    (change,) = result.changes
    assert change.note == "kind text -> json"
    assert str(change.before).startswith("<hash ") and str(change.after).startswith("<hash ")
    assert "object at 0x" not in result.to_text()
    assert result.to_dict()["changes"][0]["before"] == change.before
    json.dumps(result.to_dict())


class _CountingMemory(MemoryStorage):
    """Counts backend reads and stats."""

    reads = 0
    stats = 0

    def _read(self, key: str, hint: Any) -> Any:
        type(self).reads += 1
        return super()._read(key, hint)

    def _stat(self, key: str) -> Any:
        type(self).stats += 1
        return super()._stat(key)


def test_snapshot_reads_each_value_once() -> None:
    s = _CountingMemory("s", "t")
    s.save_string("a.txt", "x")
    s.save("b.json", 1)
    _CountingMemory.reads = _CountingMemory.stats = 0
    snap = snapshot(s)
    assert snap["s"]["t"]["a.txt"]["value"] == "x" and snap["s"]["t"]["b.json"]["value"] == 1
    assert (_CountingMemory.reads, _CountingMemory.stats) == (2, 2)


def test_diff_now_loads_only_changed_values() -> None:
    s = _CountingMemory("s", "t")
    for i in range(10):
        s.save_string(f"k{i}", str(i))
    before = snapshot(s)
    s.save_string("k3", "changed")
    _CountingMemory.reads = 0
    result = diff_now(before, s)
    assert result.changed == 1 and result.unchanged == 9
    assert _CountingMemory.reads == 1


def test_diff_keys_takes_labels() -> None:
    s = MemoryStorage("s", "t")
    s.save("a", 1)
    s.save("b", 2)
    assert diff_keys(s, "a", s, "b", labels=("A", "B")).labels == ("A", "B")
    with pytest.raises(StorageKeyError, match="neither A nor B"):
        diff_keys(s, "x", s, "y", labels=("A", "B"))
