"""Diffs of deeply nested values: any two values the storage holds (codec.MAX_DEPTH levels) diff; deeper ones fail
with a StorageValueError naming the limit (issue 11, item 6: deepdiff raised RecursionError at 300 levels)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.interactiveshell import InteractiveShell

from perf_storage_nb import LocalStorage, StorageError, StorageValueError
from perf_storage_nb.codec import MAX_DEPTH
from perf_storage_nb.diff import diff_snapshots, diff_values, snapshot
from perf_storage_nb.diff.deep import depths
from perf_storage_nb.diff.engine import value_changes
from perf_storage_nb.diff.show import SHOW_MAX, show_value, stable
from perf_storage_nb.display import clip

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)
# Python values a diff may be handed directly (not only what the storage holds): sets, tuples, bytes, NaN, int keys.
PYTHON = st.recursive(
    LEAVES | st.floats() | st.binary(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 9), inner, max_size=3)
        | st.frozensets(st.integers(0, 5) | st.text(max_size=2), max_size=3)
    ),
    max_leaves=12,
)


def _rows(before: Any, after: Any, **opts: Any) -> list[tuple[str, str, str, str, str, tuple[str, ...]]]:
    rows, tolerated = value_changes(
        before,
        after,
        group="g",
        labels=("a", "b"),
        rel_tol=opts.pop("rel_tol", None),
        abs_tol=None,
        exclude_paths=opts.pop("exclude_paths", ()),
        **opts,
    )
    out = [(c.path, c.kind, show_value(c.before), show_value(c.after), c.note, c.text_diff) for c in rows]
    return sorted(out) + [("tolerated", str(tolerated), "", "", "", ())]


@st.composite
def _mutated(draw: st.DrawFn, base: st.SearchStrategy[Any] = JSON) -> tuple[Any, Any]:
    """A value and a copy changed at a few random places (leaves replaced, keys added or dropped, items appended)."""
    before = draw(base)
    after = json.loads(json.dumps(before))
    stack: list[Any] = [after] if isinstance(after, (dict, list)) else []
    if not stack and draw(st.booleans()):
        after = draw(LEAVES)
    while stack:
        node = stack.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, child in items:
            roll = draw(st.integers(0, 9))
            if roll == 0:
                node[key] = draw(LEAVES)
            elif roll == 1 and isinstance(node, dict):
                del node[key]
            elif isinstance(child, (dict, list)):
                stack.append(child)
        if draw(st.integers(0, 5)) == 0:
            if isinstance(node, dict):
                node[draw(st.text(max_size=3))] = draw(LEAVES)
            else:
                node.append(draw(LEAVES))
    return before, after


@given(pair=_mutated() | st.tuples(JSON, JSON))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_split_walk_gives_exactly_the_rows_of_one_deepdiff_call(pair: tuple[Any, Any]) -> None:
    """Split at every level (shallow=1) or never (deepdiff whole): the same rows, paths, values and notes."""
    before, after = pair
    assert _rows(before, after, shallow=1) == _rows(before, after, shallow=10**9)
    assert _rows(before, after, shallow=1, rel_tol=0.5) == _rows(before, after, shallow=10**9, rel_tol=0.5)


@given(pair=_mutated())
@settings(max_examples=100, deadline=None)
def test_split_walk_honours_deepdiff_excludes(pair: tuple[Any, Any]) -> None:
    before, after = pair
    whole = _rows(before, after, shallow=10**9)
    for path, *_ in whole[:-1][:2]:
        excludes = [path]
        assert _rows(before, after, shallow=1, exclude_paths=excludes) == _rows(
            before, after, shallow=10**9, exclude_paths=excludes
        )


def _spine(depth: int, kinds: list[bool], siblings: list[Any], leaf: Any) -> tuple[Any, list[Any]]:
    """A value ``depth`` containers deep (dict or list per level, a shallow sibling at each, none nesting deeper
    than the spine), built without recursion; returns it and the path parts to the innermost leaf."""
    value, parts = leaf, []
    sizes = depths(*siblings)
    for level in reversed(range(depth)):
        sibling = siblings[level % len(siblings)]
        if level + 1 + sizes.get(id(sibling), 0) > depth:
            sibling = level  # a leaf: the sibling would nest deeper than the value should

        if kinds[level % len(kinds)]:
            value, step = {"next": value, "side": sibling}, "next"
        else:
            value, step = [sibling, value], 1
        parts.append(step)
    return value, parts[::-1]


def _walk(value: Any, parts: list[Any]) -> Any:
    for step in parts:
        value = value[step]
    return value


@given(
    depth=st.integers(0, MAX_DEPTH),
    kinds=st.lists(st.booleans(), min_size=1, max_size=7),
    siblings=st.lists(JSON, min_size=1, max_size=4),
    leaves=st.tuples(LEAVES, LEAVES),
    at=st.floats(0, 1),
    how=st.sampled_from(["leaf", "sibling", "add", "same"]),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_any_two_values_the_storage_holds_diff(
    depth: int, kinds: list[bool], siblings: list[Any], leaves: tuple[Any, Any], at: float, how: str
) -> None:
    """Nested up to MAX_DEPTH levels with random leaves: the diff finds exactly the change that was made."""
    before, parts = _spine(depth, kinds, siblings, leaves[0])
    after = json.loads(json.dumps(before))  # the storage's own round trip; also an independent copy
    level = min(depth, int(at * depth))
    node = _walk(after, parts[:level])
    expected: tuple[str, Any, Any] | None = None
    differ = leaves[0] != leaves[1] or type(leaves[0]) is not type(leaves[1])  # deepdiff: 0.0 == -0.0, 1 != True
    if how == "leaf" and depth and differ:
        _walk(after, parts[:-1])[parts[-1]] = leaves[1]
        expected = ("changed", leaves[0], leaves[1])
    elif how == "sibling" and level < depth:
        side = "side" if isinstance(node, dict) else 0
        node[side] = ["changed", node[side]]
        expected = ("changed", None, None)
    elif how == "add" and level < depth:
        if isinstance(node, dict):
            node["added"] = leaves[1]
        else:
            node.append(leaves[1])
        expected = ("added", None, leaves[1])
    result = diff_values(before, after)
    if expected is None:
        assert not result, result.to_text()
        return
    assert result.changes, (how, level, depth)
    kinds_found = {c.kind for c in result.changes}
    assert kinds_found == {expected[0]} or (how == "sibling" and kinds_found <= {"changed", "added", "removed"})
    first = result.changes[0]
    assert first.path.startswith("root")
    if how == "leaf":
        # The one change is the innermost leaf: deepdiff notes a type change, or the number's relative change.
        assert len(result.changes) == 1 and first.path.count("[") == depth
        assert show_value(first.before) == show_value(expected[1]) and show_value(first.after) == show_value(leaves[1])
    result.to_text()  # every rendering of the rows works at that depth
    result._repr_html_()
    json.dumps(result.to_dict())


@given(extra=st.integers(1, 400), kinds=st.lists(st.booleans(), min_size=1, max_size=5), side=st.booleans())
@settings(max_examples=15, deadline=None)
def test_deeper_than_the_storage_holds_is_a_storage_error_naming_the_limit(
    extra: int, kinds: list[bool], side: bool
) -> None:
    deep, _ = _spine(MAX_DEPTH + extra, kinds, [0], 1)
    shallow = {"a": 1}
    with pytest.raises(StorageValueError) as caught:
        diff_values(deep, shallow) if side else diff_values(shallow, deep)
    message = str(caught.value)
    assert f"up to {MAX_DEPTH} levels" in message and f"{MAX_DEPTH + extra:,} levels deep" in message
    assert ("before" if side else "after") in message
    assert isinstance(caught.value, ValueError) and "\n" not in message


class _Node:
    """A linked list of plain objects: deepdiff follows attributes, which the split walk does not measure."""

    def __init__(self, child: Any) -> None:
        self.child = child


def test_objects_nested_beyond_deepdiff_are_a_storage_error_not_a_recursion_error() -> None:
    a: Any = 1
    b: Any = 2
    for _ in range(3000):
        a, b = _Node(a), _Node(b)
    with pytest.raises(StorageValueError, match="deeper than deepdiff can follow"):
        diff_values(a, b)


def test_snapshot_diff_of_values_at_the_limit(tmp_path: Path) -> None:
    storage = LocalStorage("s", "t", root=tmp_path)
    deep, parts = _spine(MAX_DEPTH, [True, False], [1, "x"], 0)
    storage.save("deep.json", deep)
    before = snapshot(storage)
    _walk(deep, parts[:-1])[parts[-1]] = 1
    storage.save("deep.json", deep)
    result = diff_snapshots(before, snapshot(storage))
    assert (result.changed, result.changes[0].group) == (1, "s/t/deep.json")
    assert result.changes[0].path.count("[") == MAX_DEPTH


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "perf_storage_nb")
    yield ip
    ip.run_line_magic("unload_ext", "perf_storage_nb")
    for name in ("_deep_store", "_deep_result"):
        ip.user_ns.pop(name, None)


@pytest.mark.parametrize("depth", [300, MAX_DEPTH])
def test_percent_storage_diff_of_two_deep_keys_in_a_cell(shell: InteractiveShell, tmp_path: Path, depth: int) -> None:
    """The issue's example through a real shell, as a notebook cell runs it (a deeper stack than a plain call)."""
    storage = LocalStorage("s", "t", root=tmp_path)
    a, parts = _spine(depth, [False], [0], 1.0)
    b = json.loads(json.dumps(a))
    _walk(b, parts[:-1])[parts[-1]] = 2.0
    storage.save("a.json", a)
    storage.save("b.json", b)
    shell.user_ns["_deep_store"] = storage
    shell.run_line_magic("storage", "use _deep_store")
    outcome = shell.run_cell("_deep_result = %storage diff a.json b.json")
    assert outcome.error_in_exec is None, outcome.error_in_exec
    result = shell.user_ns["_deep_result"]
    assert (result.changed, result.changes[0].note) == (1, "+100.0%")


def _old_show_value(value: Any) -> str:
    return clip(json.dumps(stable(value), ensure_ascii=False, sort_keys=False, default=repr), SHOW_MAX)


@given(value=PYTHON)
@settings(max_examples=400, deadline=None)
def test_show_value_writes_what_json_dumps_wrote(value: Any) -> None:
    """The streaming rendering is byte-identical to the former json.dumps(stable(value)) cut to SHOW_MAX."""
    assert show_value(value) == _old_show_value(value)


def test_show_value_stops_early_and_survives_any_depth() -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = [deep]
    assert show_value(deep) == "[" * (SHOW_MAX - 1) + "…"
    looped: list[Any] = []
    looped.append(looped)
    assert show_value(looped) == '["<cycle>"]'
    assert show_value(float("nan")) == "NaN" and math.isnan(json.loads(show_value(float("nan"))))


def test_limit_error_is_part_of_the_error_tree() -> None:
    deep, _ = _spine(MAX_DEPTH + 1, [True], [0], 1)
    with pytest.raises(StorageError):
        diff_values({"k": deep}, {"k": 1})


def _nest(depth: int, leaf: Any = 1, kind: str = "dict") -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value} if kind == "dict" else [value]
    return value


def _from_deep_in_the_stack(frames: int, call: Any) -> Any:
    """``call()`` run ``frames`` Python frames deep, as from a notebook cell inside IPython and a magic."""
    return call() if frames == 0 else _from_deep_in_the_stack(frames - 1, call)


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ({"a": _nest(MAX_DEPTH - 1), "b": 1}, {"b": 1}, "removed"),
        ({"b": 1}, {"a": _nest(MAX_DEPTH - 1, kind="list"), "b": 1}, "added"),
        ([1, _nest(MAX_DEPTH - 1)], [1], "removed"),
        ({"a": _nest(MAX_DEPTH - 1)}, {"a": _nest(MAX_DEPTH - 1, kind="list")}, "changed"),
        (_nest(200, {"x": _nest(299)}), _nest(200, {}), "removed"),
        (_nest(200, {"x": _nest(299)}), _nest(200, {"x": _nest(299, kind="list")}), "changed"),
    ],
    ids=["removed-key", "added-key", "removed-item", "type-change", "deep-removal", "deep-type-change"],
)
def test_whole_deep_subtrees_added_removed_or_retyped(before: Any, after: Any, kind: str) -> None:
    """A row whose value is itself hundreds of levels deep: found, rendered and exported, 150 frames down."""
    result = _from_deep_in_the_stack(150, lambda: diff_values(before, after))
    assert [c.kind for c in result.changes] == [kind]
    _from_deep_in_the_stack(150, lambda: (result.to_text(), result._repr_html_(), json.dumps(result.to_dict())))
