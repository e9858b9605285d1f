"""Listings that display themselves: the keys of a target, a sessions -> targets -> keys tree, rich text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import DisplayObject
from .html import CODE_STYLE, code, esc, muted, table, text_lines
from .text import human_size, plural

__all__ = ["KeyListing", "RichText", "StorageTree"]


def _keys(n: int) -> str:
    return plural(n, "key")


@dataclass(frozen=True)
class KeyListing(DisplayObject):
    """Keys of one target: names, or (``long``) names with kind, size and short hash; a table in HTML."""

    location: str
    rows: Sequence[Any]  # key names, or (long) KeyInfo-like rows: .key .kind .size .hash
    prefix: str = ""
    long: bool = False
    more: int = 0  # keys left out of a long listing (it asks info() per key)

    @property
    def keys(self) -> list[str]:
        """The key names listed."""
        return [r.key for r in self.rows] if self.long else list(self.rows)

    def __repr__(self) -> str:
        return f"KeyListing({self.location!r}, {_keys(len(self.rows) + self.more)})"

    def _more_text(self) -> str:
        return f"… {_keys(self.more)} more (narrow with ls -l PREFIX)" if self.more else ""

    def text(self) -> str:
        """Key names, or an aligned table (what terminals and nbval see)."""
        where = self.location + (f" (prefix {self.prefix!r})" if self.prefix else "")
        if not self.rows:
            return f"{where}: no keys"
        lines = [f"{where}: {_keys(len(self.rows) + self.more)}"]
        if self.long:
            width = max(len(r.key) for r in self.rows)
            lines += [f"  {r.key:<{width}}  {r.kind:<5} {human_size(r.size):>9}  {r.hash[:12]}" for r in self.rows]
        else:
            lines += [f"  {key}" for key in self.rows]
        if self.more:
            lines.append(f"  {self._more_text()}")
        return "\n".join(lines)

    def _text_twin(self) -> str:
        return self.text()

    def _html_body(self) -> str:
        where = code(self.location) + (f" prefix {code(self.prefix)}" if self.prefix else "")
        head = muted(f"{where} · {_keys(len(self.rows) + self.more)}", "div")
        if not self.rows:
            return f"<div class='psnb-keys' style='{CODE_STYLE}'>{head}{muted('no keys', 'div')}</div>"
        if not self.long:
            items = "".join(f"<li>{code(key)}</li>" for key in self.rows)
            return f"<div class='psnb-keys' style='{CODE_STYLE}'>{head}<ul style='margin:2px 0'>{items}</ul></div>"
        rows = [[code(r.key), esc(r.kind), esc(human_size(r.size)), code(r.hash[:12])] for r in self.rows]
        more = muted(esc(self._more_text()), "div") if self.more else ""
        listing = table(["key", "kind", "size", "hash"], rows, right=[2], mono=True)
        return f"<div class='psnb-keys' style='{CODE_STYLE}'>{head}{listing}{more}</div>"


@dataclass(frozen=True)
class StorageTree(DisplayObject):
    """sessions -> targets -> keys of a backend as a nested list (text tree for terminals)."""

    location: str
    tree: Sequence[tuple[str, Sequence[tuple[str, Sequence[str]]]]]  # (session, [(target, [keys])])
    max_keys: int = 50

    def __repr__(self) -> str:
        return f"StorageTree({self.location!r}, {len(self.tree)} session{'' if len(self.tree) == 1 else 's'})"

    def text(self) -> str:
        """The indented text tree."""
        lines = [self.location]
        if not self.tree:
            lines.append("  (empty)")
        for session, targets in self.tree:
            lines.append(f"  {session}/")
            for target, keys in targets:
                lines.append(f"    {target}/  ({len(keys)} key{'' if len(keys) == 1 else 's'})")
                lines += [f"      {k}" for k in keys[: self.max_keys]]
                if len(keys) > self.max_keys:
                    lines.append(f"      … {len(keys) - self.max_keys} more")
        return "\n".join(lines)

    def _text_twin(self) -> str:
        return self.text()

    def _html_body(self) -> str:
        out = [f"<div class='psnb-tree' style='{CODE_STYLE}'>{muted(code(self.location), 'div')}"]
        if not self.tree:
            out.append(muted("(empty)", "div"))
        for session, targets in self.tree:
            out.append(f"<details open><summary><b>{esc(session)}</b></summary><div style='margin-left:1.2em'>")
            for target, keys in targets:
                items = "".join(f"<li>{code(k)}</li>" for k in keys[: self.max_keys])
                if len(keys) > self.max_keys:
                    items += muted(f"… {len(keys) - self.max_keys} more", "li")
                out.append(
                    f"<details><summary>{esc(target)} {muted(f'({len(keys)})')}</summary><ul>{items}</ul></details>"
                )
            out.append("</div></details>")
        out.append("</div>")
        return "".join(out)


@dataclass(frozen=True)
class RichText(DisplayObject):
    """Text with an optional HTML twin (help pages, messages); displays without IPython.display.HTML."""

    text: str
    html: str = ""
    name: str = "RichText"

    def __repr__(self) -> str:
        first = self.text.split("\n", 1)[0]
        return f"{self.name}({first[:60]!r})"

    def _text_twin(self) -> str:
        return self.text

    def _html_body(self) -> str:
        return self.html or text_lines(self.text)  # help and messages grow with their text
