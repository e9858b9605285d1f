"""A stored HTML page in a sandboxed frame: sized to the page where script may run, with a fallback where it is gone.

The frame is ``<iframe sandbox="allow-scripts" srcdoc=...>`` *without* ``allow-same-origin``: the page's
scripts run in an opaque origin and cannot reach the notebook, its cookies or its kernel.

What JupyterLab 4 does with the output (checked in a real browser, tests/browser/test_screenshots.py):

- trusted (the cell ran here, or the notebook was trusted): ``<script>`` in the output runs and the ``hidden``
  attribute holds. A small script next to the frame listens for the page's height, which a script appended
  to the page posts (``postMessage``, numbers only), and sizes the frame to it, within [40, 1200] px; the
  fallback stays hidden.
- untrusted (a notebook reopened from git): the sanitizer removes the frame, every script and the ``hidden``
  attribute, so the fallback shows instead: the value's text twin and a one-line hint to trust the notebook.
- a widget (``widgets.HTML``) or a static export that keeps the frame but runs no script: the frame keeps its
  starting height (and can be resized by dragging its corner), the fallback stays hidden.
"""

from __future__ import annotations

import html

from .html import PRE_STYLE, esc
from .theme import BORDER, TEXT_MUTED, TONES, css

__all__ = ["AUTO_MAX_HEIGHT", "DEFAULT_HEIGHT", "TRUST_HINT", "iframe_srcdoc", "page_frame"]

DEFAULT_HEIGHT = 360  # pixels of a frame before (or without) sizing to its page
MIN_HEIGHT = 40
AUTO_MAX_HEIGHT = 1200  # a taller page scrolls inside its frame (and a page sized to its window cannot grow it forever)

TRUST_HINT = (
    "Page not shown in an untrusted notebook: run the cell, or trust the notebook (command palette: Trust Notebook)."
)

# Appended to the page: report its height to the frame's owner (a number, nothing else), now, on load, on
# every resize and when asked.
_REPORTER = (
    "<script>(function(){function h(){var d=document.documentElement,b=document.body,"
    "v=d.getBoundingClientRect().height;if(b){v=Math.max(v,b.getBoundingClientRect().bottom+"
    "(parseFloat(getComputedStyle(b).marginBottom)||0));}if(d.scrollHeight>d.clientHeight+1){"
    "v=Math.max(v,d.scrollHeight);}return Math.ceil(v);}"
    "function send(){try{parent.postMessage({psnbHeight:h()},'*');}catch(e){}}"
    "addEventListener('load',send);addEventListener('message',function(e){if(e.data==='psnb-height?'){send();}});"
    "if(window.ResizeObserver){new ResizeObserver(send).observe(document.documentElement);}send();})();</script>"
)

# Next to the frame, in the notebook: take heights from this frame's page only, clamp them, set the height;
# ask once the page has loaded (its first report may come before this listener exists); let go when the
# output is gone.
_LISTENER = (
    "<script>(function(){var s=document.currentScript,f=s&&s.parentNode&&"
    "s.parentNode.querySelector('iframe.psnb-frame');if(!f){return;}"
    "function on(e){if(!f.isConnected){removeEventListener('message',on);return;}"
    "if(e.source!==f.contentWindow||!e.data||typeof e.data.psnbHeight!=='number'){return;}"
    f"var v=Math.min({AUTO_MAX_HEIGHT},Math.max({MIN_HEIGHT},Math.ceil(e.data.psnbHeight)));"
    "if(isFinite(v)){f.style.height=v+'px';f.setAttribute('data-psnb-sized',String(v));}}"
    "addEventListener('message',on);f.addEventListener('load',function(){"
    "try{f.contentWindow.postMessage('psnb-height?','*');}catch(e){}});})();</script>"
)


_FRAME_BORDER = css("border", f"1px solid {BORDER}")
_HINT_RULE = css("border-left", f"3px solid {TONES['info']}")
_HINT_STYLE = f"color:{TEXT_MUTED};margin:2px 0 4px;padding-left:6px;{_HINT_RULE}"


def iframe_srcdoc(
    html_text: str, *, height: int = DEFAULT_HEIGHT, title: str = "stored page", report_height: bool = False
) -> str:
    """``<iframe sandbox="allow-scripts" srcdoc=...>``: scripts may run but cannot touch the notebook.

    ``report_height``: the page also posts its height to the notebook (see :func:`page_frame`).
    """
    # No allow-same-origin: the page gets an opaque origin, so it cannot read the parent DOM, cookies or storage.
    # The white canvas is the page's own default background, whatever the notebook's theme.
    page = html_text + _REPORTER if report_height else html_text
    return (
        f'<iframe class="psnb-frame" sandbox="allow-scripts" referrerpolicy="no-referrer" title="{esc(title)}" '
        f'style="display:block;box-sizing:content-box;width:calc(100% - 2px);height:{max(MIN_HEIGHT, int(height))}px;'
        f'resize:vertical;overflow:auto;{_FRAME_BORDER};background:#fff" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe>'
    )


def page_frame(html_text: str, *, title: str, fallback_text: str, height: int | None = None) -> str:
    """The frame of a stored page, its untrusted-notebook fallback, and (``height`` None) sizing to the page."""
    frame = iframe_srcdoc(html_text, height=height or DEFAULT_HEIGHT, title=title, report_height=height is None)
    hint = f"<div style='{_HINT_STYLE}'>{esc(TRUST_HINT)}</div>"
    fallback = f"<div class='psnb-untrusted' hidden>{hint}<pre style='{PRE_STYLE}'>{esc(fallback_text)}</pre></div>"
    return f"<div class='psnb-page'>{frame}{fallback}{_LISTENER if height is None else ''}</div>"
