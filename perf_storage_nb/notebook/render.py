"""Pure rendering of stored values: HTML strings, plain-text twins and small display objects.

Nothing here imports IPython or ipywidgets, so the widget browser, the magics and plain Python can share it.
Every piece of user data goes through :func:`html.escape`; no output contains ids that change per call.
Stored HTML is shown in ``<iframe sandbox="allow-scripts" srcdoc=...>`` *without* ``allow-same-origin``:
its scripts run in an opaque origin and cannot reach the notebook, its cookies or its kernel.
"""

from __future__ import annotations

import base64
import html
import json
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KeyListing",
    "RichText",
    "StorageTree",
    "StoredValue",
    "human_size",
    "iframe_srcdoc",
    "image_type",
    "json_tree_html",
    "looks_like_html",
    "markdown_html",
    "preview_html",
    "preview_text",
    "tree_from_storage",
    "value_size",
]

_BOX = "font-family:var(--jp-code-font-family,monospace);font-size:12px"
_PRE = (
    "white-space:pre-wrap;word-break:break-word;max-height:420px;overflow:auto;margin:0;padding:6px;"
    "background:rgba(127,127,127,.08)"
)
_NOTE = "color:#a15c00;font-style:italic;margin:4px 0"
_MUTED = "color:#777"


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def human_size(n: int) -> str:
    """Bytes as a short human string: ``312 B``, ``12.3 kB``, ``4.0 MB``."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n_f = n / 1000.0
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"  # pragma: no cover - loop always returns


def value_size(kind: str, value: object) -> int:
    """Stored size of a value in bytes: raw bytes, UTF-8 text, or compact JSON for ``kind == "json"``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str) and kind != "json":
        return len(value.encode("utf-8", "surrogatepass"))
    try:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        return len(repr(value))


# ---- classification -------------------------------------------------------------------------------
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html[\s>])", re.IGNORECASE | re.DOTALL)
_HTML_TAGS = re.compile(r"<(html|head|body)[\s>]", re.IGNORECASE)
_SVG_START = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<svg[\s>]", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _suffix(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def looks_like_html(text: str) -> bool:
    """True for text that is an HTML document (doctype, ``<html>``, or ``<head>``/``<body>`` near the start)."""
    return bool(_HTML_START.match(text[:4096]) or _HTML_TAGS.search(text[:1024]))


def image_type(data: bytes) -> str | None:
    """MIME type of png/jpeg/gif/webp bytes recognised by their magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _image_dims(data: bytes, mime: str) -> tuple[int, int] | None:
    if mime == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if mime == "image/gif" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    return None


def _text_class(key: str, text: str) -> str:
    """One of html, svg, markdown, json, text for a stored string."""
    suffix = _suffix(key)
    if suffix in ("html", "htm", "xhtml"):
        return "html"
    if suffix == "svg" or _SVG_START.match(text[:4096]):
        return "svg"
    if suffix in ("md", "markdown"):
        return "markdown"
    if suffix == "json":
        try:
            json.loads(text)
            return "json"
        except ValueError:
            return "text"
    return "html" if looks_like_html(text) else "text"


def _truncate_bytes(text: str, max_bytes: int) -> tuple[str, int]:
    """Cut ``text`` to at most ``max_bytes`` UTF-8 bytes; return (text, bytes dropped)."""
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= max_bytes:
        return text, 0
    return raw[:max_bytes].decode("utf-8", "ignore"), len(raw) - max_bytes


def _truncated_note(dropped: int, total: int, what: str = "bytes") -> str:
    return (
        f"<div class='psnb-truncated' style='{_NOTE}'>… truncated: {dropped:,} of {total:,} {what} not shown "
        "(raise preview_max_bytes to see more)</div>"
    )


# ---- building blocks ------------------------------------------------------------------------------
def iframe_srcdoc(html_text: str, *, height: int = 360, title: str = "stored page") -> str:
    """``<iframe sandbox="allow-scripts" srcdoc=...>``: scripts may run but cannot touch the notebook."""
    # No allow-same-origin: the page gets an opaque origin, so it cannot read the parent DOM, cookies or storage.
    return (
        f'<iframe class="psnb-frame" sandbox="allow-scripts" referrerpolicy="no-referrer" title="{_esc(title)}" '
        f'style="width:100%;height:{max(40, int(height))}px;border:1px solid rgba(127,127,127,.4);background:#fff" '
        f'srcdoc="{html.escape(html_text, quote=True)}"></iframe>'
    )


_SAFE_URL = re.compile(r"^(https?://|mailto:|#|/|\./|\.\./|[A-Za-z0-9_.-]+(/|$))", re.IGNORECASE)
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|__(.+?)__|\*(?!\s)(.+?)\*|!?\[([^\]]*)\]\(([^)\s]*)\)")


def _md_inline(text: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        code, bold, bold2, em, label, url = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None or bold2 is not None:
            out.append(f"<strong>{_md_inline(bold or bold2)}</strong>")
        elif em is not None:
            out.append(f"<em>{_md_inline(em)}</em>")
        elif _SAFE_URL.match(url or "") and not (url or "").lower().startswith(("javascript:", "data:")):
            # Images become links: no external fetches from a preview.
            out.append(
                f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{_md_inline(label or url)}</a>'
            )
        else:
            out.append(html.escape(m.group(0)))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_UL = re.compile(r"^\s*[-*+]\s+(.*)$")
_MD_OL = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_MD_HR = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


def markdown_html(text: str) -> str:
    """A small, safe Markdown renderer: headings, paragraphs, lists, quotes, code, emphasis, links; raw HTML escaped."""
    out: list[str] = []
    para: list[str] = []
    lst: tuple[str, list[str]] | None = None
    lines = text.replace("\r\n", "\n").split("\n")

    def flush() -> None:
        nonlocal lst
        if para:
            out.append(f"<p>{_md_inline(' '.join(s.strip() for s in para))}</p>")
            para.clear()
        if lst is not None:
            tag, items = lst
            out.append(f"<{tag}>" + "".join(f"<li>{_md_inline(i)}</li>" for i in items) + f"</{tag}>")
            lst = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            flush()
            lang = line.strip()[3:].strip()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            cls = f" class='language-{_esc(lang)}'" if lang else ""
            out.append(f"<pre style='{_PRE}'><code{cls}>{html.escape(chr(10).join(body))}</code></pre>")
        elif not line.strip():
            flush()
        elif m := _MD_HEADING.match(line):
            flush()
            level = len(m.group(1))
            out.append(f"<h{level}>{_md_inline(m.group(2))}</h{level}>")
        elif _MD_HR.match(line):
            flush()
            out.append("<hr>")
        elif line.lstrip().startswith(">"):
            flush()
            quote: list[str] = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quote.append(lines[i].lstrip()[1:].lstrip())
                i += 1
            out.append(f"<blockquote>{markdown_html(chr(10).join(quote))}</blockquote>")
            continue
        elif (m := _MD_UL.match(line)) or (m2 := _MD_OL.match(line)):
            tag = "ul" if m else "ol"
            item = (m or m2).group(1)  # type: ignore[union-attr]
            if para or (lst is not None and lst[0] != tag):
                flush()
            if lst is None:
                lst = (tag, [])
            lst[1].append(item)
        elif lst is not None and line.startswith((" ", "\t")):
            lst[1][-1] += " " + line.strip()  # continuation of the last list item
        else:
            if lst is not None:
                flush()
            para.append(line)
        i += 1
    flush()
    return "".join(out)


def _scalar_html(value: object) -> str:
    if isinstance(value, str):
        return f"<span style='color:#a31515'>{_esc(json.dumps(value, ensure_ascii=False))}</span>"
    if value is None or isinstance(value, bool):
        return f"<span style='color:#0000c0'>{_esc(json.dumps(value))}</span>"
    if isinstance(value, (int, float)):
        return f"<span style='color:#098658'>{_esc(repr(value))}</span>"
    return f"<span>{_esc(repr(value))}</span>"


def json_tree_html(value: Any, *, max_bytes: int = 1_000_000, open_depth: int = 2) -> str:
    """A readable, collapsible tree (``<details>``) of a JSON value; stops with a note past ``max_bytes``."""
    parts: list[str] = []
    budget = [max(256, max_bytes)]
    cut = [0]

    def emit(s: str) -> bool:
        if budget[0] <= 0:
            return False
        budget[0] -= len(s)
        parts.append(s)
        return True

    def node(label: str, item: Any, depth: int) -> None:
        if budget[0] <= 0:
            cut[0] += 1
            return
        head = f"<span style='color:#795e26'>{_esc(label)}</span>: " if label else ""
        if isinstance(item, (dict, list, tuple)):
            is_dict = isinstance(item, dict)
            n = len(item)
            brace = ("{", "}") if is_dict else ("[", "]")
            noun = ("key" if is_dict else "item") + ("" if n == 1 else "s")
            count = f"<span style='{_MUTED}'>{brace[0]}{n} {noun}{brace[1]}</span>"
            if n == 0:
                emit(f"<div>{head}<span style='{_MUTED}'>{brace[0]}{brace[1]}</span></div>")
                return
            emit(
                f"<details{' open' if depth < open_depth else ''}><summary>{head}{count}</summary>"
                f"<div style='margin-left:1.2em;border-left:1px dotted rgba(127,127,127,.5);padding-left:.5em'>"
            )
            children = item.items() if is_dict else enumerate(item)
            for k, v in children:
                node(str(k) if is_dict else f"[{k}]", v, depth + 1)
            parts.append("</div></details>")  # closing tags always fit: the tree stays well formed
        else:
            emit(f"<div>{head}{_scalar_html(item)}</div>")

    node("", value, 0)
    body = "".join(parts)
    note = (
        f"<div class='psnb-truncated' style='{_NOTE}'>… truncated: {cut[0]:,} more node(s) not shown (raise "
        "preview_max_bytes to see more)</div>"
        if cut[0]
        else ""
    )
    return f"<div class='psnb-json' style='{_BOX}'>{body}</div>{note}"


def _hex_lines(data: bytes, limit: int = 256) -> list[str]:
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hexs = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexs:<47}  {text}")
    return lines


# ---- previews -------------------------------------------------------------------------------------
def _header(kind: str, key: str, size: int, label: str) -> str:
    return (
        f"<div class='psnb-head' style='{_MUTED};{_BOX};margin-bottom:4px'><code>{_esc(key)}</code> · "
        f"{_esc(label)} · {_esc(human_size(size))}</div>"
    )


def preview_html(kind: str, value: object, key: str, *, max_bytes: int = 1_000_000) -> str:
    """HTML preview of a stored value: pages in a sandboxed iframe, Markdown, JSON tree, images, text, hex."""
    size = value_size(kind, value)
    body: str
    label = kind
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        mime = image_type(data)
        if mime and len(data) <= max_bytes:
            label = mime
            b64 = base64.b64encode(data).decode("ascii")
            body = f"<img alt='{_esc(key)}' style='max-width:100%' src='data:{mime};base64,{b64}'>"
        elif mime:
            label = mime
            body = (
                f"<div style='{_NOTE}'>image of {len(data):,} bytes is larger than the preview cap of "
                f"{max_bytes:,} bytes; not shown</div>"
            )
        else:
            lines = _hex_lines(data)
            more = f"\n… {len(data) - 256:,} more bytes" if len(data) > 256 else ""
            body = f"<pre style='{_PRE};{_BOX}'>{html.escape(chr(10).join(lines) + more)}</pre>"
    elif kind == "json" or not isinstance(value, str):
        label = "json"
        body = json_tree_html(value, max_bytes=max_bytes)
    else:
        text = value
        cls = _text_class(key, text)
        label = {"text": "text"}.get(cls, cls)
        shown, dropped = _truncate_bytes(text, max_bytes)
        note = _truncated_note(dropped, size) if dropped else ""
        if cls == "html":
            title = _TITLE.search(text[:65536])
            body = (
                iframe_srcdoc(shown, title=f"stored page {key}" + (f": {title.group(1).strip()}" if title else ""))
                + note
            )
        elif cls == "svg":
            if dropped:
                body = f"<pre style='{_PRE};{_BOX}'>{html.escape(shown)}</pre>{note}"
            else:
                # As an <img>, SVG scripts never run.
                b64 = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
                body = f"<img alt='{_esc(key)}' style='max-width:100%' src='data:image/svg+xml;base64,{b64}'>"
        elif cls == "markdown":
            body = f"<div class='psnb-md'>{markdown_html(shown)}</div>{note}"
        elif cls == "json" and not dropped:
            body = json_tree_html(json.loads(text), max_bytes=max_bytes)
        else:
            body = f"<pre style='{_PRE};{_BOX}'>{html.escape(shown)}</pre>{note}"
    return f"<div class='psnb-preview'>{_header(kind, key, size, label)}{body}</div>"


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
            dims = _image_dims(data, mime)
            extra = f" {dims[0]}x{dims[1]}" if dims else ""
            return f"{key} <{mime}{extra}, {human_size(size)}>"
        lines = _hex_lines(data)
        more = [f"… {len(data) - 256:,} more bytes"] if len(data) > 256 else []
        return _cut_chars("\n".join([f"{key} <bytes, {human_size(size)}>", *lines, *more]), max_chars)
    if kind == "json" or not isinstance(value, str):
        body = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        return _cut_chars(f"{key} <json, {human_size(size)}>\n{body}", max_chars)
    cls = _text_class(key, value)
    head = f"{key} <{cls}, {human_size(size)}"
    if cls == "html":
        title = _TITLE.search(value[:65536])
        if title:
            head += f", title={html.unescape(' '.join(title.group(1).split()))!r}"
        if not source:
            return f"{head}>"  # raw markup is not a readable text form of a page (conventions 6.4 item 19)
    return _cut_chars(f"{head}>\n{value}", max_chars)


# ---- display objects ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredValue:
    """A stored value that displays itself: rich preview as HTML, the plain-text twin as text."""

    key: str
    kind: str
    value: Any = field(repr=False)
    max_bytes: int = 1_000_000
    max_chars: int = 2000

    @property
    def size(self) -> int:
        """Size of the value in bytes (JSON: compact encoding)."""
        return value_size(self.kind, self.value)

    def __repr__(self) -> str:
        return f"StoredValue(key={self.key!r}, kind={self.kind!r}, size={self.size})"

    def _repr_html_(self) -> str:
        return preview_html(self.kind, self.value, self.key, max_bytes=self.max_bytes)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}

    def text(self) -> str:
        """The plain-text preview."""
        return preview_text(self.kind, self.value, self.key, max_chars=self.max_chars)


def _plural(n: int) -> str:
    return f"{n:,} key{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class KeyListing:
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
        return f"KeyListing({self.location!r}, {_plural(len(self.rows) + self.more)})"

    def _more_text(self) -> str:
        return f"… {_plural(self.more)} more (narrow with ls -l PREFIX)" if self.more else ""

    def text(self) -> str:
        """Key names, or an aligned table (what terminals and nbval see)."""
        where = self.location + (f" (prefix {self.prefix!r})" if self.prefix else "")
        if not self.rows:
            return f"{where}: no keys"
        lines = [f"{where}: {_plural(len(self.rows) + self.more)}"]
        if self.long:
            width = max(len(r.key) for r in self.rows)
            lines += [f"  {r.key:<{width}}  {r.kind:<5} {human_size(r.size):>9}  {r.hash[:12]}" for r in self.rows]
        else:
            lines += [f"  {key}" for key in self.rows]
        if self.more:
            lines.append(f"  {self._more_text()}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<div style='{_MUTED};{_BOX}'><code>{_esc(self.location)}</code>"
        head += f" prefix <code>{_esc(self.prefix)}</code>" if self.prefix else ""
        head += f" · {_plural(len(self.rows) + self.more)}</div>"
        if not self.rows:
            return f"<div class='psnb-keys'>{head}<div style='{_MUTED}'>no keys</div></div>"
        if not self.long:
            items = "".join(f"<li><code>{_esc(key)}</code></li>" for key in self.rows)
            return f"<div class='psnb-keys'>{head}<ul style='{_BOX};margin:2px 0'>{items}</ul></div>"
        cells = "".join(
            f"<tr><td style='text-align:left'><code>{_esc(r.key)}</code></td><td>{_esc(r.kind)}</td>"
            "<td "
            f"style='text-align:right'>{_esc(human_size(r.size))}</td><td><code>{_esc(r.hash[:12])}</code></td></tr>"
            for r in self.rows
        )
        more = f"<div style='{_MUTED}'>{_esc(self._more_text())}</div>" if self.more else ""
        return (
            f"<div class='psnb-keys'>{head}<table style='{_BOX}'><thead><tr><th style='text-align:left'>key</th>"
            f"<th>kind</th><th>size</th><th>hash</th></tr></thead><tbody>{cells}</tbody></table>{more}</div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}


@dataclass(frozen=True)
class StorageTree:
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

    def _repr_html_(self) -> str:
        out = [f"<div class='psnb-tree' style='{_BOX}'><div style='{_MUTED}'><code>{_esc(self.location)}</code></div>"]
        if not self.tree:
            out.append(f"<div style='{_MUTED}'>(empty)</div>")
        for session, targets in self.tree:
            out.append(f"<details open><summary><b>{_esc(session)}</b></summary><div style='margin-left:1.2em'>")
            for target, keys in targets:
                items = "".join(f"<li><code>{_esc(k)}</code></li>" for k in keys[: self.max_keys])
                if len(keys) > self.max_keys:
                    items += f"<li style='{_MUTED}'>… {len(keys) - self.max_keys} more</li>"
                out.append(
                    f"<details><summary>{_esc(target)} <span "
                    f"style='{_MUTED}'>({len(keys)})</span></summary><ul>{items}</ul></details>"
                )
            out.append("</div></details>")
        out.append("</div>")
        return "".join(out)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}


@dataclass(frozen=True)
class RichText:
    """Text with an optional HTML twin (help pages, messages); displays without IPython.display.HTML."""

    text: str
    html: str = ""
    name: str = "RichText"

    def __repr__(self) -> str:
        first = self.text.split("\n", 1)[0]
        return f"{self.name}({first[:60]!r})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.text}
        bundle["text/html"] = self.html or f"<pre style='{_PRE};{_BOX}'>{html.escape(self.text)}</pre>"
        return bundle

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()["text/html"]


def tree_from_storage(
    storage: Any, *, sessions: Iterable[str] | None = None, target: str | None = None, location: str | None = None
) -> StorageTree:
    """Walk a storage's backend (sessions -> targets -> keys, or only ``target``) into a :class:`StorageTree`."""
    tree = []
    for session in sorted(sessions if sessions is not None else storage.sessions()):
        names = [target] if target is not None else storage.targets(session)
        tree.append((session, [(t, storage.for_session(session, t).list_keys()) for t in names]))
    if location is None:
        location = storage.describe().rsplit("/", 2)[0] if hasattr(storage, "describe") else repr(storage)
    return StorageTree(location, tree)
