"""``%%storage capture KEY``: run the cell and store what it showed as one HTML page."""

from __future__ import annotations

import html
import sys
from argparse import Namespace
from typing import Any

from IPython.utils.capture import capture_output

from .base import Command, Context
from .parsing import Arg, Complete

ORDER = 40  # after diffing in %storage help


def _capture(ctx: Context, args: Namespace, body: str) -> None:
    storage, key = ctx.key(args.key)
    trap = ctx.shell.display_trap
    saved_hook = trap.hook
    with capture_output() as captured:
        # capture_output swaps sys.displayhook, but the nested run_cell's display trap would put the shell's
        # hook back; point the trap at the capturing hook so the cell's result is captured too.
        trap.hook = sys.displayhook
        try:
            result = ctx.run_cell(body)
        finally:
            trap.hook = saved_hook
    captured.show()  # type: ignore[no-untyped-call]  # the user still sees what the cell showed; IPython's show() is unannotated
    if not result.success:
        raise ctx.fail(
            f"the cell raised {type(result.error_in_exec or result.error_before_exec).__name__}; nothing stored "
            f"under {key!r}"
        )
    page = capture_page(key, captured.stdout, captured.stderr, [o.data for o in captured.outputs])
    storage.save_string(key, page)
    ctx.saved(storage, key, "text", page, args.quiet)


CAPTURE = Command(
    "capture",
    "Run the cell and store its output (stdout, displays, result) as an HTML page.",
    args=(Arg("-q", "--quiet", flag=True), Arg("key", metavar="KEY", complete=Complete.KEY)),
    cell=_capture,
)


def capture_page(key: str, stdout: str, stderr: str, outputs: list[dict[str, Any]]) -> str:
    """An HTML document of a cell's output: stdout, each display (HTML preferred), stderr."""
    parts: list[str] = []
    if stdout:
        parts.append(f"<pre class='stdout'>{html.escape(stdout)}</pre>")
    for data in outputs:
        if "text/html" in data:
            parts.append(f"<div class='output'>{data['text/html']}</div>")
        elif "image/png" in data:
            parts.append(f"<img src='data:image/png;base64,{html.escape(str(data['image/png']).strip())}'>")
        elif "image/svg+xml" in data:
            parts.append(f"<div class='output'>{data['image/svg+xml']}</div>")
        elif "text/plain" in data:
            parts.append(f"<pre class='output'>{html.escape(str(data['text/plain']))}</pre>")
    if stderr:
        parts.append(f"<pre class='stderr' style='color:#b00'>{html.escape(stderr)}</pre>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(key)}</title></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
