"""What a stored value is: HTML page, SVG, Markdown, JSON text or plain text; which image format bytes are."""

from __future__ import annotations

import json
import re
import struct

__all__ = ["image_dims", "image_type", "looks_like_html", "page_title", "text_class"]

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


def page_title(text: str) -> str | None:
    """The raw contents of an HTML page's ``<title>`` (looked for in its first 64 kB), or None."""
    found = _TITLE.search(text[:65536])
    return found.group(1) if found else None


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


def image_dims(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) of a PNG or GIF read from its header, else None."""
    if mime == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if mime == "image/gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    return None


def text_class(key: str, text: str) -> str:
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
