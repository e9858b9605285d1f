"""The static report's pages: one self-contained HTML shell (light and dark), file names and relative links.

Every page is a standalone document: no script, stylesheet, font or image is fetched (images are ``data:`` URIs
in the previews), so the report opens from the file system in any browser, without a server or network. A
stored HTML page is shown as ``show`` shows it, in a sandboxed ``srcdoc`` iframe (scripts run, in an opaque
origin that cannot reach the report); whatever that page itself references is its own business, as in a notebook.
The display layer's fragments are styled with JupyterLab's CSS variables (with fallbacks); the shell defines
those variables for a light page and, under ``prefers-color-scheme: dark``, for a dark one, so the same
fragments read well in both, as they do in JupyterLab's two themes.
"""

from __future__ import annotations

import posixpath

from ..display import esc

__all__ = ["MARKER", "diff_path", "index_path", "key_path", "link", "page", "target_path"]

#: a file every report folder holds, so a later export may replace that folder (and no other)
MARKER = ".perf-storage-report"

# JupyterLab's light and dark theme values of the variables the display layer uses.
_LIGHT = {
    "--jp-layout-color0": "#ffffff",
    "--jp-layout-color2": "#eeeeee",
    "--jp-ui-font-color1": "rgba(0,0,0,0.87)",
    "--jp-ui-font-color2": "rgba(0,0,0,0.54)",
    "--jp-border-color2": "#e0e0e0",
    "--jp-cell-editor-background": "#f5f5f5",
    "--jp-rendermime-table-row-background": "#f5f5f5",
    "--jp-brand-color1": "#1976d2",
    "--jp-success-color1": "#388e3c",
    "--jp-error-color1": "#d32f2f",
    "--jp-warn-color1": "#f57c00",
    "--jp-mirror-editor-property-color": "#0055aa",
    "--jp-mirror-editor-string-color": "#ba2121",
    "--jp-mirror-editor-number-color": "#008000",
    "--jp-mirror-editor-keyword-color": "#008000",
}
_DARK = {
    "--jp-layout-color0": "#111111",
    "--jp-layout-color2": "#424242",
    "--jp-ui-font-color1": "rgba(255,255,255,1)",
    "--jp-ui-font-color2": "rgba(255,255,255,0.7)",
    "--jp-border-color2": "#424242",
    "--jp-cell-editor-background": "#212121",
    "--jp-rendermime-table-row-background": "#212121",
    "--jp-brand-color1": "#64b5f6",
    "--jp-success-color1": "#4caf50",
    "--jp-error-color1": "#f44336",
    "--jp-warn-color1": "#ff9800",
    "--jp-mirror-editor-property-color": "#6bbefa",
    "--jp-mirror-editor-string-color": "#ff7070",
    "--jp-mirror-editor-number-color": "#b3e5a5",
    "--jp-mirror-editor-keyword-color": "#a5d6a7",
}


def _vars(values: dict[str, str]) -> str:
    return ";".join(f"{name}:{value}" for name, value in values.items())


_STYLE = (
    f":root{{color-scheme:light dark;{_vars(_LIGHT)}}}"
    f"@media (prefers-color-scheme: dark){{:root{{{_vars(_DARK)}}}}}"
    "body{margin:0;padding:16px 24px;background:var(--jp-layout-color0);color:var(--jp-ui-font-color1);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}"
    "a{color:var(--jp-brand-color1)}"
    "nav{font-size:13px;margin-bottom:10px;color:var(--jp-ui-font-color2)}"
    "h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:18px 0 6px}"
    "footer{margin-top:24px;font-size:12px;color:var(--jp-ui-font-color2)}"
)


def page(title: str, body: str, *, crumbs: list[tuple[str, str]], generator: str) -> str:
    """A standalone HTML document: breadcrumb links (``(text, href)``, the last one unlinked), title, body."""
    trail = " / ".join(f"<a href='{esc(href)}'>{esc(text)}</a>" if href else esc(text) for text, href in crumbs)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head>"
        f"<body><nav>{trail}</nav><h1>{esc(title)}</h1>{body}"
        f"<footer>{esc(generator)}</footer></body></html>\n"
    )


def index_path() -> str:
    """The report's start page."""
    return "index.html"


def target_path(target: str) -> str:
    """A target's page (ids are file-safe: letters, digits, '.', '_', '-')."""
    return f"targets/{target}/index.html"


def key_path(target: str, key: str) -> str:
    """A key's page: the key's own '/'-separated path (valid keys hold no '..' and no empty segment)."""
    return f"targets/{target}/keys/{key}.html"


def diff_path(target: str, key: str) -> str:
    """The diff page of a key against the baseline."""
    return f"targets/{target}/diff/{key}.html"


def link(src: str, dst: str) -> str:
    """The relative href from the page ``src`` to the page ``dst`` (both report-relative paths)."""
    return posixpath.relpath(dst, posixpath.dirname(src) or ".")
