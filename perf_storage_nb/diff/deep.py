"""Deeply nested values: measured and split into pieces deepdiff can take, without recursion.

deepdiff recurses (about five Python frames per level) and its time grows with the square of the depth
(500 levels: ~5 s, 1,000: ~40 s on this machine), so two values the storage accepts (``codec.MAX_DEPTH``
levels) could exceed the interpreter's recursion limit or take minutes. Here the deep part is walked with an
explicit stack; every subtree at most :data:`SHALLOW` levels deep, and the shallow members of each deep
container, go to deepdiff whole, so rows and paths stay deepdiff's own. Inside a deep container deepdiff's own
pairing holds: dicts by key, lists and tuples item by item (deepdiff pairs list items by index whenever a list
holds a container, and a deep list does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SHALLOW", "Piece", "depths", "pieces"]

SHALLOW = 32  # levels deepdiff gets whole: ~30 ms at 32, ~5 s at 500
_NESTING = (dict, list, tuple, set, frozenset)
_WALKED = (dict, list, tuple)  # the containers split here (exact types: subclasses may compare differently)


@dataclass(frozen=True)
class Piece:
    """Two values deepdiff compares whole, found at ``path`` (deepdiff syntax) / ``parts`` of the full values."""

    before: Any
    after: Any
    path: str
    parts: tuple[Any, ...]


def _children(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value


def depths(*values: Any) -> dict[int, int]:
    """``id(container) -> levels of nesting`` (``[]`` is 1, ``[[1]]`` is 2) of every container in ``values``.

    Post-order with an explicit stack, so any depth is measured; a container met again on its own path (a
    value that contains itself) is not followed, as deepdiff does not follow it.
    """
    memo: dict[int, int] = {}
    for root in values:
        if not isinstance(root, _NESTING) or id(root) in memo:
            continue
        stack: list[list[Any]] = [[root, iter(_children(root)), 0]]
        on_path = {id(root)}
        while stack:
            frame = stack[-1]
            for child in frame[1]:
                if not isinstance(child, _NESTING):
                    continue
                known = memo.get(id(child))
                if known is not None:
                    frame[2] = max(frame[2], known)
                elif id(child) not in on_path:
                    on_path.add(id(child))
                    stack.append([child, iter(_children(child)), 0])
                    break
            else:
                stack.pop()
                on_path.discard(id(frame[0]))
                level = frame[2] + 1
                memo[id(frame[0])] = level
                if stack:
                    stack[-1][2] = max(stack[-1][2], level)
    return memo


def _param(key: Any) -> str:
    """How deepdiff writes one step of a path (``['a']``, ``[0]``), by deepdiff's own rules."""
    from deepdiff.model import DictRelationship  # lazy, like every deepdiff import

    return str(DictRelationship(None, None, key).get_param_repr(force="yes"))


def pieces(before: Any, after: Any, memo: dict[int, int], shallow: int = SHALLOW) -> Iterator[Piece]:
    """Split two values into pieces at most ``shallow`` levels deep (or not splittable), deepest-first walk."""

    def depth(value: Any) -> int:
        return memo.get(id(value), 0) if isinstance(value, _NESTING) else 0

    stack: list[Piece] = [Piece(before, after, "root", ())]
    while stack:
        piece = stack.pop()
        a, b = piece.before, piece.after
        if a is b:
            continue  # the same object: nothing can differ (deepdiff skips it too)
        kind = type(a)
        if (depth(a) <= shallow and depth(b) <= shallow) or kind is not type(b) or kind not in _WALKED:
            yield piece  # deepdiff decides: equal, a type change, or its own rows
            continue
        if kind is dict:
            deep = [k for k in a if k in b and (depth(a[k]) > shallow or depth(b[k]) > shallow)]
        else:
            deep = [i for i in range(min(len(a), len(b))) if depth(a[i]) > shallow or depth(b[i]) > shallow]
        skip = set(deep)
        # The shallow members as one dict each: deepdiff reports their changes, additions and removals with
        # the same paths it would write for them in place (a dict's int keys read root[0], like list items).
        pairs_a = a.items() if kind is dict else enumerate(a)
        pairs_b = b.items() if kind is dict else enumerate(b)
        rest_a = {k: v for k, v in pairs_a if k not in skip}
        rest_b = {k: v for k, v in pairs_b if k not in skip}
        if rest_a or rest_b:
            yield Piece(rest_a, rest_b, piece.path, piece.parts)
        for k in reversed(deep):
            stack.append(Piece(a[k], b[k], piece.path + _param(k), (*piece.parts, k)))
