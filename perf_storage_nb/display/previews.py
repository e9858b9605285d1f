"""Previews of one stored value: HTML (pages sandboxed, Markdown, JSON tree, images, text, hex) and its text twin.

Stored HTML is shown in a sandboxed frame (:mod:`.frames`): its scripts run in an opaque origin and cannot
reach the notebook, its cookies or its kernel.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from typing import Any

from .base import DisplayObject
from .frames import iframe_srcdoc, page_frame
from .html import CODE_STYLE, esc, note, pre
from .json_tree import json_tree_html
from .markdown import markdown_html
from .sniff import image_dims, image_type, page_title, text_class
from .text import human_size, value_size
from .theme import TEXT_MUTED

__all__ = ["StoredValue", "iframe_srcdoc", "preview_html", "preview_text"]


def _truncate_bytes(text: str, max_bytes: int) -> tuple[str, int]:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes; return (text, bytes dropped)."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text, 0
    return raw[:max_bytes].decode("utf-8", "ignore"), len(raw) - max_bytes


def _truncated_note(dropped: int, total: int) -> str:
    return note(f"… truncated: {dropped:,} of {total:,} bytes not shown (raise preview_max_bytes to see more)")


def _hex_lines(data: bytes, limit: int = 256) -> list[str]:
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hexs = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexs:<47}  {text}")
    return lines


def _header(key: str, size: int, label: str) -> str:
    return (
        f"<div class='psnb-head' style='color:{TEXT_MUTED};{CODE_STYLE};margin-bottom:4px'><code>{esc(key)}</code>"
        f" · {esc(label)} · {esc(human_size(size))}</div>"
    )


def _image_html(key: str, mime: str, data: bytes) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f"<img alt='{esc(key)}' style='max-width:100%' src='data:{mime};base64,{b64}'>"


def _bytes_preview(data: bytes, key: str, kind: str, max_bytes: int) -> tuple[str, str]:
    mime = image_type(data)
    if mime and len(data) <= max_bytes:
        return mime, _image_html(key, mime, data)
    if mime:
        text = f"image of {len(data):,} bytes is larger than the preview cap of {max_bytes:,} bytes; not shown"
        return mime, note(text, "psnb-note")
    more = f"\n… {len(data) - 256:,} more bytes" if len(data) > 256 else ""
    return kind, pre("\n".join(_hex_lines(data)) + more)


def _text_preview(text: str, key: str, size: int, max_bytes: int, height: int | None) -> tuple[str, str]:
    cls = text_class(key, text)
    shown, dropped = _truncate_bytes(text, max_bytes)
    more = _truncated_note(dropped, size) if dropped else ""
    if cls == "html":
        title = page_title(text)
        label = f"stored page {key}" + (f": {title.strip()}" if title else "")
        twin = preview_text("text", text, key)
        return cls, page_frame(shown, title=label, fallback_text=twin, height=height) + more
    if cls == "svg":
        if dropped:
            return cls, pre(shown) + more
        # As an <img>, SVG scripts never run.
        return cls, _image_html(key, "image/svg+xml", text.encode("utf-8", "surrogatepass"))
    if cls == "markdown":
        return cls, f"<div class='psnb-md'>{markdown_html(shown)}</div>{more}"
    if cls == "json" and not dropped:
        return cls, json_tree_html(json.loads(text), max_bytes=max_bytes)
    return cls, pre(shown) + more


def preview_html(kind: str, value: object, key: str, *, max_bytes: int = 1_000_000, height: int | None = None) -> str:
    """HTML preview of a stored value: pages in a sandboxed iframe, Markdown, JSON tree, images, text, hex.

    ``height``: pixels of a page's frame; None sizes it to the page where the output may run script.
    """
    size = value_size(kind, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        label, body = _bytes_preview(bytes(value), key, kind, max_bytes)
    elif kind == "json" or not isinstance(value, str):
        label, body = "json", json_tree_html(value, max_bytes=max_bytes)
    else:
        label, body = _text_preview(value, key, size, max_bytes, height)
    return f"<div class='psnb-preview'>{_header(key, size, label)}{body}</div>"


def _cut_chars(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n… truncated: {len(text) - max_chars:,} more characters"


def preview_text(kind: str, value: object, key: str, *, max_chars: int = 2000, source: bool = False) -> str:
    """Plain-text twin of :func:`preview_html` for terminals and nbval; an HTML page is summarised unless ``source``."""
    size = value_size(kind, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        mime = image_type(data)
        if mime:
            dims = image_dims(data, mime)
            extra = f" {dims[0]}x{dims[1]}" if dims else ""
            return f"{key} <{mime}{extra}, {human_size(size)}>"
        lines = _hex_lines(data)
        more = [f"… {len(data) - 256:,} more bytes"] if len(data) > 256 else []
        return _cut_chars("\n".join([f"{key} <bytes, {human_size(size)}>", *lines, *more]), max_chars)
    if kind == "json" or not isinstance(value, str):
        body = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        return _cut_chars(f"{key} <json, {human_size(size)}>\n{body}", max_chars)
    cls = text_class(key, value)
    head = f"{key} <{cls}, {human_size(size)}"
    if cls == "html":
        title = page_title(value)
        if title:
            head += f", title={html.unescape(' '.join(title.split()))!r}"
        if not source:
            return f"{head}>"  # raw markup is not a readable text form of a page
    return _cut_chars(f"{head}>\n{value}", max_chars)


@dataclass(frozen=True)
class StoredValue(DisplayObject):
    """A stored value that displays itself: rich preview as HTML, the plain-text twin as text."""

    key: str
    kind: str
    value: Any = field(repr=False)
    max_bytes: int = 1_000_000
    max_chars: int = 2000
    height: int | None = None  # pixels of a page's iframe; None: sized to the page where the output may run script

    @property
    def size(self) -> int:
        """Size of the value in bytes (JSON: compact encoding)."""
        return value_size(self.kind, self.value)

    def __repr__(self) -> str:
        return f"StoredValue(key={self.key!r}, kind={self.kind!r}, size={self.size})"

    def text(self) -> str:
        """The plain-text preview."""
        return preview_text(self.kind, self.value, self.key, max_chars=self.max_chars)

    def _text_twin(self) -> str:
        return self.text()

    def _html_body(self) -> str:
        return preview_html(self.kind, self.value, self.key, max_bytes=self.max_bytes, height=self.height)
